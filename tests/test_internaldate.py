"""Tests for `watcher.mail.internaldate`: INTERNALDATE as POSIX seconds."""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watcher.mail.internaldate import parse_internaldate


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("17-Jul-1996 02:44:25 -0700", datetime(1996, 7, 17, 9, 44, 25)),
        ("17-Jul-1996 02:44:25 +0000", datetime(1996, 7, 17, 2, 44, 25)),
        ("01-Jan-2026 00:30:00 +0100", datetime(2025, 12, 31, 23, 30, 0)),
        ("31-Dec-2025 23:59:59 -1200", datetime(2026, 1, 1, 11, 59, 59)),
        ("05-Mar-2024 10:00:00 +0530", datetime(2024, 3, 5, 4, 30, 0)),
        ("05-Mar-2024 10:00:00 +1400", datetime(2024, 3, 4, 20, 0, 0)),
        (" 7-Jul-2025 12:00:00 +0200", datetime(2025, 7, 7, 10, 0, 0)),
        ("7-Jul-2025 12:00:00 +0200", datetime(2025, 7, 7, 10, 0, 0)),
        ('"29-Feb-2024 12:00:00 +0000"', datetime(2024, 2, 29, 12, 0, 0)),
        (b"01-jan-1970 00:00:00 +0000", datetime(1970, 1, 1)),
        ("31-Dec-1969 23:59:59 +0000", datetime(1969, 12, 31, 23, 59, 59)),
        ("01-Mar-2000 00:00:00 +0000", datetime(2000, 3, 1)),
    ],
)
def test_parse_internaldate(raw: str | bytes, expected: datetime) -> None:
    assert parse_internaldate(raw) == calendar.timegm(expected.timetuple())


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "garbage",
        "31-Feb-2024 12:00:00 +0000",
        "29-Feb-2023 12:00:00 +0000",
        "17-Foo-1996 02:44:25 -0700",
        "17-Jul-1996 24:00:00 -0700",
        "17-Jul-1996 02:60:25 -0700",
        "17-Jul-1996 02:44:25 -0760",
        "17-Jul-1996 02:44:25 0700",
        "17-Jul-1996 02:44:25 +07:0",
        "17-Jul-199x 02:44:25 -0700",
        "00-Jul-1996 02:44:25 -0700",
        "  -Jul-1996 02:44:25 -0700",
        "17-Jul-1996T02:44:25 -0700",
        "١٧-Jul-1996 02:44:25 -0700",
    ],
)
def test_parse_internaldate_rejects_nonsense(raw: str) -> None:
    assert parse_internaldate(raw) is None


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 12, 31)),
    st.integers(min_value=-12 * 60, max_value=14 * 60),
)
def test_parse_internaldate_matches_datetime(when: datetime, offset_minutes: int) -> None:
    when = when.replace(microsecond=0)
    zone = timezone(timedelta(minutes=offset_minutes))
    raw = when.replace(tzinfo=zone).strftime("%d-%b-%Y %H:%M:%S %z")
    assert parse_internaldate(raw) == int(when.replace(tzinfo=zone).timestamp())
