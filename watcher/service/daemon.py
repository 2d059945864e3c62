"""`watcher run`: sync every few minutes and send the morning digest, until stopped.

APScheduler 3 runs the jobs in its thread pool while the main thread waits for signals:

- one `sync:<account>` job per account, an `IntervalTrigger` in UTC (it adds seconds to a
  timestamp, so DST does not touch it) with a little jitter. A failed sync moves the job's
  next run to the `Backoff` delay: transient faults from 30 s doubling to 30 min, a refused
  login or a missing password hourly (and it is logged once, with the fix). Accounts are
  isolated: one failing never delays another or the digest.
- one `digest` job on a `DigestTrigger` (below) at `[digest] at` in the configured zone.
  After every sync cycle the digest is also sent if it is due and not sent yet: a daemon that
  was down at `at` catches up until `catch_up_until`, a failed delivery is retried.

Every job runs with `coalesce` and `max_instances=1`, and nothing in a job ends the daemon.
SIGTERM/SIGINT stop it (running jobs finish their transaction and log out), SIGHUP reloads
the config (a bad one is reported and the running one kept). Under systemd it reports
READY/STATUS/WATCHDOG/STOPPING (`watcher.service.notify`).

A digest that cannot be sent (the SMTP login refused, the server down) is said where the user
looks: an error line in the log (priority 3 in the journal), the systemd status line ("last
digest failed: ..."), and the health file next to the store that `watcher status` reads
(`watcher.service.health`, which also says whether the daemon runs), until a digest goes out.

Every local-time answer (when the digest runs, whether it is due, what its footer names) comes
from `watcher.service.schedule`, and every "now" from the `Clock` the daemon is given
(`SYSTEM_CLOCK` in production), so its timing is tested with a fake clock. APScheduler keeps
its own clock to decide when a job runs; what the job then does asks ours.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from watcher.analysis.pipeline import analyze
from watcher.config.settings import Settings, load_settings
from watcher.digest.send import ALREADY_SENT, BUSY, FOUND, SENT, WAITING, send_digest
from watcher.digest.today import select_for
from watcher.errors import AccountError, ConfigError, WatcherError
from watcher.mail.sync import sync_account
from watcher.service import notify
from watcher.service.health import health_path, one_line, read_health, update_health
from watcher.service.retry import AccountRetry, duration
from watcher.service.schedule import (
    SYSTEM_CLOCK,
    Backoff,
    Clock,
    TimeOfDay,
    clock_text,
    due_catch_up,
    local_day,
    next_digest_after_today,
    next_digest_run,
)
from watcher.store.store import Store

logger = logging.getLogger(__name__)

DEFAULT_SYNC_MINUTES = 10
# Overrides `sync_interval` (seconds, fractions allowed): tests, and a quick look at a new setup.
SYNC_INTERVAL_ENV = "WATCHER_SYNC_INTERVAL_SECONDS"
FAILED = "failed"  # a digest attempt that raised; the others are `watcher.digest.send` states


def sync_interval_seconds(settings: Settings) -> float:
    """`$WATCHER_SYNC_INTERVAL_SECONDS`, else the config's `sync_interval` (minutes)."""
    override = os.environ.get(SYNC_INTERVAL_ENV, "")
    if override:
        try:
            seconds = float(override)
        except ValueError:
            seconds = 0.0
        if not seconds > 0:
            raise ConfigError(f"{SYNC_INTERVAL_ENV}={override!r} is not a positive number")
        return seconds
    return float(getattr(settings, "sync_interval_minutes", DEFAULT_SYNC_MINUTES)) * 60


class DigestTrigger(BaseTrigger):  # type: ignore[misc]  # apscheduler has no type hints
    """Fires at the wall-clock time `at` in `zone` each day (`schedule.next_digest_run`).

    Not CronTrigger: APScheduler 3.11's fires twice on a fall-back day when `at` falls in the
    repeated hour, and 30 min late (03:30) for a time in the spring-forward gap
    (tests/test_schedule.py shows both).
    """

    __slots__ = ("at", "zone")

    def __init__(self, at: TimeOfDay, zone: ZoneInfo) -> None:
        self.at = at
        self.zone = zone

    def get_next_fire_time(self, previous: datetime | None, now: datetime) -> datetime:
        return next_digest_run(self.at, self.zone, previous or now)

    def __str__(self) -> str:
        return f"daily at {clock_text(self.at)} {self.zone.key}"


@dataclass
class _Running:
    """The settings in force and what goes with them; replaced as a whole by a reload."""

    settings: Settings
    interval: float  # seconds between syncs of an account
    retries: dict[str, AccountRetry]
    attempted: set[str] = field(default_factory=set)  # accounts tried since (re)start

    @classmethod
    def of(cls, settings: Settings, *, retrying: bool = True) -> _Running:
        interval = sync_interval_seconds(settings)
        first = min(30.0, interval)  # a failed account is retried no later than its next sync
        retries = {
            a.name: AccountRetry(a.name, Backoff(first=first), retrying=retrying)
            for a in settings.accounts
        }
        return cls(settings, interval, retries)


class Daemon:
    """The service: `run()` until stopped, or `run_once()` for cron and systemd timers.

    `clock` says what time it is for every decision (the real one unless a test moves it).
    """

    def __init__(self, settings: Settings, clock: Clock = SYSTEM_CLOCK) -> None:
        self.clock = clock
        self.stop_event = threading.Event()
        self._running = _Running.of(settings)
        self._jobs_lock = threading.Lock()  # job changes from jobs vs. shutdown
        self._digest_lock = threading.Lock()  # one digest attempt at a time
        # STATUS= from a sync still finishing must not follow STOPPING=1 (systemd would show
        # a live status line for a unit that is going down).
        self._status_lock = threading.Lock()
        self._digest_settled: date | None = None  # the day whose digest needs nothing more
        self._last_sync: datetime | None = None
        self._due: int | None = None
        # Why the last digest attempt failed ("": it did not); kept across restarts in the
        # health file, so the status line still says so after a crash or a reboot.
        self._digest_error = read_health(self._health_path()).digest_error
        self._wake_r, self._wake_w = socket.socketpair()
        for end in (self._wake_r, self._wake_w):
            end.setblocking(False)
        self._scheduler = BackgroundScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )

    # -- life cycle -----------------------------------------------------------------------

    def run(self) -> int:
        """Serve until SIGTERM/SIGINT (or `stop()`); 0 after a clean stop, 1 if it crashed."""
        if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
            # Not a line per job run, nor "skipped: maximum number of running instances" when
            # a (first) sync outlasts the interval: the next run simply waits for it.
            logging.getLogger("apscheduler").setLevel(logging.ERROR)
            # One INFO line per account and cycle: the per-folder detail is for `watcher sync`.
            logging.getLogger("watcher.mail.report").setLevel(logging.WARNING)
        restore = self._install_signal_handlers()
        try:
            self._scheduler.start()
            self._schedule_jobs()
            started = int(self._now().timestamp())
            update_health(self._health_path(), pid=os.getpid(), started_at=started)
            logger.info("watcher started: %s", self._describe())
            notify.ready(status="first sync running")
            self._serve()
        except Exception:
            logger.exception("watcher crashed")
            return 1
        finally:
            with self._jobs_lock, self._status_lock:
                self.stop_event.set()
                notify.stopping()
            if self._scheduler.running:
                self._scheduler.shutdown(wait=True)  # running syncs finish, then log out
            if read_health(self._health_path()).pid == os.getpid():
                update_health(self._health_path(), pid=None)
            restore()
            self._wake_r.close()
            self._wake_w.close()
        logger.info("watcher stopped")
        return 0

    def run_once(self) -> int:
        """One sync of every account, then the digest if due: 0 all well, 1 anything failed."""
        running = self._running = _Running.of(self._running.settings, retrying=False)
        failed = [n for n in running.retries if self._sync(running, n) is not None]
        outcome = self._digest_if_due(self._now(), retrying=False)
        if failed:
            logger.error("not synced: %s", ", ".join(failed))
        return 1 if failed or outcome == FAILED else 0

    def stop(self) -> None:
        """Ask `run()` to stop (from any thread)."""
        self.stop_event.set()
        with contextlib.suppress(OSError):  # closed: stopped already
            self._wake_w.send(b"\0")

    def reload(self) -> bool:
        """Re-read the config file; on a `ConfigError` keep the running config."""
        path = self._running.settings.path
        try:
            if path is None:
                raise ConfigError("the running config was not read from a file")
            running = _Running.of(load_settings(path))
        except ConfigError as exc:
            logger.error("config not reloaded, keeping the running one: %s", exc)
            return False
        self._running = running  # fresh retries: a fixed password is tried at once
        self._digest_settled = None
        self._schedule_jobs()
        logger.info("config reloaded: %s", self._describe())
        return True

    def _health_path(self) -> Path:
        return health_path(self._running.settings.store_path)

    def _now(self) -> datetime:
        # In UTC: `now + timedelta` on a zone's wall clock would be an hour off across DST.
        return self.clock.now().astimezone(UTC)

    # -- main thread --------------------------------------------------------------------------

    def _install_signal_handlers(self) -> Callable[[], None]:
        # A handler must not take a lock (Event.set does: a signal arriving while the main
        # thread is inside Event.wait would deadlock), so it only wakes the main thread
        # through set_wakeup_fd; the main thread sets the stop event or reloads.
        try:
            old_fd = signal.set_wakeup_fd(self._wake_w.fileno())
        except ValueError:  # not the main thread (embedded, tests): use stop()
            return lambda: None
        signals = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
        old = {number: signal.signal(number, lambda _n, _f: None) for number in signals}

        def restore() -> None:
            for number, handler in old.items():
                signal.signal(number, handler)
            signal.set_wakeup_fd(old_fd)

        return restore

    def _serve(self) -> None:
        while not self.stop_event.is_set():
            interval = notify.watchdog_interval()
            readable, _, _ = select.select([self._wake_r], [], [], interval)
            for number in self._wake_r.recv(64) if readable else b"":
                if number in (signal.SIGTERM, signal.SIGINT):
                    logger.info("%s received: stopping", signal.Signals(number).name)
                    with self._jobs_lock:
                        self.stop_event.set()
                elif number == signal.SIGHUP and not self.stop_event.is_set():
                    self.reload()
            if interval is not None and self._scheduler.running:
                notify.watchdog()

    def _schedule_jobs(self) -> None:
        running, now = self._running, self._now()
        try:  # create and migrate the store here: the jobs open it at the same moment
            Store.open(running.settings.store_path).close()
        except WatcherError as exc:
            logger.error("%s; tried again at each sync", exc)
        for job in self._scheduler.get_jobs():
            if job.id.startswith("sync:") and job.id[5:] not in running.retries:
                job.remove()
        jitter = min(30.0, running.interval / 10)
        for name in running.retries:
            self._scheduler.add_job(
                self._sync_job,
                IntervalTrigger(seconds=running.interval, jitter=jitter, timezone=UTC),
                args=(name,),
                id=f"sync:{name}",
                name=f"sync {name}",
                replace_existing=True,
                next_run_time=now,
            )
        digest = running.settings.digest
        if digest.delivery:
            trigger = DigestTrigger(digest.at, running.settings.zone)
            self._scheduler.add_job(self._digest_job, trigger, id="digest", replace_existing=True)
        elif self._scheduler.get_job("digest") is not None:
            self._scheduler.remove_job("digest")

    def _describe(self) -> str:
        settings, interval = self._running.settings, self._running.interval
        digest = "no digest delivery configured ([digest] delivery)"
        if settings.digest.delivery:
            upcoming = next_digest_run(settings.digest.at, settings.zone, self._now())
            at = clock_text(settings.digest.at)
            digest = f"digest at {at} {settings.timezone} (next {upcoming:%a %d %b})"
        return f"{len(settings.accounts)} accounts, sync every {duration(interval)}, {digest}"

    # -- jobs (thread pool) --------------------------------------------------------------------

    def _sync_job(self, name: str) -> None:
        running = self._running
        if name not in running.retries or self.stop_event.is_set():
            return
        delay = self._sync(running, name)
        with self._jobs_lock:  # shutdown holds the scheduler's lock while it waits for us
            if delay is not None and running is self._running and not self.stop_event.is_set():
                retry = self._now() + timedelta(seconds=delay)
                with contextlib.suppress(JobLookupError):
                    self._scheduler.modify_job(f"sync:{name}", next_run_time=retry)
        running.attempted.add(name)
        self._report_status()
        # After the first cycle: a digest missed while down (catch-up), or one to retry.
        if running.attempted >= running.retries.keys() and not self.stop_event.is_set():
            self._digest_if_due(self._now())

    def _digest_job(self) -> None:
        if not self.stop_event.is_set():
            self._digest_if_due(self._now())

    def _sync(self, running: _Running, name: str) -> float | None:
        """Sync one account; None when it worked, else the seconds until it is tried again."""
        settings, retry = running.settings, running.retries[name]
        now = self._now()
        try:
            with Store.open(settings.store_path) as store:
                try:
                    report = sync_account(
                        settings.account(name), store, lookback_days=settings.lookback_days, now=now
                    )
                except AccountError as exc:
                    delay = retry.failed(exc)
                    _record_failure(store, name, now, exc)
                    return delay
                with store.transaction():
                    store.record_sync_success(name, int(now.timestamp()))
                due = sum(1 for t in analyze(store, settings, now).tracked if t.due)
        except Exception as exc:  # StoreError (disk full), a bug: logged, retried, never fatal
            return retry.failed(exc)
        retry.succeeded()
        self._last_sync, self._due = now, due
        changes = (report.new, report.flag_changes, report.removed)
        logger.info(
            "%s: synced %d folders in %.1f s: %d new, %d flag changes, %d removed; %d threads due",
            name,
            report.folders_checked,
            report.seconds,
            *changes,
            due,
        )
        return None

    def _digest_if_due(self, now: datetime, *, retrying: bool = True) -> str | None:
        """Send today's digest if it is due and not sent; its state, FAILED, or None."""
        settings = self._running.settings
        options, zone = settings.digest, settings.zone
        today = local_day(now, zone)
        if not options.delivery or self._digest_settled == today:
            return None
        if not due_catch_up(options.at, options.catch_up_until, zone, now, None):
            return None
        if not self._digest_lock.acquire(blocking=False):
            return None  # another thread is on it
        again = "; tried again after the next sync" if retrying else ""
        try:
            with Store.open(settings.store_path) as store:
                last = store.last_digest()
                sent_day = last.day if last else None
                if not due_catch_up(options.at, options.catch_up_until, zone, now, sent_day):
                    self._digest_settled = today
                    if sent_day == today:  # sent by a hand-run `watcher digest --send`, say
                        self._digest_sent()
                    return None
                footer = next_digest_after_today(options.at, options.catch_up_until, zone, now)
                selection = select_for(store, settings, now, next_digest=footer)
                outcome = send_digest(selection, settings, store)
        except WatcherError as exc:
            # An error the first time (and when the reason changes); the same reason again
            # after each sync is a warning: `journalctl -p err` says it once, not six an hour,
            # while the status line and `watcher status` keep saying it until a digest goes.
            level = logging.WARNING if one_line(exc) == self._digest_error else logging.ERROR
            logger.log(level, "digest not sent: %s%s", exc, again)
            self._digest_failed(now, exc)
            return FAILED
        except Exception as exc:
            logger.exception("digest not sent: unexpected error%s", again)
            self._digest_failed(now, f"unexpected error: {exc!r}")
            return FAILED
        finally:
            self._digest_lock.release()
        if outcome.state in (SENT, ALREADY_SENT, FOUND):
            self._digest_sent()
        if outcome.state not in (WAITING, BUSY):  # else looked at again after the next sync
            self._digest_settled = today
        if outcome.state != SENT:  # send_digest logs the sent one itself
            logger.info("digest: %s", outcome.message)
        return outcome.state

    def _digest_sent(self) -> None:
        """A digest went out: the failure is old news everywhere it was said."""
        if self._digest_error:
            self._digest_error = ""
            update_health(self._health_path(), digest_failed_at=None, digest_error="")
            self._report_status()

    def _digest_failed(self, now: datetime, error: object) -> None:
        """Remember why, for the status line and `watcher status` (one line, no secret)."""
        self._digest_error = one_line(error)
        at = int(now.timestamp())
        update_health(self._health_path(), digest_failed_at=at, digest_error=self._digest_error)
        self._report_status()

    def _report_status(self) -> None:
        running = self._running
        last = "no sync yet"
        if self._last_sync is not None:
            last = f"last sync {self._last_sync.astimezone(running.settings.zone):%H:%M}"
        due = f", {self._due} threads due" if self._due is not None else ""
        failing = sorted(name for name, retry in running.retries.items() if retry.failing)
        problems = f", cannot read {', '.join(failing)}" if failing else ""
        digest = f"; last digest failed: {self._digest_error}" if self._digest_error else ""
        with self._status_lock:
            if not self.stop_event.is_set():
                notify.status(f"{last}{due}{problems}{digest}")


def _record_failure(store: Store, name: str, now: datetime, exc: AccountError) -> None:
    """For the digest's "could not be read since" line; a full disk must not hide `exc`."""
    try:
        with store.transaction():
            store.record_sync_failure(name, int(now.timestamp()), str(exc))
    except WatcherError as store_exc:
        logger.error("%s: %s", name, store_exc)
