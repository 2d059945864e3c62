"""The `watcher` command: a thin shell that parses, calls the modules, and prints.

Library errors become one-line messages here, at the edge: a user error never shows a
traceback. Exit codes: 0 fine, 1 an account or operation failed, 2 the config is unusable.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import NoReturn

import click

from watcher import __version__
from watcher.analysis.conversations import Conversation
from watcher.analysis.pipeline import Analysis, analyze
from watcher.analysis.rules import parse_tag
from watcher.cli.listing import as_json, format_table, format_thread, wanted
from watcher.config.digest import DigestSettings
from watcher.config.settings import Account, Settings, default_config_path, load_settings
from watcher.digest.render import render_html, render_text
from watcher.digest.select import select_digest
from watcher.digest.send import send_digest
from watcher.digest.today import select_for
from watcher.errors import ConfigError, WatcherError
from watcher.logsetup import configure_logging, redact
from watcher.mail.sync import AccountOutcome, sync_accounts
from watcher.model import Override
from watcher.service.schedule import next_digest_after_today
from watcher.store.store import Store
from watcher.terminal import display_width, pad, printable, printable_block, printable_json

DEMO_ADDRESS = "maya@lindqvist-studio.example"
DEMO_ALIASES = ("maya.lindqvist@gmail.example",)


class _Context:
    def __init__(self, config_path: Path | None, verbosity: int) -> None:
        self.config_path = config_path
        self.verbosity = verbosity

    def settings(self) -> Settings:
        return load_settings(self.config_path or default_config_path())


class UsageError(WatcherError):
    """A command-line argument that cannot be used (exit code 2)."""


def _fail(exc: WatcherError) -> NoReturn:
    click.echo(f"error: {printable(redact(str(exc)))}", err=True)
    sys.exit(2 if isinstance(exc, ConfigError | UsageError) else 1)


class _TerminalSafeFilter(logging.Filter):
    """Log lines carry folder names and server texts: no control reaches stderr from them."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = printable_block(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = printable_block(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The config file (default: $WATCHER_CONFIG, else ~/.config/followup-watcher/config.toml).",
)
@click.option("-v", "--verbose", count=True, help="More detail in the log (-vv: IMAP traffic too).")
@click.version_option(__version__, prog_name="watcher")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, verbose: int) -> None:
    """followup-watcher: find the proposals you sent that got no reply."""
    configure_logging(verbose)
    for handler in logging.getLogger().handlers:
        handler.addFilter(_TerminalSafeFilter())  # after the redacting filter: it runs last
    ctx.obj = _Context(config_path, verbose)


class _ProgressBar:
    """A progress bar on a terminal for a first sync; nothing when output is not a terminal."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._bar: click._termui_impl.ProgressBar[int] | None = None
        self._left = 0

    def start(self, total: int) -> None:
        self._bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
        self._bar.__enter__()
        self._left = total

    def advance(self, count: int) -> None:
        if self._bar is not None:
            self._bar.update(count)
            self._left -= count
            if self._left <= 0:
                self.close()  # done: give the terminal back to the log lines

    def close(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        tb: TracebackType | None = None,
    ) -> None:
        if self._bar is not None:
            self._bar.__exit__(exc_type, exc, tb)
            self._bar = None


@contextmanager
def _progress_bars() -> Iterator[dict[str, _ProgressBar]]:
    bars: dict[str, _ProgressBar] = {}
    try:
        yield bars
    finally:
        for bar in bars.values():
            bar.close()


def _run_sync(settings: Settings, accounts: tuple[Account, ...] | None) -> list[AccountOutcome]:
    with Store.open(settings.store_path) as store, _progress_bars() as bars:
        interactive = sys.stderr.isatty()

        def progress_for(account: Account) -> _ProgressBar | None:
            if not interactive:
                return None
            bars[account.name] = _ProgressBar(f"Reading {account.name}")
            return bars[account.name]

        outcomes = sync_accounts(settings, store, accounts, progress_for=progress_for)
        for bar in bars.values():
            bar.close()
        _print_summary(store, outcomes)
    return outcomes


def _print_summary(store: Store, outcomes: list[AccountOutcome]) -> None:
    summaries = store.summary()
    for outcome in outcomes:
        if outcome.error is not None:
            click.echo(f"{outcome.account}: not synced: {printable(redact(str(outcome.error)))}")
            continue
        report = outcome.report
        assert report is not None
        rows = [s for s in summaries if s.account == outcome.account]
        total = sum(r.messages for r in rows)
        mine = sum(r.from_me or 0 for r in rows)
        click.echo(
            f"{printable(outcome.account)}: {report.new} new messages this run; "
            f"the store holds {total} "
            f"messages in {len(rows)} folders, {mine} of them sent by you "
            f"({report.seconds:.1f} s)"
        )
        folders = [printable(r.folder) for r in rows]  # a server names them
        width = max((display_width(f) for f in folders), default=6)
        click.echo(f"  {pad('folder', width)}  {'messages':>8}  {'by you':>6}  {'unreadable':>10}")
        for folder, row in zip(folders, rows, strict=True):
            click.echo(
                f"  {pad(folder, width)}  {row.messages:>8}  {row.from_me or 0:>6}"
                f"  {row.with_problems or 0:>10}"
            )


@cli.command()
@click.option(
    "--account", "account_names", multiple=True, help="Sync only this account (repeatable)."
)
@click.pass_obj
def sync(obj: _Context, account_names: tuple[str, ...]) -> None:
    """Read new and changed mail from every account into the local store (read-only)."""
    try:
        settings = obj.settings()
        accounts = tuple(settings.account(n) for n in account_names) or None
        outcomes = _run_sync(settings, accounts)
    except WatcherError as exc:
        _fail(exc)
    if any(o.error is not None for o in outcomes):
        sys.exit(1)


@cli.command()
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Keep the demo's store here (default: a new temporary directory).",
)
def demo(state_dir: Path | None) -> None:
    """Run the pipeline on the bundled sample mailbox: no account needed."""
    mailbox = resources.files("watcher") / "demo_mailbox"
    with resources.as_file(mailbox) as mailbox_path:
        state = state_dir or Path(tempfile.mkdtemp(prefix="watcher-demo-"))
        settings = Settings(
            path=None,
            state_dir=state,
            timezone="Europe/Stockholm",
            lookback_days=0,
            digest=DigestSettings(recipient=DEMO_ADDRESS, sender=DEMO_ADDRESS),
            accounts=(
                Account(
                    name="demo",
                    addresses=(DEMO_ADDRESS,),
                    aliases=DEMO_ALIASES,
                    maildir=mailbox_path,
                ),
            ),
        )
        click.echo(f"Demo mailbox of {DEMO_ADDRESS}: {mailbox_path}")
        try:
            _run_sync(settings, None)
            with Store.open(settings.store_path) as store:
                now = datetime.now(settings.zone)
                _shift_to_this_morning(store, now, settings)
                analysis = analyze(store, settings, now)
                selection = select_digest(
                    analysis.tracked,
                    carried={},
                    settings=settings.digest,
                    now=now,
                    zone=settings.zone,
                    next_digest=next_digest_after_today(
                        settings.digest.at, settings.digest.catch_up_until, settings.zone, now
                    ),
                )
        except WatcherError as exc:
            _fail(exc)
        click.echo(f"\nAll tracked threads as of {now:%a %d %b %H:%M} (watcher list --all):")
        click.echo(format_table(analysis.tracked, settings.zone, now))
        html_path = state / "digest.html"
        try:
            _write_private(html_path, render_html(selection.digest))
        except UsageError as exc:
            _fail(exc)
        click.echo("\nThis morning's digest (plain-text part):\n")
        click.echo(printable_block(render_text(selection.digest)))
        click.echo(f"\nThe HTML digest: {html_path}")
        click.echo(f"\nStore: {settings.store_path}")


def _shift_to_this_morning(store: Store, now: datetime, settings: Settings) -> None:
    """Move the sample's dates by whole days so that its newest message is from today."""
    newest = max((m.date or 0 for m in store.messages()), default=0)
    if not newest:
        return
    newest_local = datetime.fromtimestamp(newest, settings.zone)
    days = (now.date() - newest_local.date()).days
    if newest_local.replace(year=now.year, month=now.month, day=now.day) > now:
        days -= 1  # before the sample's "this morning" hour: end it yesterday, not later today
    if days:
        with store.transaction():
            store.shift_dates(days * 86400)


_HTML_FIX = {
    errno.ENOENT: "its directory does not exist; create it or give another path",
    errno.ENOTDIR: "a part of its directory is a file; give another path",
    errno.EISDIR: "it is a directory; give a file name",
    errno.EACCES: "permission denied; give a path you can write to",
    errno.EPERM: "permission denied (the file is not yours?); give a path you can write to",
    errno.EROFS: "the file system is read-only; give a path you can write to",
}


def _write_private(path: Path, text: str) -> None:
    """Write the HTML digest readable by its owner only, like the store: created 0600, and an
    existing file made private before anything new is written into it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            if stat.S_ISREG(os.fstat(fd).st_mode):  # not for /dev/stdout or a pipe
                os.fchmod(fd, 0o600)
                os.ftruncate(fd, 0)
            out.write(text)
    except OSError as exc:
        fix = _HTML_FIX.get(exc.errno or 0, f"{exc.strerror or exc}; give another path")
        raise UsageError(f"cannot write the HTML digest to {path}: {fix}") from exc


# Quiet periods, reminders and the look-back reach years either side of `now`; a moment
# near datetime's own limits (year 1, year 9999) would overflow in that arithmetic.
_NOW_YEARS = range(1970, 9000)


def _parse_now(value: str | None, settings: Settings) -> datetime:
    if value is None:
        return datetime.now(settings.zone)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"--now {value!r} is not an ISO-8601 date or time; "
            "give one like 2026-11-23 or 2026-11-23T08:00"
        ) from None
    if moment.year not in _NOW_YEARS:
        raise UsageError(
            f"--now {value!r} is out of range; give a moment in the years "
            f"{_NOW_YEARS.start} to {_NOW_YEARS.stop - 1}, e.g. 2026-11-23T08:00"
        )
    return moment if moment.tzinfo else moment.replace(tzinfo=settings.zone)


_NOW_OPTION = click.option(
    "--now",
    "now_text",
    metavar="ISO-8601",
    help="Evaluate as of this moment instead of now (e.g. 2026-11-23T08:00).",
)


@cli.command("list")
@click.option(
    "--all", "show_all", is_flag=True, help="Also threads not yet due, answered ones, and why."
)
@click.option("--json", "as_json_output", is_flag=True, help="One JSON object per tracked message.")
@_NOW_OPTION
@click.pass_obj
def list_command(obj: _Context, show_all: bool, as_json_output: bool, now_text: str | None) -> None:
    """Show the proposals and contracts you sent that are waiting for a reply."""
    try:
        settings = obj.settings()
        now = _parse_now(now_text, settings)
        with Store.open(settings.store_path) as store:
            analysis = analyze(store, settings, now)
    except WatcherError as exc:
        _fail(exc)
    shown = [t for t in analysis.tracked if wanted(t, show_all=show_all)]
    if as_json_output:
        click.echo(printable_json([as_json(t, settings.zone) for t in shown]))
        return
    click.echo(format_table(shown, settings.zone, now))
    hidden = len(analysis.tracked) - len(shown)
    if hidden:
        click.echo(f"({hidden} more not due yet or answered: watcher list --all)")


@cli.command("thread")
@click.argument("thread_id")
@click.option(
    "--quiet", "quiet", metavar="DAYS", help="Quiet period for this thread, e.g. 10d or 2w."
)
@click.option(
    "--snooze-until",
    "snooze_until",
    metavar="DATE",
    help="Keep it out of the list until this day (YYYY-MM-DD).",
)
@click.option("--mute", is_flag=True, help="Never remind me about this thread.")
@click.option("--done", is_flag=True, help="Mark it handled (answered by phone, deal closed, ...).")
@click.option(
    "--not-proposal",
    "not_proposal",
    is_flag=True,
    help="Not a proposal: never follow this thread (it stays visible here).",
)
@click.option(
    "--track",
    "track",
    is_flag=True,
    help="Follow this thread although the classifier said no or it went only to colleagues.",
)
@click.option("--reset", is_flag=True, help="Forget what was set for this thread here.")
@_NOW_OPTION
@click.pass_obj
def thread_command(
    obj: _Context,
    thread_id: str,
    quiet: str | None,
    snooze_until: str | None,
    mute: bool,
    done: bool,
    not_proposal: bool,
    track: bool,
    reset: bool,
    now_text: str | None,
) -> None:
    """Show one thread with its verdict and reasons, or change how it is tracked.

    The mail itself is never touched: what you set here is kept in the watcher's store.
    """
    try:
        settings = obj.settings()
        now = _parse_now(now_text, settings)
        with Store.open(settings.store_path) as store:
            analysis = analyze(store, settings, now)
            conversation = _find_thread(analysis, thread_id)
            change = _override_change(
                quiet, snooze_until, mute, done, _track_word(not_proposal, track)
            )
            if reset or change is not None:
                current = (
                    Override()
                    if reset
                    else store.overrides().get(conversation.thread_id, Override())
                )
                updated = _merge(current, change) if change is not None else current
                with store.transaction():
                    store.set_override(conversation.thread_id, updated)
                click.echo(
                    f"{printable(conversation.thread_id)}: "
                    + (updated.describe() if not updated.empty else "back to the rules")
                )
                analysis = analyze(store, settings, now)
    except WatcherError as exc:
        _fail(exc)
    tracked = [t for t in analysis.tracked if t.thread_id == conversation.thread_id]
    skipped = analysis.not_followed_in(conversation.thread_id)
    click.echo(format_thread(conversation, tracked, settings.zone, skipped))


@cli.command("digest")
@click.option("--preview", is_flag=True, help="Print the plain-text digest (the default).")
@click.option(
    "--html",
    "html_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the HTML digest to this file.",
)
@click.option("--send", is_flag=True, help="Deliver today's digest (at most once a day).")
@_NOW_OPTION
@click.pass_obj
def digest_command(
    obj: _Context, preview: bool, html_path: Path | None, send: bool, now_text: str | None
) -> None:
    """Show, write or send the morning digest of threads that have gone quiet."""
    try:
        settings = obj.settings()
        now = _parse_now(now_text, settings)
        with Store.open(settings.store_path) as store:
            selection = select_for(
                store,
                settings,
                now,
                next_digest=next_digest_after_today(
                    settings.digest.at, settings.digest.catch_up_until, settings.zone, now
                ),
            )
            if html_path is not None:
                _write_private(html_path, render_html(selection.digest))
                click.echo(f"HTML digest written to {html_path} (readable by you only)")
            if preview or not (send or html_path):
                click.echo(printable_block(render_text(selection.digest)))
            if send:
                outcome = send_digest(selection, settings, store)
                click.echo(printable(outcome.message))
    except WatcherError as exc:
        _fail(exc)


def _find_thread(analysis: Analysis, thread_id: str) -> Conversation:
    exact = analysis.conversation(thread_id)
    if exact is not None:
        return exact
    matches = [c for c in analysis.conversations if c.thread_id.startswith(thread_id)]
    if len(matches) == 1 and len(thread_id) >= 4:
        return matches[0]
    if len(matches) > 1:
        raise UsageError(f"{thread_id!r} matches {len(matches)} threads; give more of the id")
    raise UsageError(f"no thread {thread_id!r}; `watcher list --all` shows the thread ids")


def _track_word(not_proposal: bool, track: bool) -> bool | None:
    """What `--not-proposal` / `--track` say about following the thread, or None."""
    if not_proposal and track:
        raise UsageError("--not-proposal and --track contradict each other; give one of them")
    if not (not_proposal or track):
        return None
    return track


def _override_change(
    quiet: str | None, snooze_until: str | None, mute: bool, done: bool, track: bool | None
) -> Override | None:
    if quiet is None and snooze_until is None and not mute and not done and track is None:
        return None
    quiet_days = None
    if quiet is not None:
        parsed = parse_tag(quiet if quiet[-1:].isalpha() else f"{quiet}d")
        if parsed is None or parsed.quiet_days is None:
            raise UsageError(f"--quiet {quiet!r}: give days or weeks, e.g. 10d or 2w")
        quiet_days = parsed.quiet_days
    snooze = None
    if snooze_until is not None:
        try:
            snooze = date.fromisoformat(snooze_until)
        except ValueError:
            raise UsageError(f"--snooze-until {snooze_until!r}: give a day as YYYY-MM-DD") from None
    return Override(quiet_days=quiet_days, snooze_until=snooze, muted=mute, done=done, track=track)


def _merge(current: Override, change: Override) -> Override:
    return Override(
        quiet_days=change.quiet_days if change.quiet_days is not None else current.quiet_days,
        snooze_until=change.snooze_until or current.snooze_until,
        muted=current.muted or change.muted,
        done=current.done or change.done,
        track=change.track if change.track is not None else current.track,
    )


def _add_service_commands() -> None:
    # Imported here: they pull in the daemon's and the setup's dependencies, which the
    # everyday commands above do not need.
    from watcher.cli.doctor import doctor_command
    from watcher.cli.init_cmd import init_command
    from watcher.cli.run import run_command
    from watcher.cli.status import status_command

    for command in (run_command, init_command, doctor_command, status_command):
        cli.add_command(command)


_add_service_commands()


def main() -> None:
    cli(prog_name="watcher")
