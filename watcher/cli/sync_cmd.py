"""`watcher sync`: read every account into the store, with a progress bar on a terminal."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

import click

from watcher.cli.context import CliContext, fail, pass_cli
from watcher.config.settings import Account, Settings
from watcher.errors import WatcherError
from watcher.logsetup import redact
from watcher.mail.sync import AccountOutcome, sync_accounts
from watcher.store.store import Store
from watcher.terminal import display_width, pad, printable


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


def run_sync(settings: Settings, accounts: tuple[Account, ...] | None) -> list[AccountOutcome]:
    """Sync the accounts (None: all) and print what each one holds now."""
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


@click.command("sync")
@click.option(
    "--account", "account_names", multiple=True, help="Sync only this account (repeatable)."
)
@pass_cli
def sync_command(obj: CliContext, account_names: tuple[str, ...]) -> None:
    """Read new and changed mail from every account into the local store (read-only)."""
    try:
        settings = obj.settings()
        accounts = tuple(settings.account(n) for n in account_names) or None
        outcomes = run_sync(settings, accounts)
    except WatcherError as exc:
        fail(exc)
    if any(o.error is not None for o in outcomes):
        sys.exit(1)
