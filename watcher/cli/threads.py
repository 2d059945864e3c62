"""`watcher list` and `watcher thread`: the tracked threads, and how one of them is tracked."""

from __future__ import annotations

import os
import shutil
import sys
from datetime import date, datetime
from zoneinfo import ZoneInfo

import click

from watcher.analysis.actions import ActionError, parse_snooze
from watcher.analysis.conversations import Conversation
from watcher.analysis.pipeline import Analysis, analyze
from watcher.analysis.rules import parse_tag
from watcher.cli.context import (
    CliContext,
    account_option,
    fail,
    now_option,
    parse_now,
    pass_cli,
)
from watcher.cli.listing import as_json, format_table, format_thread, thread_json, wanted
from watcher.errors import UsageError, WatcherError
from watcher.model import APPLIED, REPLAYED, MailCommand, Override
from watcher.store.store import Store
from watcher.terminal import printable, printable_json


def terminal_width() -> int | None:
    """The columns `list` may use: $COLUMNS, else the terminal's; None when writing to a pipe
    or a file (a script gets whole lines)."""
    if os.environ.get("COLUMNS", "").isdigit() or sys.stdout.isatty():
        return max(shutil.get_terminal_size().columns, 40)
    return None


@click.command("list")
@click.option(
    "--all", "show_all", is_flag=True, help="Also threads not yet due, answered ones, and why."
)
@click.option("--json", "as_json_output", is_flag=True, help="One JSON object per tracked message.")
@account_option
@now_option
@pass_cli
def list_command(
    obj: CliContext,
    show_all: bool,
    as_json_output: bool,
    account_name: str | None,
    now_text: str | None,
) -> None:
    """Show the proposals and contracts you sent that are waiting for a reply."""
    try:
        settings = obj.settings()
        if account_name is not None:
            settings.account(account_name)  # an unknown name is a one-line error
        now = parse_now(now_text, settings)
        with Store.open(settings.store_path) as store:
            analysis = analyze(store, settings, now)
    except WatcherError as exc:
        fail(exc)
    mine = [t for t in analysis.tracked if account_name in (None, t.account)]
    shown = [t for t in mine if wanted(t, show_all=show_all)]
    if as_json_output:
        click.echo(printable_json([as_json(t, settings.zone) for t in shown]))
        return
    several = account_name is None and len(settings.accounts) > 1
    click.echo(
        format_table(shown, settings.zone, now, width=terminal_width(), show_account=several)
    )
    hidden = len(mine) - len(shown)
    if hidden:
        click.echo(f"({hidden} more not due yet or answered: watcher list --all)")


@click.command("thread")
@click.argument("thread_id")
@click.option(
    "--quiet", "quiet", metavar="DAYS", help="Quiet period for this thread, e.g. 10d or 2w."
)
@click.option(
    "--snooze",
    "snooze",
    metavar="TIME",
    help="Keep it out of the digest for a while: 3d, 1w, 2w.",
)
@click.option(
    "--snooze-until",
    "snooze_until",
    metavar="DAY",
    help="Keep it out of the digest until this day: YYYY-MM-DD, a weekday, tomorrow.",
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
@click.option("--json", "as_json_output", is_flag=True, help="The thread and its verdicts as JSON.")
@account_option
@now_option
@pass_cli
def thread_command(
    obj: CliContext,
    thread_id: str,
    quiet: str | None,
    snooze: str | None,
    snooze_until: str | None,
    mute: bool,
    done: bool,
    not_proposal: bool,
    track: bool,
    reset: bool,
    as_json_output: bool,
    account_name: str | None,
    now_text: str | None,
) -> None:
    """Show one thread with its verdict and reasons, or change how it is tracked.

    The mail itself is never touched: what you set here is kept in the watcher's store.
    """
    try:
        settings = obj.settings()
        if account_name is not None:
            settings.account(account_name)  # an unknown name is a one-line error
        now = parse_now(now_text, settings)
        with Store.open(settings.store_path) as store:
            analysis = analyze(store, settings, now)
            conversation = _find_thread(analysis, thread_id, account_name)
            change = _override_change(
                quiet,
                _snooze_day(snooze, snooze_until, now.astimezone(settings.zone).date()),
                mute,
                done,
                _track_word(not_proposal, track),
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
            by_mail = store.commands.for_thread(conversation.thread_id)
    except WatcherError as exc:
        fail(exc)
    tracked = [t for t in analysis.tracked if t.thread_id == conversation.thread_id]
    skipped = analysis.not_followed_in(conversation.thread_id)
    if as_json_output:
        set_by_mail = mail_command_lines(by_mail, settings.zone)
        click.echo(
            printable_json(thread_json(conversation, tracked, skipped, set_by_mail, settings.zone))
        )
        return
    click.echo(format_thread(conversation, tracked, settings.zone, skipped))
    for line in mail_command_lines(by_mail, settings.zone):
        click.echo(printable(line))


def mail_command_lines(commands: list[MailCommand], zone: ZoneInfo) -> list[str]:
    """ "Set by your mail of Thu 3 Dec 08:12: snooze 7d (until Thu 10 Dec)", oldest first."""
    lines = []
    for command in commands:
        if command.state not in (APPLIED, REPLAYED):
            continue
        when = datetime.fromtimestamp(command.sent_at, zone)
        day = command.snooze_until
        until = f" (until {day:%a} {day.day} {day:%b})" if day else ""
        again = "; again, nothing new" if command.state == REPLAYED else ""
        lines.append(
            f"Set by your mail of {when:%a} {when.day} {when:%b %H:%M}: "
            f"{command.action}{until}{again}"
        )
    return lines


def _snooze_day(snooze: str | None, snooze_until: str | None, today: date) -> date | None:
    """The day `--snooze 1w` or `--snooze-until monday|tomorrow|YYYY-MM-DD` ends, or None."""
    if snooze is not None and snooze_until is not None:
        raise UsageError("--snooze and --snooze-until both say when; give one of them")
    if snooze is None and snooze_until is None:
        return None
    try:
        if snooze is not None:
            action = parse_snooze(snooze if snooze[-1:].isalpha() else f"{snooze}d")
        else:
            action = parse_snooze(f"until {snooze_until}")
    except ActionError as exc:
        option = "--snooze" if snooze is not None else "--snooze-until"
        raise UsageError(f"{option}: {exc}") from None
    return action.snooze_until(today)


def _find_thread(analysis: Analysis, thread_id: str, account: str | None) -> Conversation:
    """The thread with this id (or the only one it begins), among `account`'s (None: all)."""
    conversations = [
        c
        for c in analysis.conversations
        if account is None or any(m.account == account for m in c.messages)
    ]
    exact = [c for c in conversations if c.thread_id == thread_id]
    if exact:
        return exact[0]
    matches = [c for c in conversations if c.thread_id.startswith(thread_id)]
    if len(matches) == 1 and len(thread_id) >= 4:
        return matches[0]
    if len(matches) > 1:
        raise UsageError(f"{thread_id!r} matches {len(matches)} threads; give more of the id")
    where = f" in account {account!r}" if account is not None else ""
    raise UsageError(f"no thread {thread_id!r}{where}; `watcher list --all` shows the thread ids")


def _track_word(not_proposal: bool, track: bool) -> bool | None:
    """What `--not-proposal` / `--track` say about following the thread, or None."""
    if not_proposal and track:
        raise UsageError("--not-proposal and --track contradict each other; give one of them")
    if not (not_proposal or track):
        return None
    return track


def _override_change(
    quiet: str | None, snooze: date | None, mute: bool, done: bool, track: bool | None
) -> Override | None:
    if quiet is None and snooze is None and not mute and not done and track is None:
        return None
    quiet_days = None
    if quiet is not None:
        parsed = parse_tag(quiet if quiet[-1:].isalpha() else f"{quiet}d")
        if parsed is None or parsed.quiet_days is None:
            raise UsageError(f"--quiet {quiet!r}: give days or weeks, e.g. 10d or 2w")
        quiet_days = parsed.quiet_days
    return Override(quiet_days=quiet_days, snooze_until=snooze, muted=mute, done=done, track=track)


def _merge(current: Override, change: Override) -> Override:
    return Override(
        quiet_days=change.quiet_days if change.quiet_days is not None else current.quiet_days,
        snooze_until=change.snooze_until or current.snooze_until,
        muted=current.muted or change.muted,
        done=current.done or change.done,
        track=change.track if change.track is not None else current.track,
    )
