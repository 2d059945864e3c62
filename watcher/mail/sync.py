"""Sync every configured account into the store, each isolated from the others' failures."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from watcher.config.settings import Account, Settings
from watcher.credentials import secret_of
from watcher.errors import AccountError
from watcher.logsetup import redact
from watcher.mail.imap import sync_imap_account
from watcher.mail.maildir import sync_maildir_account
from watcher.mail.report import Progress, SyncReport
from watcher.store.store import Store

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AccountOutcome:
    account: str
    report: SyncReport | None
    error: AccountError | None


def sync_account(
    account: Account,
    store: Store,
    *,
    lookback_days: int,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> SyncReport:
    """One account, from its IMAP server or its Maildir."""
    if account.is_maildir:
        return sync_maildir_account(
            account, store, lookback_days=lookback_days, now=now, progress=progress
        )
    secret = secret_of(account)
    return sync_imap_account(
        account, secret, store, lookback_days=lookback_days, now=now, progress=progress
    )


def sync_accounts(
    settings: Settings,
    store: Store,
    accounts: tuple[Account, ...] | None = None,
    *,
    now: datetime | None = None,
    progress_for: Callable[[Account], Progress | None] = lambda _account: None,
) -> list[AccountOutcome]:
    """Sync each account in turn; one account's failure is reported, never spread."""
    now = now or datetime.now(UTC)
    outcomes = []
    for account in accounts or settings.accounts:
        try:
            report = sync_account(
                account,
                store,
                lookback_days=settings.lookback_days,
                now=now,
                progress=progress_for(account),
            )
        except AccountError as exc:
            logger.error("%s", exc)
            # The error was scrubbed where it was made; this is the last stop before the
            # text is kept, and later shown by processes that never read the password.
            with store.transaction():
                store.record_sync_failure(account.name, int(now.timestamp()), redact(str(exc)))
            outcomes.append(AccountOutcome(account.name, None, exc))
            continue
        with store.transaction():
            store.record_sync_success(account.name, int(now.timestamp()))
        logger.info(
            "%s: synced %d folders in %.1f s: %d new, %d flag changes, %d removed",
            account.name,
            report.folders_checked,
            report.seconds,
            report.new,
            report.flag_changes,
            report.removed,
        )
        outcomes.append(AccountOutcome(account.name, report, None))
    return outcomes
