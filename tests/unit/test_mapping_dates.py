"""Date formats of the mapping language: .NET custom patterns as Entra's FormatDateTime reads them, named formats,
and the zone arithmetic that turns an HR system's date and time into the employee's calendar date."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provisioning.intake.mapping.dates import (
    DateFormatError,
    DatePattern,
    DateValueError,
    calendar_date,
    date_reader,
)

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("yyyy-MM-dd", "2026-12-01", date(2026, 12, 1)),
        ("dd.MM.yyyy", "01.12.2026", date(2026, 12, 1)),
        ("d.M.yyyy", "1.2.2026", date(2026, 2, 1)),
        ("M/d/yyyy", "12/1/2026", date(2026, 12, 1)),
        ("yyyyMMdd", "20261201", date(2026, 12, 1)),
        ("dd-MMM-yy", "01-Dec-26", date(2026, 12, 1)),
        ("dd-MMM-yy", "01-DEC-49", date(2049, 12, 1)),
        ("dd-MMM-yy", "01-dec-50", date(1950, 12, 1)),
        ("MMMM d, yyyy", "December 1, 2026", date(2026, 12, 1)),
        ("dddd, MMMM d, yyyy", "Tuesday, December 1, 2026", date(2026, 12, 1)),
        ("ddd dd MMM yyyy", "Tue 01 Dec 2026", date(2026, 12, 1)),
        ("yyyy-MM-dd'T'HH:mm:ss", "2026-12-01T09:14:05", datetime(2026, 12, 1, 9, 14, 5)),
        ("yyyy-MM-ddTHH:mm", "2026-12-01T09:14", datetime(2026, 12, 1, 9, 14)),
        ("M/d/yyyy h:mm:ss tt", "12/1/2026 9:14:05 PM", datetime(2026, 12, 1, 21, 14, 5)),
        ("M/d/yyyy hh:mm:ss tt", "12/1/2026 12:00:00 AM", datetime(2026, 12, 1, 0, 0)),
        ("M/d/yyyy hh:mm t", "12/1/2026 12:30 P", datetime(2026, 12, 1, 12, 30)),
        ("yyyy-MM-dd HH:mm:ss.fff", "2026-12-01 09:14:05.123", datetime(2026, 12, 1, 9, 14, 5, 123000)),
        ("yyyy-MM-dd HH:mm:ss.FFF", "2026-12-01 09:14:05.", datetime(2026, 12, 1, 9, 14, 5)),
        ("yyyyMMddHHmmss.fZ", "20150123105347.1Z", datetime(2015, 1, 23, 10, 53, 47, 100000)),
        ("yyyy-MM-ddzzz", "2020-12-31-08:00", date(2020, 12, 31)),
        (
            "yyyy-MM-dd HH:mmzzz",
            "2026-12-01 09:14+01:00",
            datetime(2026, 12, 1, 9, 14, tzinfo=timezone(timedelta(hours=1))),
        ),
        (
            "yyyy-MM-dd HH:mmzz",
            "2026-12-01 09:14-05",
            datetime(2026, 12, 1, 9, 14, tzinfo=timezone(timedelta(hours=-5))),
        ),
        (
            "yyyy-MM-dd HH:mm z",
            "2026-12-01 09:14 +5",
            datetime(2026, 12, 1, 9, 14, tzinfo=timezone(timedelta(hours=5))),
        ),
        ("yyyy-MM-dd HH:mmK", "2026-12-01 09:14Z", datetime(2026, 12, 1, 9, 14, tzinfo=UTC)),
        ("yyyy-MM-dd HH:mmK", "2026-12-01 09:14", datetime(2026, 12, 1, 9, 14)),
        ("%d.%M.yyyy", "1.2.2026", date(2026, 2, 1)),
        ("yyyy\\Tdd.MM", "2026T01.12", date(2026, 12, 1)),
        ('"day" d "of" M yyyy', "day 1 of 12 2026", date(2026, 12, 1)),
        ("yyyy-MM-dd", "  2026-12-01  ", date(2026, 12, 1)),  # leading/trailing white space, as Entra allows
    ],
)
def test_patterns_read_what_dotnet_reads(pattern: str, text: str, expected: date | datetime) -> None:
    assert date_reader(pattern).parse(text) == expected


@pytest.mark.parametrize(
    ("pattern", "fragment"),
    [
        ("YYYY-MM-DD", "use yyyy for the year"),
        ("yyyy-MM-DD", "use dd for the day"),
        ("yyyy-MM-dd HH:mm:ss.SSS", "use fff"),
        ("yyyy-MM-dd hh:mm a", "use tt"),
        ("yyyy-MM-dd HH:mmX", "zzz or K"),
        ("yyyy-MM-dd 'at' HH:mm q", "quote literal text"),
        ("yyy-MM-dd", "'yyy' is not a .NET format specifier"),
        ("yyyyy-MM-dd", "'yyyyy' is not"),
        ("yyyy-MMMMM-dd", "'MMMMM' is not"),
        ("yyyy-MM-dd hh:mm", "12-hour clock"),
        ("yyyy-MM-dd yyyy", "gives the year twice"),
        ("yyyy-MM-dd 'T", "unclosed quote"),
        ("yyyy-MM-dd\\", "lone backslash"),
        ("HH:mm", "needs a year, a month and a day"),
        ("", "must not be empty"),
    ],
)
def test_bad_patterns_are_refused_at_load(pattern: str, fragment: str) -> None:
    with pytest.raises(DateFormatError) as caught:
        date_reader(pattern)
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    ("pattern", "value", "fragment"),
    [
        ("yyyy-MM-dd", "01.12.2026", "does not match the date format yyyy-MM-dd"),
        ("yyyy-MM-dd", "2026-02-30", "not a real calendar date"),
        ("yyyy-MM-dd HH:mm", "2026-12-01 25:00", "not a real time of day"),
        ("M/d/yyyy h:mm tt", "12/1/2026 13:00 PM", "not on a 12-hour clock"),
        ("dd MMM yyyy", "01 Foo 2026", "not an English month name"),
        ("ddd dd MMM yyyy", "Mon 01 Dec 2026", "day of the week does not match"),
        ("ddd dd MMM yyyy", "Xyz 01 Dec 2026", "not an English day name"),
        ("yyyy-MM-dd HH:mmzzz", "2026-12-01 09:14+24:00", "not a UTC offset"),
        ("yyyy-MM-dd", 20261201, "must be text"),
        ("yyyy-MM-dd", ["2026-12-01"], "not a list"),
        ("yyyy-MM-dd", {"d": 1}, "not an object"),
        ("yyyy-MM-dd", True, "not a boolean"),
        ("yyyy-MM-dd", "x" * 100, "..."),
    ],
)
def test_values_that_do_not_fit_are_reported(pattern: str, value: object, fragment: str) -> None:
    with pytest.raises(DateValueError) as caught:
        date_reader(pattern).parse(value)
    assert fragment in str(caught.value)
    assert len(str(caught.value)) < 200  # a long HR value is never echoed whole


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-01", date(2026, 12, 1)),
        ("2026-12-01-08:00", date(2026, 12, 1)),  # Workday: a calendar date with the tenant's offset stays that date
        ("2026-12-01+14:00", date(2026, 12, 1)),
        ("2026-12-01Z", date(2026, 12, 1)),
        ("2026-12-01T09:14", datetime(2026, 12, 1, 9, 14)),
        ("2026-12-01 09:14:05", datetime(2026, 12, 1, 9, 14, 5)),
        ("2026-12-01T09:14:05.5Z", datetime(2026, 12, 1, 9, 14, 5, 500000, tzinfo=UTC)),
        (
            "2026-12-01T09:14:05,123456789+01:00",
            datetime(2026, 12, 1, 9, 14, 5, 123456, tzinfo=timezone(timedelta(hours=1))),
        ),
        ("2026-11-20T01:14:00.000-08:00", datetime(2026, 11, 20, 9, 14, tzinfo=UTC)),
        ("2026-12-01T09:14:05+0530", datetime(2026, 12, 1, 3, 44, 5, tzinfo=UTC)),
        ("2026-12-01T09:14:05-05", datetime(2026, 12, 1, 14, 14, 5, tzinfo=UTC)),
    ],
)
def test_iso8601(text: str, expected: date | datetime) -> None:
    assert date_reader("iso8601").parse(text) == expected


@pytest.mark.parametrize("text", ["2026-13-01", "2026-12-01T24:00", "01.12.2026", "2026-12-1", "20261201"])
def test_iso8601_refuses(text: str) -> None:
    with pytest.raises(DateValueError):
        date_reader("iso8601").parse(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/Date(1796083200000)/", datetime(2026, 12, 1, tzinfo=UTC)),
        ("\\/Date(1796083200000)\\/", datetime(2026, 12, 1, tzinfo=UTC)),
        ("/Date(1796083200000+0000)/", datetime(2026, 12, 1, tzinfo=UTC)),
        # OData v2: the suffix is the offset in minutes; the milliseconds are UTC either way.
        ("/Date(1796083200000+0060)/", datetime(2026, 12, 1, tzinfo=UTC)),
        ("/Date(-86400000)/", datetime(1969, 12, 31, tzinfo=UTC)),
    ],
)
def test_odata(text: str, expected: datetime) -> None:
    parsed = date_reader("odata").parse(text)
    assert parsed == expected
    if "+0060" in text:
        assert isinstance(parsed, datetime) and parsed.utcoffset() == timedelta(minutes=60)


@pytest.mark.parametrize("text", ["/Date(abc)/", "Date(1)", "/Date(1+99999)/", "/Date(1+1440)/"])
def test_odata_refuses(text: str) -> None:
    with pytest.raises(DateValueError):
        date_reader("odata").parse(text)


def test_unix_seconds_and_milliseconds() -> None:
    assert date_reader("unix").parse(1796083200) == datetime(2026, 12, 1, tzinfo=UTC)
    assert date_reader("unix").parse("1796083200.5") == datetime(2026, 12, 1, 0, 0, 0, 500000, tzinfo=UTC)
    assert date_reader("unixMilliseconds").parse(1796083200000) == datetime(2026, 12, 1, tzinfo=UTC)
    for bad in (True, None, "soon", "1e9", [1]):
        with pytest.raises(DateValueError):
            date_reader("unix").parse(bad)
    with pytest.raises(DateValueError, match="outside the years"):
        date_reader("unix").parse("9999999999999999")


def test_output_formats() -> None:
    moment = datetime(2026, 12, 1, 21, 4, 5, 120000, tzinfo=timezone(timedelta(hours=-8)))
    cases = {
        "yyyyMMdd": "20261201",
        "yy-M-d": "26-12-1",
        "dddd, MMMM d": "Tuesday, December 1",
        "ddd dd MMM": "Tue 01 Dec",
        "HH:mm:ss.fff": "21:04:05.120",
        "HH:mm:ss.FFF": "21:04:05.12",
        "h:mm tt": "9:04 PM",
        "hh t": "09 P",
        "zzz|zz|z|K": "-08:00|-08|-8|-08:00",
        "'at' HH\\h": "at 21h",
    }
    for pattern, expected in cases.items():
        assert DatePattern(pattern).format(moment) == expected, pattern
    assert DatePattern("yyyy-MM-dd HH:mm K").format(date(2026, 12, 1)) == "2026-12-01 00:00 "
    assert DatePattern("HH:mmK").format(datetime(2026, 1, 1, 0, 0, tzinfo=UTC)) == "00:00Z"
    assert DatePattern("h tt").format(datetime(2026, 1, 1, 0, 0, tzinfo=UTC)) == "12 AM"
    with pytest.raises(DateValueError, match="writes a UTC offset"):
        DatePattern("zzz").format(date(2026, 12, 1))
    with pytest.raises(DateFormatError):
        DatePattern("HH:mm").parse("09:14")


def test_calendar_date_in_a_zone() -> None:
    late_evening_utc = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    assert calendar_date(late_evening_utc, BERLIN) == date(2026, 12, 1)
    assert calendar_date(late_evening_utc, ZoneInfo("America/Chicago")) == date(2026, 11, 30)
    assert calendar_date(date(2026, 12, 1), ZoneInfo("Pacific/Kiritimati")) == date(2026, 12, 1)
    with pytest.raises(DateValueError, match="no calendar date"):
        calendar_date(datetime(2026, 12, 1, 9, 0), BERLIN)


# -- properties --------------------------------------------------------------------------------------------------

_PATTERNS = [
    "yyyy-MM-dd HH:mm:ss.fffzzz",
    "dd.MM.yyyy HH:mm:ss.ffffffK",
    "M/d/yyyy h:mm:ss.ffffff tt zzz",
    "dddd, dd MMMM yyyy HH:mm:ss.ffffffzzz",
    "ddd, d MMM yyyy 'at' HH:mm:ss.ffffff zzz",
    "yyyyMMddHHmmssffffffzzz",
]
_ZONES = st.sampled_from(
    ["UTC", "Europe/Berlin", "America/Chicago", "Asia/Kolkata", "Pacific/Kiritimati", "America/St_Johns"]
)
_MOMENTS = st.datetimes(min_value=datetime(1950, 1, 1), max_value=datetime(2049, 12, 31), timezones=st.just(UTC))


@settings(max_examples=300, deadline=None)
@given(moment=_MOMENTS, zone=_ZONES, pattern=st.sampled_from(_PATTERNS))
def test_formatting_then_reading_gives_the_same_instant(moment: datetime, zone: str, pattern: str) -> None:
    local = moment.astimezone(ZoneInfo(zone))
    if "ffffff" not in pattern:
        local = local.replace(microsecond=local.microsecond // 1000 * 1000)
    compiled = DatePattern(pattern)
    parsed = compiled.parse(compiled.format(local))
    assert isinstance(parsed, datetime)
    # Compared as UTC instants: Python never finds a time in a DST fold (02:30 on the last Sunday of October in
    # Berlin) equal to one in another zone (PEP 495), even when both are the same instant.
    assert parsed.astimezone(UTC) == local.astimezone(UTC)
    assert parsed.utcoffset() == local.utcoffset()


@settings(max_examples=300, deadline=None)
@given(moment=_MOMENTS, zone=_ZONES)
def test_the_calendar_date_is_the_local_date_of_the_instant(moment: datetime, zone: str) -> None:
    day = calendar_date(moment, ZoneInfo(zone))
    local = moment.astimezone(ZoneInfo(zone))
    assert day == local.date()
    # The same instant written with its offset in ISO 8601 and read back gives the same calendar date.
    assert calendar_date(date_reader("iso8601").parse(local.isoformat()), ZoneInfo(zone)) == day  # type: ignore[arg-type]
    # and as OData milliseconds, too
    milliseconds = int(moment.timestamp() * 1000)
    reread = date_reader("odata").parse(f"/Date({milliseconds})/")
    assert calendar_date(reread, ZoneInfo(zone)) == calendar_date(  # type: ignore[arg-type]
        datetime.fromtimestamp(milliseconds / 1000, UTC), ZoneInfo(zone)
    )


@settings(max_examples=200, deadline=None)
@given(day=st.dates(min_value=date(1950, 1, 1), max_value=date(2049, 12, 31)), offset=st.integers(-14 * 60, 14 * 60))
def test_a_date_with_an_offset_is_the_same_calendar_date(day: date, offset: int) -> None:
    """Workday writes `2026-12-01-08:00`: whatever the offset, the calendar date is the one written."""
    sign = "-" if offset < 0 else "+"
    hours, minutes = divmod(abs(offset), 60)
    text = f"{day.isoformat()}{sign}{hours:02d}:{minutes:02d}"
    assert date_reader("iso8601").parse(text) == day
    assert date_reader("yyyy-MM-ddzzz").parse(text) == day
