"""What the daemon does after an account's sync failed: when to try again, and what to log.

    ImapError (DNS, refused, dropped, timeout, BYE)  WARNING each time, backoff 30 s .. 30 min
    AuthenticationError, CredentialError             ERROR once per streak (with the fix), hourly
    StoreError and other WatcherErrors               ERROR each time, backoff
    anything else (a bug)                            ERROR, the traceback once per streak, backoff

A success ends the streak (and is logged if there was one). The delays are `schedule.Backoff`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from watcher.errors import AccountError, AuthenticationError, CredentialError, WatcherError
from watcher.service.schedule import Backoff

logger = logging.getLogger(__name__)


@dataclass
class AccountRetry:
    """One account's failure streak. `retrying=False` (a one-shot run) drops "retrying in"."""

    account: str
    backoff: Backoff = field(default_factory=Backoff)
    retrying: bool = True
    slow_reported: bool = False

    @property
    def failing(self) -> bool:
        return self.backoff.failing

    def failed(self, exc: Exception) -> float:
        """Count and log the failure `exc`; the seconds to wait before the next attempt."""
        slow = isinstance(exc, AuthenticationError | CredentialError)
        first = not self.backoff.failing
        delay = self.backoff.failed(slow=slow)
        text = str(exc) if isinstance(exc, AccountError) else f"{self.account}: {exc}"
        retry = f"; retrying in {duration(delay)}" if self.retrying else ""
        if not isinstance(exc, WatcherError):
            logger.error(
                "%s: unexpected error %r%s",
                self.account,
                exc,
                retry,
                exc_info=exc if first else None,
            )
        elif slow and self.retrying:
            if not self.slow_reported:
                self.slow_reported = True
                logger.error(
                    "%s; retrying every %s (after fixing it, reload the service or send "
                    "SIGHUP to retry at once)",
                    text,
                    duration(self.backoff.slow),
                )
        elif isinstance(exc, AccountError) and not slow:
            logger.warning("%s%s", text, retry)
        else:
            logger.error("%s%s", text, retry)
        return delay

    def succeeded(self) -> None:
        if self.backoff.failing:
            logger.info(
                "%s: readable again (failed attempts: %d)", self.account, self.backoff.failures
            )
        self.backoff.succeeded()
        self.slow_reported = False


def duration(seconds: float) -> str:
    """0.5 s, 24 s, 15 min, 1 h, 1.5 h."""
    if seconds < 90:
        return f"{seconds:.3g} s"
    if seconds < 60 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.2g} h"
