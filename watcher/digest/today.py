"""Today's digest from the store: the analysis of what it holds, selected for the digest.

The one module of `digest/` besides `send` that touches the store (`select`, `suggest`,
`render` and `model` are pure).
"""

from __future__ import annotations

from datetime import datetime

from watcher.analysis.pipeline import analyze
from watcher.config.settings import Settings
from watcher.digest.select import Selection, select_digest
from watcher.store.store import Store


def select_for(
    store: Store, settings: Settings, now: datetime, *, next_digest: datetime | None
) -> Selection:
    """Today's digest from the store's current verdicts and what earlier digests carried;
    `next_digest` for its footer (see `select_digest`)."""
    analysis = analyze(store, settings, now)
    return select_digest(
        analysis.tracked,
        carried=store.digest_entries(),
        settings=settings.digest,
        now=now,
        zone=settings.zone,
        account_problems=account_problems(store, settings),
        next_digest=next_digest,
    )


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
