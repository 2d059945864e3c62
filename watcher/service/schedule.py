"""When the daemon acts: the digest's local time across DST changes, catch-up, retry delays.

Pure: every function takes the clock (`after`, `now`) and the zone as arguments, so it is
tested with a fake clock. Times of day are "HH:MM" wall-clock times in an IANA zone:

- on a spring-forward day a time in the gap (02:30 in Berlin on 2026-03-29) runs at the first
  valid instant after it (03:00, the end of the gap);
- on a fall-back day a time that occurs twice (02:30 in Berlin on 2026-10-25) runs once, at
  its first occurrence.

Datetimes returned are aware, in the given zone. Compare them as instants (`astimezone(UTC)`):
Python compares two datetimes that share a tzinfo by wall-clock time, ignoring `fold`.
Functions given a naive datetime or a time of day that is not "HH:MM" raise `ValueError`.

The one home of these rules: the daemon's trigger (`watcher.service.daemon.DigestTrigger`) runs at
`next_digest_run`, its catch-up asks `due_catch_up`, and what `status`, `doctor` and the
digest's footer show comes from `upcoming_digest`, which is made of the two. `status` also
asks `next_sync` and `time_until`, so that no caller does wall-clock arithmetic of its own.

Why the end of the gap (03:00) and not 03:30 (the nonexistent time read with the offset
before the change, which is what `datetime.replace(tzinfo=...)` and APScheduler's CronTrigger
give): cron and systemd timers run a job scheduled in the gap when the gap ends, it is the
first moment the wall clock has passed `at`, and it keeps the run as close to `at` as the
clock allows.

`now` is never read here: the daemon takes a `Clock` (`SYSTEM_CLOCK` in production), the
commands pass the `now` they read once.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol, TypeAlias
from zoneinfo import ZoneInfo

# A time of day: "HH:MM" as the config has it, or a `datetime.time` (seconds are ignored).
TimeOfDay: TypeAlias = str | time

# When `catch_up_until` is not after `at`, the digest is still due this long after `at`.
MIN_CATCH_UP = timedelta(minutes=30)


class Clock(Protocol):
    """Where the daemon learns the time; tests pass one they move by hand."""

    def now(self) -> datetime:
        """The current instant, aware (any zone)."""
        ...


class SystemClock:
    """The real clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


SYSTEM_CLOCK: Clock = SystemClock()


def parse_clock(text: str) -> time:
    """ "07:30" -> time(7, 30); ValueError naming the value otherwise."""
    hours, colon, minutes = text.partition(":")
    if colon and hours.isdigit() and minutes.isdigit() and len(minutes) == 2:
        hour, minute = int(hours), int(minutes)
        if hour < 24 and minute < 60:
            return time(hour, minute)
    raise ValueError(f'the time of day {text!r} is not "HH:MM" (00:00 to 23:59)')


def time_of_day(at: TimeOfDay) -> time:
    """`at` as a `time`: "HH:MM" parsed (`parse_clock`), a `time` as it is (minutes only)."""
    if isinstance(at, time):
        return at.replace(second=0, microsecond=0, tzinfo=None, fold=0)
    return parse_clock(at)


def clock_text(at: TimeOfDay) -> str:
    """ "07:30", as the config writes it and messages show it."""
    return f"{time_of_day(at):%H:%M}"


def local_instant(day: date, at: TimeOfDay, zone: ZoneInfo) -> datetime:
    """The instant the wall clock in `zone` shows `at` on `day`, resolved as described above."""
    wall = datetime.combine(day, time_of_day(at))
    first = wall.replace(tzinfo=zone, fold=0)
    if _wall(first.astimezone(UTC), zone) == wall:
        return first  # exists; fold=0 is the first of two occurrences on a fall-back day
    # In a spring-forward gap: find the transition, the first instant whose wall time is
    # later than `wall`. The two folds put `wall` just before and just after the gap.
    low, high = sorted(
        int(wall.replace(tzinfo=zone, fold=fold).timestamp()) for fold in (0, 1)
    )  # invariant: wall(low) < wall <= wall(high)
    while high - low > 1:
        middle = (low + high) // 2
        if _wall(datetime.fromtimestamp(middle, UTC), zone) >= wall:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, zone)


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    """The day the wall clock in `zone` shows at the aware instant `moment`."""
    if moment.tzinfo is None:
        raise ValueError(f"{moment!r} has no time zone; pass an aware datetime")
    return moment.astimezone(zone).date()


def time_until(moment: datetime, now: datetime) -> timedelta:
    """How long from `now` to `moment` (negative: ago), as instants.

    Not `moment - now`: for two datetimes sharing a tzinfo Python subtracts wall-clock times,
    an hour off across a DST change.
    """
    return moment.astimezone(UTC) - now.astimezone(UTC)


def next_sync(last_attempt: datetime, every: timedelta, now: datetime, zone: ZoneInfo) -> datetime:
    """When `watcher run` syncs next: `every` after the last attempt, or `now` when overdue.

    Counted in elapsed time, as the daemon's interval trigger does (not on the wall clock,
    which on a DST day would name a time that does not exist or one an hour off).
    """
    due = last_attempt.astimezone(UTC) + every
    return max(due, now.astimezone(UTC)).astimezone(zone)


def next_digest_run(at: TimeOfDay, zone: ZoneInfo, after: datetime) -> datetime:
    """The first digest time strictly after `after` (aware): `at` on the right local day.

    `at` in a spring-forward gap: the end of the gap (02:30 -> 03:00 in Berlin); `at` that
    occurs twice on a fall-back day: the first occurrence (fold=0), and not again after it.
    """
    if after.tzinfo is None:
        raise ValueError(f"after={after!r} has no time zone; pass an aware datetime")
    moment = after.astimezone(UTC)
    day = local_day(after, zone) - timedelta(days=1)
    for offset in range(4):  # a gap can move a run by a day at most (Samoa skipped one)
        candidate = local_instant(day + timedelta(days=offset), at, zone)
        if candidate.astimezone(UTC) > moment:
            return candidate
    raise AssertionError(f"no digest time found after {after}")  # pragma: no cover


def due_catch_up(
    at: TimeOfDay,
    cut_off: TimeOfDay,
    zone: ZoneInfo,
    now: datetime,
    last_sent_day: date | None,
) -> bool:
    """Is today's digest due now: not sent yet, `now` at or after `at` and before `cut_off`?

    True at `at` itself (the scheduled run) and after it until the cut-off (a daemon that was
    down, a delivery to retry). A cut-off not after `at` leaves `MIN_CATCH_UP` after `at`.
    """
    today = local_day(now, zone)
    if last_sent_day is not None and last_sent_day >= today:
        return False
    start = local_instant(today, at, zone).astimezone(UTC)
    end = local_instant(today, cut_off, zone).astimezone(UTC)
    if end <= start:
        end = start + MIN_CATCH_UP
    return start <= now.astimezone(UTC) < end


def upcoming_digest(
    at: TimeOfDay,
    cut_off: TimeOfDay,
    zone: ZoneInfo,
    now: datetime,
    last_sent_day: date | None,
) -> datetime:
    """When the daemon sends its next digest, as `status`, `doctor` and the footer show it.

    `now` (in `zone`) while today's is due and unsent (`due_catch_up`); else the first
    `next_digest_run` after `now`, or after today's `at` when today's was sent already (by
    hand, before `at`: the daemon does not send a second one that day).
    """
    if due_catch_up(at, cut_off, zone, now, last_sent_day):
        return now.astimezone(zone)
    after = now.astimezone(UTC)
    today = local_day(now, zone)
    if last_sent_day is not None and last_sent_day >= today:
        after = max(after, local_instant(today, at, zone).astimezone(UTC))
    return next_digest_run(at, zone, after)


def next_digest_after_today(
    at: TimeOfDay, cut_off: TimeOfDay, zone: ZoneInfo, now: datetime
) -> datetime:
    """What the footer of today's digest names: the daemon's next digest after this one."""
    return upcoming_digest(at, cut_off, zone, now, local_day(now, zone))


@dataclass
class Backoff:
    """Delays between attempts after failures: exponential with jitter, capped.

    `failed()` returns the seconds to wait before the next attempt: `first`, doubling up to
    `cap`, each shortened by up to `jitter` (a fraction) so that clients do not retry in step.
    `failed(slow=True)` (a refused login, a missing password: retrying soon will not help)
    waits `slow` instead. `succeeded()` starts over. Bad values raise `ValueError`.
    """

    first: float = 30.0
    cap: float = 30 * 60.0
    slow: float = 60 * 60.0
    jitter: float = 0.2
    rng: Callable[[], float] = field(default=random.random, repr=False)
    failures: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        for name in ("first", "cap", "slow"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"Backoff {name} must be positive, not {value!r}")
        if self.cap < self.first:
            raise ValueError(f"Backoff cap ({self.cap!r}) is less than first ({self.first!r})")
        if not 0 <= self.jitter < 1:
            raise ValueError(f"Backoff jitter must be from 0 to below 1, not {self.jitter!r}")

    @property
    def failing(self) -> bool:
        return self.failures > 0

    def nominal(self, *, slow: bool = False) -> float:
        """The delay after the current number of failures, before jitter."""
        if slow:
            return self.slow
        doublings = min(max(self.failures - 1, 0), 64)
        return min(self.cap, self.first * 2.0**doublings)

    def failed(self, *, slow: bool = False) -> float:
        """Count one more failure; the seconds to wait before the next attempt."""
        self.failures += 1
        return self.nominal(slow=slow) * (1.0 - self.jitter * self.rng())

    def succeeded(self) -> None:
        self.failures = 0


def _wall(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None, fold=0)
