"""Today's digest from the store: the analysis of what it holds, selected for the digest.

The one module of `digest/` besides `send` that touches the store (`select`, `suggest`,
`render` and `model` are pure).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from watcher.analysis.commandcodes import digest_tag
from watcher.analysis.pipeline import Analysis, analyze, learn_sign_offs
from watcher.config.settings import Settings
from watcher.digest.commandlinks import CommandLinks, command_address, command_report
from watcher.digest.select import Selection, select_digest
from watcher.store.files import command_key
from watcher.store.store import Store


def select_for(
    store: Store, settings: Settings, now: datetime, *, next_digest: datetime | None
) -> Selection:
    """Today's digest from the store's current verdicts and what earlier digests carried;
    `next_digest` for its footer (see `select_digest`)."""
    analysis = analyze(store, settings, now)
    selection = select_digest(
        analysis.tracked,
        carried=store.digest_entries(),
        settings=settings.digest,
        now=now,
        zone=settings.zone,
        account_problems=account_problems(store, settings),
        next_digest=next_digest,
        sign_offs=learn_sign_offs(analysis.conversations, settings),
        first_digest=store.last_digest() is None,
    )
    return with_commands(selection, store, settings, analysis)


def with_commands(
    selection: Selection, store: Store, settings: Settings, analysis: Analysis
) -> Selection:
    """The selection with its secret Message-ID, its cards' one-tap actions and the report on
    the commands by mail read since the last digest."""
    digest = selection.digest
    key = command_key(settings.store_path.parent)
    unreported = tuple(store.commands.unreported())
    subjects = {c.thread_id: c.messages[0].facts.subject for c in analysis.conversations}
    subjects.update((t.thread_id, t.subject) for t in analysis.tracked)
    digest = replace(
        digest,
        message_id=signed_digest_id(key, digest.recipient, digest.day),
        commands=CommandLinks(command_address(settings.digest), digest.day, key)
        if settings.digest.commands
        else None,
        command_report=command_report(unreported, subjects, settings.zone, digest.day),
    )
    return replace(selection, digest=digest, reported=unreported)


def signed_digest_id(key: bytes, recipient: str, day: date) -> str:
    """The same for one recipient and day in every process (a restart can look for it), and
    one only this installation can make: a reply that names it answers a digest we sent."""
    return f"<digest-{day:%Y%m%d}-{digest_tag(key, recipient, day)}@followup-watcher.invalid>"


def account_problems(store: Store, settings: Settings) -> list[str]:
    """One line per account that could not be read lately, for the digest and `status`."""
    lines = []
    for name, status in sorted(store.account_statuses().items()):
        if status.failing_since is None:
            continue
        since = datetime.fromtimestamp(status.failing_since, settings.zone)
        lines.append(
            f"Account {name} could not be read since {since:%a %d %b %H:%M}: {status.last_error}"
        )
    return lines
