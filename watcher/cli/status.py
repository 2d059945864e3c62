"""`watcher status`: what the watcher did last and will do next, from the store alone.

No network: the last sync of each account (and its last error), what is stored, how many
threads are watched and due, the last digest sent (and a failed one since), whether
`watcher run` is running (its health file, `watcher.service.health`: works with or without
systemd), the next sync and the next digest. `--json` gives the same as one object.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from watcher.analysis.pipeline import analyze
from watcher.analysis.tracker import AWAITING, BOUNCED
from watcher.cli.context import CliContext, config_option, fail, pass_cli
from watcher.config.settings import Account, Settings
from watcher.errors import WatcherError
from watcher.logsetup import redact
from watcher.service.health import Health, daemon_running, health_path, read_health
from watcher.service.schedule import clock_text, next_sync, time_until, upcoming_digest
from watcher.store.store import AccountStatus, DigestRecord, Store
from watcher.terminal import printable, printable_row


def next_sync_time(
    statuses: Mapping[str, AccountStatus], settings: Settings, now: datetime
) -> datetime | None:
    """When `watcher run` reads mail next: the last attempt plus the interval (None: never);
    overdue: at once, once it runs."""
    last = max((s.last_attempt for s in statuses.values() if s.last_attempt), default=None)
    if last is None:
        return None
    every = timedelta(minutes=settings.sync_interval_minutes)
    return next_sync(datetime.fromtimestamp(last, UTC), every, now, settings.zone)


def next_digest(settings: Settings, store: Store | None, now: datetime) -> datetime | None:
    """When the next digest goes out, or None when no delivery is configured.

    Today's, if its time has passed but it was not sent and the catch-up window is still
    open (a daemon that was down sends it when it comes back); else the next `at`.
    """
    digest = settings.digest
    if not digest.delivery:
        return None
    last = store.last_digest() if store else None  # what the daemon asks, too
    sent_day = last.day if last else None
    return upcoming_digest(digest.at, digest.catch_up_until, settings.zone, now, sent_day)


def schedule(settings: Settings, store: Store | None, now: datetime) -> list[tuple[str, str]]:
    """("Next sync", when) and ("Next digest", when), as `status` and `doctor` print them."""
    statuses = store.account_statuses() if store else {}
    sync_at = next_sync_time(statuses, settings, now)
    every = f"every {settings.sync_interval_minutes:g} min while `watcher run` runs"
    digest_at = next_digest(settings, store, now)
    return [
        (
            "Next sync",
            f"{_when(sync_at, now) if sync_at else 'when `watcher run` starts'} ({every})",
        ),
        ("Next digest", _digest_text(settings, digest_at, now)),
    ]


def _digest_text(settings: Settings, digest_at: datetime | None, now: datetime) -> str:
    digest = settings.digest
    if digest_at is None:
        return "none: [digest] delivery is not set (`watcher digest --preview` shows it)"
    if time_until(digest_at, now) <= timedelta(0):
        until = clock_text(digest.catch_up_until)
        return f"due now: today's is not sent yet (it is sent until {until})"
    return f"{_when(digest_at, now)} {settings.timezone}, by {digest.delivery}"


def digest_failure(health: Health, last: DigestRecord | None) -> tuple[int, str] | None:
    """(when, why) of a failed digest attempt after the last digest that went out, or None."""
    failed_at = health.digest_failed_at
    if failed_at is None or (last and last.sent_at and last.sent_at >= failed_at):
        return None
    return failed_at, health.digest_error or "no reason recorded"


def service_line(health: Health, settings: Settings, now: datetime) -> str:
    """`Service: running (pid 4242, since ...)` or `Service: not running (...)`."""
    if daemon_running(health):
        since = _when(_at(health.started_at, settings), now) if health.started_at else "?"
        return f"Service: running (pid {health.pid}, since {since})"
    return "Service: not running (`watcher run`; under systemd: systemctl --user start watcher)"


def status_lines(
    settings: Settings, store: Store, now: datetime, accounts: tuple[str, ...] = ()
) -> list[str]:
    """Everything `watcher status` prints, one line each (`accounts`: only these)."""
    statuses = store.account_statuses()
    health = read_health(health_path(settings.store_path))
    lines = [f"Store: {settings.store_path} ({count(store.count_messages(), 'message')})"]
    for account in _chosen(settings, accounts):
        status = statuses.get(account.name)
        stored = store.count_messages(account.name)
        synced = status.last_success if status else None
        when = _when(_at(synced, settings), now) if synced else "never"
        lines.append(
            f"Account {account.name}: last synced {when}; {count(stored, 'message')} stored"
        )
        if status and status.last_error:
            failing = _when(_at(status.failing_since or status.last_attempt, settings), now)
            lines.append(f"  failing since {failing}: {printable(redact(status.last_error))}")
    tracked = analyze(store, settings, now).tracked
    awaiting = [t for t in tracked if t.state == AWAITING]
    bounced = sum(1 for t in tracked if t.state == BOUNCED)
    lines.append(
        f"Threads: {len(awaiting)} awaiting a reply, {sum(t.due for t in awaiting)} due"
        + (f", {bounced} bounced" if bounced else "")
    )
    ignored = store.commands.ignored_count()
    if ignored:
        lines.append(
            f"Commands by mail: {count(ignored, 'mail')} ignored (not from your address with a"
            " valid code); see the log"
        )
    last = store.last_digest()
    sent_at = _at(last.sent_at, settings) if last and last.sent_at else None
    lines.append(
        f"Last digest: sent {_when(sent_at, now)} to {last.recipient}"
        if last and sent_at
        else "Last digest: none sent yet"
    )
    failure = digest_failure(health, last)
    if failure:
        failed_at, error = failure
        when = _when(_at(failed_at, settings), now)
        lines.append(f"Last digest failed {when}: {printable(redact(error))}")
    lines += [f"{label}: {text}" for label, text in schedule(settings, store, now)]
    lines.append(service_line(health, settings, now))
    return lines


def status_data(
    settings: Settings, store: Store | None, now: datetime, accounts: tuple[str, ...] = ()
) -> dict[str, Any]:
    """`watcher status --json`: the same facts for scripts (times in ISO 8601 with offset)."""
    health = read_health(health_path(settings.store_path))
    statuses = store.account_statuses() if store else {}
    rows = []
    for account in _chosen(settings, accounts):
        status = statuses.get(account.name)
        rows.append(
            {
                "name": account.name,
                "messages": store.count_messages(account.name) if store else 0,
                "last_synced": _iso(status.last_success if status else None, settings),
                "failing_since": _iso(
                    (status.failing_since or status.last_attempt)
                    if status and status.last_error
                    else None,
                    settings,
                ),
                "last_error": redact(status.last_error) if status and status.last_error else None,
            }
        )
    threads = None
    if store:
        tracked = analyze(store, settings, now).tracked
        awaiting = [t for t in tracked if t.state == AWAITING]
        threads = {
            "awaiting": len(awaiting),
            "due": sum(t.due for t in awaiting),
            "bounced": sum(1 for t in tracked if t.state == BOUNCED),
        }
    last = store.last_digest() if store else None
    failure = digest_failure(health, last)
    sync_at, digest_at = next_sync_time(statuses, settings, now), next_digest(settings, store, now)
    return {
        "store": {
            "path": str(settings.store_path),
            "messages": store.count_messages() if store else 0,
        },
        "accounts": rows,
        "threads": threads,
        "last_digest": {
            "day": last.day.isoformat(),
            "sent_at": _iso(last.sent_at, settings),
            "recipient": last.recipient,
        }
        if last
        else None,
        "last_digest_failure": {"at": _iso(failure[0], settings), "error": redact(failure[1])}
        if failure
        else None,
        "service": {
            "running": daemon_running(health),
            "pid": health.pid if daemon_running(health) else None,
            "started_at": _iso(health.started_at, settings) if daemon_running(health) else None,
        },
        "next_sync": sync_at.isoformat() if sync_at else None,
        "next_digest": digest_at.isoformat() if digest_at else None,
    }


def _chosen(settings: Settings, names: tuple[str, ...]) -> list[Account]:
    """The accounts `--account` names (each must exist), else all."""
    return [settings.account(name) for name in names] if names else list(settings.accounts)


def _iso(timestamp: int | None, settings: Settings) -> str | None:
    moment = _at(timestamp, settings)
    return moment.isoformat() if moment else None


def count(number: int, noun: str) -> str:
    """`1 message`, `2 messages`."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _at(timestamp: int | None, settings: Settings) -> datetime | None:
    return datetime.fromtimestamp(timestamp, settings.zone) if timestamp else None


def _when(moment: datetime | None, now: datetime) -> str:
    """`2026-11-23 08:10 (5 min ago)`: the time, and how far from now."""
    if moment is None:
        return "never"
    seconds = time_until(moment, now).total_seconds()
    minutes = round(abs(seconds) / 60)
    if minutes < 1:
        distance = "now"
    else:
        amount = f"{minutes} min" if minutes < 120 else f"{minutes / 60:.0f} h"
        amount = amount if minutes < 2880 else f"{minutes / 1440:.0f} days"
        distance = f"{amount} ago" if seconds < 0 else f"in {amount}"
    return f"{moment:%Y-%m-%d %H:%M} ({distance})"


@click.command("status")
@config_option
@click.option(
    "--account",
    "accounts",
    metavar="NAME",
    multiple=True,
    help="Only this account (repeatable; default: all).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object, for scripts.")
@pass_cli
def status_command(obj: CliContext, accounts: tuple[str, ...], as_json: bool) -> None:
    """Show the last sync of each account, what is stored and watched, the last digest (and a
    failed one), whether `watcher run` is running, and the next sync and digest."""
    try:
        settings = obj.settings()
        now = datetime.now(settings.zone)
        _chosen(settings, accounts)  # an unknown name is an error before anything is read
        if not settings.store_path.exists():  # Store.open would create it: status only reads
            if as_json:
                click.echo(json.dumps(status_data(settings, None, now, accounts), indent=2))
                return
            click.echo(f"No store yet at {settings.store_path}: run `watcher sync` first.")
            for label, text in schedule(settings, None, now):
                click.echo(printable_row(f"{label}: {text}"))
            health = read_health(health_path(settings.store_path))
            click.echo(printable_row(service_line(health, settings, now)))
            return
        with Store.open(settings.store_path) as store:
            if as_json:
                click.echo(json.dumps(status_data(settings, store, now, accounts), indent=2))
                return
            lines = status_lines(settings, store, now, accounts)
    except WatcherError as exc:
        fail(exc)
    for line in lines:
        click.echo(printable_row(line))
