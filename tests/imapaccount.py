"""A watcher `Account` for a user of the test Dovecot, and one IMAP sync of it at a fixed NOW."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from dovecot import DovecotServer, MailUser

from watcher.config.settings import Account
from watcher.credentials import Secret
from watcher.mail.imap import SyncReport, sync_imap_account
from watcher.store.store import Store

NOW = dt.datetime(2026, 11, 23, 7, 0, tzinfo=dt.UTC)


def account_for(server: DovecotServer, user: MailUser, **changes: object) -> Account:
    """Account "test" over STARTTLS with the fixture's CA; `changes` replace any field."""
    values: dict[str, object] = {
        "name": "test",
        "addresses": (user.address,),
        "host": server.host,
        "port": server.port,
        "security": "starttls",
        "username": user.name,
        "ca_file": Path(server.ca_file),
        "timeout_seconds": 10.0,
    }
    values.update(changes)
    return Account(**values)  # type: ignore[arg-type]


def run_sync(
    server: DovecotServer,
    user: MailUser,
    store: Store,
    *,
    lookback_days: int = 90,
    **changes: object,
) -> SyncReport:
    return sync_imap_account(
        account_for(server, user, **changes),
        Secret(user.password, "test"),
        store,
        lookback_days=lookback_days,
        now=NOW,
    )
