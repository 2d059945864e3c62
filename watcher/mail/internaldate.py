"""Read an IMAP INTERNALDATE (`"17-Jul-1996 02:44:25 -0700"`) as POSIX seconds.

A bulk fetch reads one per message, so this avoids strptime and `datetime`: fixed positions,
Howard Hinnant's day arithmetic, and two small caches (a folder's messages share few distinct
dates and zones).
"""

from __future__ import annotations

__all__ = ["parse_internaldate"]

_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_MONTH_DAYS = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
# A folder's messages share few distinct dates and zones: cache both parts of the arithmetic.
_DAY_CACHE: dict[str, int] = {}
_ZONE_CACHE: dict[str, int] = {}
_CACHE_MAX = 50_000


def _days_from_civil(year: int, month: int, day: int) -> int:
    # Howard Hinnant's days_from_civil: exact for the proleptic Gregorian calendar, and a good
    # deal faster than calendar.timegm, which builds date objects.
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _epoch_day(date: str) -> int | None:
    """`"17-Jul-1996"` (day possibly space-padded) -> days since 1970-01-01, or None."""
    day_s, mon_s, year_s = date[0:2].lstrip(), date[3:6], date[7:11]
    if not day_s or date[2] != "-" or date[6] != "-" or not (day_s + year_s).isdigit():
        return None
    month = _MONTHS.get(mon_s.lower())
    day, year = int(day_s), int(year_s)
    if month is None or not 1 <= day <= _MONTH_DAYS[month]:
        return None
    if month == 2 and day == 29 and not (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
        return None
    return _days_from_civil(year, month, day)


def _zone_offset(zone: str) -> int | None:
    """`"-0700"` -> -25200, or None."""
    digits = zone[1:]
    if len(zone) != 5 or zone[0] not in "+-" or not digits.isdigit() or not digits.isascii():
        return None
    minutes = int(digits[2:])
    if minutes > 59:
        return None
    offset = int(digits[:2]) * 3600 + minutes * 60
    return -offset if zone[0] == "-" else offset


def parse_internaldate(raw: bytes | str) -> int | None:
    """`"17-Jul-1996 02:44:25 -0700"` -> POSIX seconds (UTC); None if it is not that shape.

    Surrounding quotes or blanks and a space-padded or one-digit day (`" 7-Jul-1996 ..."`,
    `"7-Jul-1996 ..."`) are accepted. No strptime: fixed positions and two small caches.
    """
    if isinstance(raw, bytes | bytearray):
        raw = raw.decode("ascii", "replace")
    elif not isinstance(raw, str):
        return None
    if not raw.isascii():  # then isdigit() means 0-9 only
        return None
    if len(raw) != 26:
        raw = raw.strip().strip('"')
        if len(raw) == 25:
            raw = " " + raw
        if len(raw) != 26:
            return None
    date = raw[:11]
    days = _DAY_CACHE.get(date)
    if days is None:
        days = _epoch_day(date)
        if days is None:
            return None
        if len(_DAY_CACHE) < _CACHE_MAX:
            _DAY_CACHE[date] = days
    zone = raw[21:]
    offset = _ZONE_CACHE.get(zone)
    if offset is None:
        offset = _zone_offset(zone)
        if offset is None:
            return None
        if len(_ZONE_CACHE) < _CACHE_MAX:
            _ZONE_CACHE[zone] = offset
    hh, mm, ss = raw[12:14], raw[15:17], raw[18:20]
    if (
        raw[11] != " "
        or raw[14] != ":"
        or raw[17] != ":"
        or raw[20] != " "
        or not (hh + mm + ss).isdigit()
    ):
        return None
    hour, minute, second = int(hh), int(mm), int(ss)
    # 60 allows a leap second, as RFC 3501's grammar does.
    if hour > 23 or minute > 59 or second > 60:
        return None
    return days * 86400 + hour * 3600 + minute * 60 + second - offset
