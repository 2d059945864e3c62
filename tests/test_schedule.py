"""The daemon's timing with a fake clock: the digest's local time on DST days, catch-up, backoff."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger
from hypothesis import example, given, settings
from hypothesis import strategies as st

from watcher.cli.status import next_digest
from watcher.cli.status import schedule as status_schedule
from watcher.config.digest import DigestSettings
from watcher.config.settings import Settings
from watcher.digest.render import render_text
from watcher.digest.select import select_digest
from watcher.service.daemon import DigestTrigger
from watcher.service.schedule import (
    Backoff,
    due_catch_up,
    local_instant,
    next_digest_after_today,
    next_digest_run,
    parse_clock,
    upcoming_digest,
)
from watcher.store.store import Store

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")  # DST moves the clock by 30 minutes


def at_local(text: str, zone: ZoneInfo, fold: int = 0) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone, fold=fold)


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def runs(at: str, zone: ZoneInfo, start: datetime, count: int) -> list[datetime]:
    found, moment = [], start
    for _ in range(count):
        moment = next_digest_run(at, zone, moment)
        found.append(moment)
    return found


# -- next_digest_run on DST change days ---------------------------------------------------------
# (zone, day, at) -> the one instant it runs that day, as local wall time and UTC offset.
DST_CASES = [
    # Spring forward: 02:00 -> 03:00 in Berlin, 02:00 -> 03:00 in New York.
    (BERLIN, "2026-03-29", "02:30", "2026-03-29T03:00:00+02:00"),  # in the gap: its end
    (BERLIN, "2026-03-29", "07:30", "2026-03-29T07:30:00+02:00"),
    (NEW_YORK, "2026-03-08", "02:30", "2026-03-08T03:00:00-04:00"),
    (NEW_YORK, "2026-03-08", "07:30", "2026-03-08T07:30:00-04:00"),
    # Fall back: 03:00 -> 02:00 in Berlin (02:xx twice), 02:00 -> 01:00 in New York (01:xx).
    (BERLIN, "2026-10-25", "02:30", "2026-10-25T02:30:00+02:00"),  # the first of two
    (BERLIN, "2026-10-25", "07:30", "2026-10-25T07:30:00+01:00"),
    (NEW_YORK, "2026-11-01", "02:30", "2026-11-01T02:30:00-05:00"),  # not repeated in NY
    (NEW_YORK, "2026-11-01", "01:30", "2026-11-01T01:30:00-04:00"),  # the first of two
    (NEW_YORK, "2026-11-01", "07:30", "2026-11-01T07:30:00-05:00"),
]


@pytest.mark.parametrize(("zone", "day", "at", "expected"), DST_CASES)
def test_one_run_on_a_dst_change_day(zone: ZoneInfo, day: str, at: str, expected: str) -> None:
    eve = at_local(f"{day}T00:00", zone) - timedelta(days=1)
    found = runs(at, zone, eve, 3)
    on_day = [r for r in found if r.astimezone(zone).date().isoformat() == day]
    assert [utc(r) for r in on_day] == [utc(datetime.fromisoformat(expected))]
    # the days around it run at the plain wall-clock time
    assert [r.astimezone(zone).strftime("%H:%M") for r in found] == [
        at,
        datetime.fromisoformat(expected).strftime("%H:%M"),
        at,
    ]


def test_after_the_first_occurrence_the_repeated_hour_does_not_run_again() -> None:
    first = at_local("2026-10-25T02:30", BERLIN, fold=0)
    second = at_local("2026-10-25T02:30", BERLIN, fold=1)
    assert utc(second) - utc(first) == timedelta(hours=1)
    for moment in (first, first + timedelta(minutes=1), second.astimezone(UTC)):
        assert utc(next_digest_run("02:30", BERLIN, moment)) == utc(
            at_local("2026-10-26T02:30", BERLIN)
        )
    assert utc(next_digest_run("02:30", BERLIN, utc(first) - timedelta(seconds=1))) == utc(first)


def test_next_run_is_strictly_after_and_takes_any_zone_for_after() -> None:
    run = at_local("2026-11-23T07:30", BERLIN)
    assert utc(next_digest_run("07:30", BERLIN, run)) == utc(run + timedelta(days=1))
    just_before = utc(run) - timedelta(microseconds=1)
    assert utc(next_digest_run("07:30", BERLIN, just_before.astimezone(NEW_YORK))) == utc(run)


def test_naive_times_and_bad_clocks_are_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        next_digest_run("07:30", BERLIN, datetime(2026, 1, 1, 8, 0))
    for text in ("7", "24:00", "07:60", "7:5", "ab:cd", ""):
        with pytest.raises(ValueError, match="HH:MM"):
            parse_clock(text)
    assert parse_clock("00:00") == time(0, 0)


def test_local_instant_in_the_gap_is_the_end_of_the_gap() -> None:
    moment = local_instant(date(2026, 3, 29), "02:59", BERLIN)
    assert moment.astimezone(BERLIN).strftime("%H:%M %z") == "03:00 +0200"


@settings(max_examples=300, deadline=None)
@given(
    day=st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 12, 31)),
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
    zone=st.sampled_from([BERLIN, NEW_YORK, LORD_HOWE, ZoneInfo("UTC")]),
)
@example(day=date(2026, 3, 29), hour=2, minute=30, zone=BERLIN)
@example(day=date(2026, 10, 25), hour=2, minute=30, zone=BERLIN)
@example(day=date(2026, 3, 8), hour=2, minute=0, zone=NEW_YORK)
@example(day=date(2026, 11, 1), hour=1, minute=59, zone=NEW_YORK)
@example(day=date(2026, 10, 4), hour=2, minute=15, zone=LORD_HOWE)
@example(day=date(2026, 4, 5), hour=1, minute=45, zone=LORD_HOWE)
def test_exactly_one_run_per_local_day(day: date, hour: int, minute: int, zone: ZoneInfo) -> None:
    at = f"{hour:02d}:{minute:02d}"
    eve = datetime.combine(day - timedelta(days=1), time(0, 0), tzinfo=zone)
    start = utc(eve) - timedelta(microseconds=1)
    found = runs(at, zone, start, 5)
    assert all(utc(a) < utc(b) for a, b in itertools.pairwise(found))
    days = [r.astimezone(zone).date() for r in found]
    assert days == [day - timedelta(days=1) + timedelta(days=i) for i in range(5)]
    for run in found:
        local = run.astimezone(zone)
        wall = datetime.combine(local.date(), parse_clock(at))
        if local.replace(tzinfo=None) != wall:  # only when `at` did not exist that day
            assert local.replace(tzinfo=None) > wall
            before = (utc(run) - timedelta(seconds=1)).astimezone(zone)
            assert before.replace(tzinfo=None) < wall  # the first instant past it


# -- APScheduler: why the daemon has its own trigger ----------------------------------------------


def fire_times(trigger: object, zone: ZoneInfo, start: str, count: int) -> Iterator[datetime]:
    previous, now = None, at_local(start, zone)
    for _ in range(count):
        nxt = trigger.get_next_fire_time(previous, now)  # type: ignore[attr-defined]
        yield nxt
        previous = now = nxt


def test_apscheduler_crontrigger_doubles_the_fall_back_hour_and_our_trigger_does_not() -> None:
    cron = list(
        fire_times(CronTrigger(hour=2, minute=30, timezone=BERLIN), BERLIN, "2026-10-24T12:00", 3)
    )
    cron_days = [c.astimezone(BERLIN).date() for c in cron]
    assert cron_days.count(date(2026, 10, 25)) == 2  # APScheduler 3.11: twice that day
    ours = list(fire_times(DigestTrigger("02:30", BERLIN), BERLIN, "2026-10-24T12:00", 3))
    assert [o.astimezone(BERLIN).date().day for o in ours] == [25, 26, 27]


def test_apscheduler_crontrigger_runs_late_in_the_gap_and_our_trigger_at_its_end() -> None:
    (cron,) = fire_times(
        CronTrigger(hour=2, minute=30, timezone=BERLIN), BERLIN, "2026-03-28T12:00", 1
    )
    # a wall time that does not exist; as an instant it is 03:30, 30 min late
    assert cron.strftime("%H:%M %z") == "02:30 +0100"
    assert utc(cron).astimezone(BERLIN).strftime("%H:%M") == "03:30"
    (ours,) = fire_times(DigestTrigger("02:30", BERLIN), BERLIN, "2026-03-28T12:00", 1)
    assert utc(ours).astimezone(BERLIN).strftime("%H:%M") == "03:00"
    assert str(DigestTrigger("02:30", BERLIN)) == "daily at 02:30 Europe/Berlin"


# -- due_catch_up ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "last_sent", "due"),
    [
        ("2026-11-23T07:29:59", None, False),  # before `at`
        ("2026-11-23T07:30:00", None, True),  # the scheduled run itself
        ("2026-11-23T09:45:00", None, True),  # down at 07:30, back at 09:45: catch up
        ("2026-11-23T11:59:59", date(2026, 11, 22), True),  # yesterday's was sent
        ("2026-11-23T12:00:00", None, False),  # the cut-off
        ("2026-11-23T18:00:00", None, False),
        ("2026-11-23T09:45:00", date(2026, 11, 23), False),  # already sent today
    ],
)
def test_due_catch_up(now: str, last_sent: date | None, due: bool) -> None:
    moment = at_local(now, BERLIN)
    assert due_catch_up("07:30", "12:00", BERLIN, moment, last_sent) is due
    assert due_catch_up("07:30", "12:00", BERLIN, moment.astimezone(UTC), last_sent) is due


def test_due_catch_up_uses_the_local_day_and_dst_resolution() -> None:
    # 23:30 UTC on the 22nd is already the 23rd in Berlin... and 00:30 there
    late = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)
    assert due_catch_up("00:15", "01:00", BERLIN, late, date(2026, 11, 22))
    # in the spring-forward gap: due from 03:00, the end of the gap
    assert not due_catch_up("02:30", "12:00", BERLIN, at_local("2026-03-29T01:59", BERLIN), None)
    assert due_catch_up("02:30", "12:00", BERLIN, at_local("2026-03-29T03:00", BERLIN), None)


def test_a_cut_off_before_at_still_leaves_a_window() -> None:
    assert due_catch_up("13:00", "12:00", BERLIN, at_local("2026-11-23T13:10", BERLIN), None)
    assert not due_catch_up("13:00", "12:00", BERLIN, at_local("2026-11-23T14:00", BERLIN), None)


# -- upcoming_digest: what status, doctor and the footer show ------------------------------------
# (zone, at, now as local wall time, fold of now, day the last digest was sent, expected)
SENT_TODAY = "today"
UPCOMING_CASES = [
    # An ordinary day.
    (BERLIN, "07:30", "2026-11-23T06:00", 0, None, "2026-11-23T07:30+01:00"),
    (BERLIN, "07:30", "2026-11-23T09:00", 0, None, "2026-11-23T09:00+01:00"),  # due: now
    (BERLIN, "07:30", "2026-11-23T13:00", 0, None, "2026-11-24T07:30+01:00"),  # cut off
    (BERLIN, "07:30", "2026-11-23T06:00", 0, SENT_TODAY, "2026-11-24T07:30+01:00"),  # by hand
    # Berlin springs forward on 2026-03-29, 02:00 -> 03:00: 02:30 does not exist.
    (BERLIN, "02:30", "2026-03-28T23:00", 0, None, "2026-03-29T03:00+02:00"),
    (BERLIN, "02:30", "2026-03-29T01:00", 0, None, "2026-03-29T03:00+02:00"),
    (BERLIN, "02:30", "2026-03-29T03:10", 0, None, "2026-03-29T03:10+02:00"),  # due: now
    (BERLIN, "02:30", "2026-03-29T03:10", 0, SENT_TODAY, "2026-03-30T02:30+02:00"),
    # Berlin falls back on 2026-10-25, 03:00 -> 02:00: 02:30 happens twice; the first counts.
    (BERLIN, "02:30", "2026-10-25T00:00", 0, None, "2026-10-25T02:30+02:00"),
    (BERLIN, "02:30", "2026-10-25T02:45", 0, SENT_TODAY, "2026-10-26T02:30+01:00"),
    (BERLIN, "02:30", "2026-10-25T02:15", 1, SENT_TODAY, "2026-10-26T02:30+01:00"),
    (BERLIN, "02:30", "2026-10-25T02:15", 1, "2026-10-24", "2026-10-25T02:15+01:00"),  # due
    # Lord Howe: 02:00 -> 02:30 on 2026-10-04, 02:00 -> 01:30 on 2026-04-05.
    (LORD_HOWE, "02:15", "2026-10-04T01:00", 0, None, "2026-10-04T02:30+11:00"),
    (LORD_HOWE, "02:15", "2026-10-03T12:00", 0, SENT_TODAY, "2026-10-04T02:30+11:00"),
    (LORD_HOWE, "01:45", "2026-04-05T00:00", 0, None, "2026-04-05T01:45+11:00"),
    (LORD_HOWE, "01:45", "2026-04-05T01:50", 1, SENT_TODAY, "2026-04-06T01:45+10:30"),
]


def _now_and_sent(
    zone: ZoneInfo, now_text: str, fold: int, sent: str | None
) -> tuple[datetime, date | None]:
    now = at_local(now_text, zone, fold)
    if sent == SENT_TODAY:
        return now, now.date()
    return now, date.fromisoformat(sent) if sent else None


@pytest.mark.parametrize(("zone", "at", "now", "fold", "sent", "expected"), UPCOMING_CASES)
def test_upcoming_digest(
    zone: ZoneInfo, at: str, now: str, fold: int, sent: str | None, expected: str
) -> None:
    moment, sent_day = _now_and_sent(zone, now, fold, sent)
    found = upcoming_digest(at, "12:00", zone, moment, sent_day)
    wanted = datetime.fromisoformat(expected)
    assert utc(found) == utc(wanted)
    # shown as the wall clock then: 03:00 in the spring gap, never a time that did not exist
    assert found.strftime("%Y-%m-%dT%H:%M%z") == wanted.strftime("%Y-%m-%dT%H:%M%z")
    assert found.tzinfo is zone


@pytest.mark.parametrize(("zone", "at", "now", "fold", "sent", "expected"), UPCOMING_CASES)
def test_status_the_footer_and_the_daemons_trigger_agree(
    tmp_path: Path, zone: ZoneInfo, at: str, now: str, fold: int, sent: str | None, expected: str
) -> None:
    moment, sent_day = _now_and_sent(zone, now, fold, sent)
    digest = DigestSettings(
        at=at, catch_up_until="12:00", recipient="me@x.example", delivery="smtp"
    )
    settings = Settings(None, tmp_path, zone.key, 0, digest=digest)
    with Store.open(tmp_path / "s.sqlite3") as store:
        if sent_day is not None:
            with store.transaction():
                store.record_digest_pending(sent_day, "me@x.example", "<d@x>", ())
                store.record_digest_sent(sent_day, "me@x.example")
        shown = next_digest(settings, store, moment)
    assert shown is not None
    trigger = DigestTrigger(at, zone)
    fires = trigger.get_next_fire_time(None, moment)
    if utc(shown) == utc(moment):  # due now: the daemon's catch-up sends it, not the trigger
        assert due_catch_up(at, "12:00", zone, moment, sent_day)
    elif sent_day is not None and sent_day >= moment.date():  # today's went out early
        today_fire = local_instant(moment.date(), at, zone)
        assert utc(shown) == utc(trigger.get_next_fire_time(today_fire, max(today_fire, moment)))
    else:
        assert utc(shown) == utc(fires)
    # The footer of the digest sent at a trigger's run names the trigger's following run.
    footer = next_digest_after_today(digest.at, digest.catch_up_until, zone, fires)
    selection = select_digest(
        [], carried={}, settings=digest, now=fires, zone=zone, next_digest=footer
    )
    assert selection.digest.next_digest == footer
    assert utc(footer) == utc(trigger.get_next_fire_time(fires, fires))


# -- every day of a year: the daemon's trigger, `watcher status` and the footer agree -------------
# 02:00 and 02:30 fall in the spring-forward gap of both zones; 02:30 occurs twice on Berlin's
# fall-back day, 01:30 on New York's; 03:00 is the end of both gaps.
YEAR_TIMES = ("00:00", "01:30", "02:00", "02:30", "03:00", "07:30")
CUT_OFF = "12:00"
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# The instants the issue is about: local wall time and offset of the run on a DST change day.
DST_DAY_RUNS = {
    (BERLIN, "02:30", date(2026, 3, 29)): "03:00 +0200",  # no 02:30: the end of the gap
    (BERLIN, "02:00", date(2026, 3, 29)): "03:00 +0200",
    (BERLIN, "02:30", date(2026, 10, 25)): "02:30 +0200",  # the first of two 02:30s
    (BERLIN, "07:30", date(2026, 10, 25)): "07:30 +0100",
    (NEW_YORK, "02:30", date(2026, 3, 8)): "03:00 -0400",
    (NEW_YORK, "02:00", date(2026, 3, 8)): "03:00 -0400",
    (NEW_YORK, "01:30", date(2026, 11, 1)): "01:30 -0400",  # the first of two 01:30s
    (NEW_YORK, "02:30", date(2026, 11, 1)): "02:30 -0500",
}


def _in_hours(later: datetime, earlier: datetime) -> str:
    """How `watcher status` says a distance of over two hours, from the true elapsed time."""
    minutes = round((utc(later) - utc(earlier)).total_seconds() / 60)
    return f"in {minutes / 60:.0f} h"


def _footer_day(moment: datetime) -> str:
    return f"{DAY_NAMES[moment.weekday()]} {moment.day} {MONTH_NAMES[moment.month - 1]}"


@pytest.mark.parametrize("at", YEAR_TIMES)
@pytest.mark.parametrize("zone", [BERLIN, NEW_YORK], ids=lambda z: z.key)
def test_every_day_of_a_year_the_trigger_status_and_footer_name_one_instant(
    tmp_path: Path, zone: ZoneInfo, at: str
) -> None:
    digest = DigestSettings(
        at=at, catch_up_until=CUT_OFF, recipient="me@x.example", delivery="smtp"
    )
    settings = Settings(None, tmp_path, zone.key, 0, digest=digest)
    trigger = DigestTrigger(at, zone)
    previous = trigger.get_next_fire_time(None, datetime(2025, 12, 30, 12, tzinfo=zone))
    day, checked = date(2026, 1, 1), set()
    while day.year == 2026:
        # The daemon: APScheduler asks the trigger after each run; it fires on `day`, once.
        fires = trigger.get_next_fire_time(previous, previous)
        local = fires.astimezone(zone)
        assert local.date() == day, (previous, fires)
        if (zone, at, day) in DST_DAY_RUNS:
            assert f"{local:%H:%M %z}" == DST_DAY_RUNS[zone, at, day]
            checked.add(day)
        # ... and sends then (its catch-up check), not a second before.
        yesterday = day - timedelta(days=1)
        assert due_catch_up(at, CUT_OFF, zone, fires, yesterday)
        assert not due_catch_up(at, CUT_OFF, zone, utc(fires) - timedelta(seconds=1), yesterday)
        # `watcher status` at noon the day before, and right after yesterday's digest went out.
        noon = datetime.combine(yesterday, time(12, 0), tzinfo=zone)
        assert utc(trigger.get_next_fire_time(None, noon)) == utc(fires)
        (_sync, (label, text)) = status_schedule(settings, None, noon)
        assert (label, text) == (
            "Next digest",
            f"{local:%Y-%m-%d %H:%M} ({_in_hours(fires, noon)}) {zone.key}, by smtp",
        )
        after_send = utc(previous) + timedelta(minutes=1)
        assert utc(upcoming_digest(at, CUT_OFF, zone, after_send, yesterday)) == utc(fires)
        # The footer of yesterday's digest, sent at the trigger's previous run.
        footer = next_digest_after_today(at, CUT_OFF, zone, previous)
        assert utc(footer) == utc(fires)
        selection = select_digest(
            [], carried={}, settings=digest, now=previous, zone=zone, next_digest=footer
        )
        footer_text = f"Next digest: {_footer_day(local)}, {local:%H:%M}."
        assert footer_text in render_text(selection.digest).replace("\n", " ")
        previous, day = fires, day + timedelta(days=1)
    wanted = {d for (z, a, d) in DST_DAY_RUNS if (z, a) == (zone, at)}
    assert checked == wanted


# -- Backoff ---------------------------------------------------------------------------------------


def test_backoff_doubles_up_to_the_cap_without_jitter() -> None:
    backoff = Backoff(first=30, cap=1800, jitter=0)
    delays = [backoff.failed() for _ in range(9)]
    assert delays == [30, 60, 120, 240, 480, 960, 1800, 1800, 1800]
    assert backoff.failing and backoff.failures == 9
    for _ in range(200):
        backoff.failed()
    assert backoff.failed() == 1800  # no overflow after many failures


def test_backoff_jitter_only_shortens_within_bounds() -> None:
    low = Backoff(first=30, cap=1800, jitter=0.2, rng=lambda: 0.999999)
    high = Backoff(first=30, cap=1800, jitter=0.2, rng=lambda: 0.0)
    assert low.failed() == pytest.approx(24, abs=0.001)
    assert high.failed() == 30
    real = Backoff(first=30, cap=1800, jitter=0.2)
    for nominal in (30, 60, 120, 240, 480, 960, 1800, 1800):
        assert 0.8 * nominal < real.failed() <= nominal
    assert len({Backoff(jitter=0.2).failed() for _ in range(20)}) > 1  # it does vary


def test_backoff_resets_on_success() -> None:
    backoff = Backoff(first=30, cap=1800, jitter=0)
    backoff.failed()
    backoff.failed()
    backoff.succeeded()
    assert not backoff.failing
    assert backoff.failed() == 30


def test_authentication_failures_use_the_slow_cadence() -> None:
    backoff = Backoff(first=30, cap=1800, slow=3600, jitter=0.1, rng=lambda: 0.5)
    assert backoff.failed(slow=True) == pytest.approx(3420)
    assert backoff.failed(slow=True) == pytest.approx(3420)  # hourly, not growing
    assert backoff.failures == 2
    assert backoff.nominal() == 60  # a transient fault after them goes on doubling


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"first": 0}, "first must be positive, not 0"),
        ({"cap": -1.0}, "cap must be positive"),
        ({"first": 60, "cap": 30}, r"cap \(30\) is less than first \(60\)"),
        ({"jitter": 1.0}, "jitter must be from 0 to below 1, not 1.0"),
    ],
)
def test_backoff_refuses_bad_values(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Backoff(**kwargs)  # type: ignore[arg-type]
