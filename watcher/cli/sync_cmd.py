"""`watcher sync`: read every account into the store, with a progress bar on a terminal."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import TextIO

import click

from watcher.cli.context import CliContext, fail, pass_cli
from watcher.config.settings import Account, Settings
from watcher.errors import UsageError, WatcherError
from watcher.logsetup import redact
from watcher.mail.sync import AccountOutcome, sync_accounts
from watcher.store.store import FolderSummary, Store
from watcher.terminal import display_width, pad, printable


class _ProgressBar:
    """A progress bar on a terminal for a first sync; nothing when output is not a terminal."""

    def __init__(self, label: str, file: TextIO | None = None) -> None:
        self.label = label
        self.file = file
        self._bar: click._termui_impl.ProgressBar[int] | None = None
        self._left = 0

    def start(self, total: int) -> None:
        # The count (1500/22176) moves with every batch read, also while the bar itself is
        # still under one cell wide (a batch of 500 in a 20,000-message mailbox).
        self._bar = click.progressbar(
            length=total, label=self.label, file=self.file or sys.stderr, show_pos=True
        )
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


def run_sync(
    settings: Settings,
    accounts: tuple[Account, ...] | None,
    *,
    folders: bool = True,
    quiet: bool = False,
) -> list[AccountOutcome]:
    """Sync the accounts (None: all) and print one line on what each one holds now, with
    `folders` a table of its folders too; `quiet`: only the accounts that failed."""
    with Store.open(settings.store_path) as store, _progress_bars() as bars:
        interactive = sys.stderr.isatty() and not quiet

        def progress_for(account: Account) -> _ProgressBar | None:
            if not interactive:
                return None
            bars[account.name] = _ProgressBar(f"Reading {account.name}")
            return bars[account.name]

        outcomes = sync_accounts(settings, store, accounts, progress_for=progress_for)
        for bar in bars.values():
            bar.close()
        _print_summary(store, outcomes, folders=folders and not quiet, quiet=quiet)
    return outcomes


def _print_summary(
    store: Store, outcomes: list[AccountOutcome], *, folders: bool, quiet: bool
) -> None:
    summaries = store.summary()
    for outcome in outcomes:
        if quiet:
            continue  # a failed account has logged its ERROR line already: once is enough
        if outcome.error is not None:
            click.echo(
                f"{printable(outcome.account)}: not synced: {printable(redact(str(outcome.error)))}"
            )
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
        if folders:
            _print_folders(rows)


def _print_folders(rows: list[FolderSummary]) -> None:
    names = [printable(r.folder) for r in rows]  # a server names them
    width = max((display_width(f) for f in names), default=6)
    click.echo(f"  {pad('folder', width)}  {'messages':>8}  {'by you':>6}  {'unreadable':>10}")
    for folder, row in zip(names, rows, strict=True):
        click.echo(
            f"  {pad(folder, width)}  {row.messages:>8}  {row.from_me or 0:>6}"
            f"  {row.with_problems or 0:>10}"
        )


@contextmanager
def _log_level(*, quiet: bool, detail: bool) -> Iterator[None]:
    """The sync's INFO lines (the daemon's record: one per account, one per folder) while
    the command runs: they repeat its summary, so only with -v; with -q, warnings and
    errors only."""
    logger = logging.getLogger() if quiet else logging.getLogger("watcher.mail")
    before = logger.level
    if quiet or not detail:
        logger.setLevel(max(logging.WARNING, logger.getEffectiveLevel()))
    try:
        yield
    finally:
        logger.setLevel(before)


@click.command("sync")
@click.option(
    "--account", "account_names", multiple=True, help="Sync only this account (repeatable)."
)
@click.option(
    "-v", "--verbose", "verbose", is_flag=True, help="Also a table of each account's folders."
)
@click.option("-q", "--quiet", "quiet", is_flag=True, help="Print nothing but errors.")
@pass_cli
def sync_command(
    obj: CliContext, account_names: tuple[str, ...], verbose: bool, quiet: bool
) -> None:
    """Read new and changed mail from every account into the local store (read-only)."""
    try:
        if verbose and quiet:
            raise UsageError("-v and -q contradict each other; give one of them")
        settings = obj.settings()
        accounts = tuple(settings.account(n) for n in account_names) or None
        # `watcher -v sync` (more log detail) also shows the table.
        detail = verbose or obj.verbosity > 0
        with _log_level(quiet=quiet, detail=detail):
            outcomes = run_sync(settings, accounts, folders=detail, quiet=quiet)
    except WatcherError as exc:
        fail(exc)
    if any(o.error is not None for o in outcomes):
        sys.exit(1)
