"""Date and time formats of the mapping language, read the way Entra's FormatDateTime reads them.

Admins who wrote `FormatDateTime([StatusHireDate], , "yyyy-MM-ddzzz", "yyyy-MM-dd")` in an Entra attribute mapping
already know .NET custom date and time format strings, so a mapping file uses the same letters (`yyyy`, `MM`, `dd`,
`HH`, `hh` + `tt`, `zzz`, `K`, quoted literals) for input and output. Four named formats cover what HR systems send
without a pattern: `iso8601` (including Workday's date-with-offset `2026-12-01-08:00`), `odata`
(SuccessFactors' `/Date(1796083200000)/`), `unix` and `unixMilliseconds`.

Letters that mean nothing to .NET are literals there, which hides typos such as `YYYY-MM-DD` (a literal "YYYY"
and "DD"). Here only `T` and `Z` may stand unquoted; any other letter must be quoted, so a pattern is either
understood or refused when the mapping is loaded. Pure: no I/O, invariant (English) month and day names.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Protocol

__all__ = [
    "NAMED_FORMATS",
    "DateFormatError",
    "DatePattern",
    "DateReader",
    "DateValueError",
    "calendar_date",
    "date_reader",
]

NAMED_FORMATS = ("iso8601", "odata", "unix", "unixMilliseconds")

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# .NET's Gregorian calendar reads two-digit years into 1950..2049 (Calendar.TwoDigitYearMax = 2049).
TWO_DIGIT_YEAR_MAX = 2049
_SPECIFIERS = frozenset("yMdHhmsfFtzK")
_UNQUOTED_LITERAL_LETTERS = frozenset("TZ")
_MAX_WIDTH = {"y": 4, "M": 4, "d": 4, "H": 2, "h": 2, "m": 2, "s": 2, "f": 7, "F": 7, "t": 2, "z": 3, "K": 1}
_HINTS = {
    "Y": "use yyyy for the year",
    "D": "use dd for the day of the month",
    "S": "use fff for fractions of a second",
    "a": "use tt for AM/PM",
    "A": "use tt for AM/PM",
    "X": "use zzz or K for the UTC offset",
}


class DateFormatError(ValueError):
    """A format in the mapping file cannot be used; raised when the mapping is loaded."""


class DateValueError(ValueError):
    """A value from the HR document does not match its format; raised when a document is mapped."""


class DateReader(Protocol):
    """Reads a value from an HR document as a calendar date or a date and time (naive when it has no offset)."""

    @property
    def name(self) -> str: ...

    def parse(self, value: object) -> date | datetime: ...


@dataclass(frozen=True, slots=True)
class _Token:
    letter: str  # a specifier letter, or "" for literal text
    width: int
    text: str = ""


def _tokenize(pattern: str) -> list[_Token]:
    tokens: list[_Token] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char in "'\"":
            end = pattern.find(char, index + 1)
            if end < 0:
                raise DateFormatError(f"unclosed quote {char} in {pattern!r}")
            tokens.append(_Token("", 0, pattern[index + 1 : end]))
            index = end + 1
        elif char == "\\":
            if index + 1 >= len(pattern):
                raise DateFormatError(f"{pattern!r} ends with a lone backslash")
            tokens.append(_Token("", 0, pattern[index + 1]))
            index += 2
        elif char == "%":  # .NET's "%d": a one-letter specifier written on its own
            index += 1
        elif char in _SPECIFIERS:
            width = 1
            while index + width < len(pattern) and pattern[index + width] == char:
                width += 1
            if width > _MAX_WIDTH[char] or (char == "y" and width not in (2, 4)):
                raise DateFormatError(f"{char * width!r} is not a .NET format specifier (in {pattern!r})")
            tokens.append(_Token(char, width))
            index += width
        elif char.isalpha() and char not in _UNQUOTED_LITERAL_LETTERS:
            hint = _HINTS.get(char, "quote literal text, e.g. 'at'")
            raise DateFormatError(f"letter {char!r} is not a format specifier in {pattern!r}: {hint}")
        else:
            tokens.append(_Token("", 0, char))
            index += 1
    return tokens


_GROUPS = {"y": "year", "M": "month", "d": "day", "H": "hour", "h": "hour", "m": "minute", "s": "second"}


def _regex_for(token: _Token) -> tuple[str, str | None]:
    """The regex for one token and the component it sets (None for literals and ignored parts)."""
    letter, width = token.letter, token.width
    if not letter:
        return re.escape(token.text), None
    if letter == "y":
        return (r"(?P<year>\d{4})" if width == 4 else r"(?P<year2>\d{2})"), "year"
    if letter == "M" and width >= 3:
        return r"(?P<monthname>[A-Za-z]+)", "month"
    if letter == "d" and width >= 3:
        return r"(?P<dayname>[A-Za-z]+)", "dayname"
    if letter in _GROUPS:
        group = _GROUPS[letter]
        digits = r"\d{1,2}" if width == 1 else r"\d{2}"
        return rf"(?P<{group}>{digits})", group
    if letter == "f":
        return rf"(?P<fraction>\d{{{width}}})", "fraction"
    if letter == "F":
        return rf"(?P<fraction>\d{{0,{width}}})", "fraction"
    if letter == "t":
        return (r"(?P<ampm>[AaPp][Mm])" if width == 2 else r"(?P<ampm>[AaPp])"), "ampm"
    if letter == "z":
        return {1: r"(?P<offset>[+-]\d{1,2})", 2: r"(?P<offset>[+-]\d{2})", 3: r"(?P<offset>[+-]\d{2}:\d{2})"}[
            width
        ], "offset"
    return r"(?P<offset>[Zz]|[+-]\d{2}:\d{2})?", "offset"  # K


class DatePattern:
    """A .NET-style custom date and time format, compiled once: parses HR values and formats output."""

    def __init__(self, pattern: str) -> None:
        if not pattern:
            raise DateFormatError("a date format must not be empty")
        self.name = pattern
        self._tokens = _tokenize(pattern)
        parts: list[str] = []
        seen: set[str] = set()
        # Writing may repeat a part ("yyyy (yy)"); reading must get each part once and know AM from PM.
        self.reading_problem: str | None = None
        for token in self._tokens:
            regex, component = _regex_for(token)
            if component is not None:
                if component in seen:
                    self.reading_problem = f"{pattern!r} gives the {component} twice"
                seen.add(component)
            parts.append(regex)
        self._components = frozenset(seen)
        self._twelve_hour = any(token.letter == "h" for token in self._tokens)
        if self._twelve_hour and "ampm" not in seen:
            self.reading_problem = f"{pattern!r} uses a 12-hour clock (h) without tt for AM/PM; use HH or add tt"
        elif not self.has_date:
            self.reading_problem = f"{pattern!r} needs a year, a month and a day (yyyy, MM, dd) to read a date"
        self._regex = None if self.reading_problem else re.compile("".join(parts), re.IGNORECASE)

    @property
    def has_date(self) -> bool:
        return {"year", "month", "day"} <= self._components

    @property
    def has_time(self) -> bool:
        return "hour" in self._components

    @property
    def has_offset(self) -> bool:
        return "offset" in self._components

    def parse(self, value: object) -> date | datetime:
        """Read `value` as a date, or a date and time (naive unless the pattern reads an offset)."""
        if self._regex is None:
            raise DateFormatError(self.reading_problem)
        text = _text(value, self.name)
        match = self._regex.fullmatch(text)
        if match is None:
            raise DateValueError(f"{_shown(text)} does not match the date format {self.name}")
        groups = match.groupdict()
        year = int(groups["year"]) if groups.get("year") else _two_digit_year(int(groups["year2"]))
        month = _month(groups["monthname"]) if groups.get("monthname") else int(groups["month"])
        try:
            day = date(year, month, int(groups["day"]))
        except ValueError:
            raise DateValueError(f"{_shown(text)} is not a real calendar date") from None
        if groups.get("dayname") and _weekday(groups["dayname"]) != day.weekday():
            raise DateValueError(f"{_shown(text)}: the day of the week does not match the date")
        if not self.has_time:
            return day
        hour = int(groups["hour"])
        if self._twelve_hour:
            if not 1 <= hour <= 12:
                raise DateValueError(f"{_shown(text)}: hour {hour} is not on a 12-hour clock")
            hour = hour % 12 + (12 if groups["ampm"][0] in "Pp" else 0)
        fraction = (groups.get("fraction") or "").ljust(6, "0")[:6]
        try:
            moment = datetime.combine(
                day, time(hour, int(groups.get("minute") or 0), int(groups.get("second") or 0), int(fraction))
            )
        except ValueError:
            raise DateValueError(f"{_shown(text)} is not a real time of day") from None
        offset = groups.get("offset")
        return moment.replace(tzinfo=_offset(offset)) if offset else moment

    def format(self, value: date | datetime) -> str:
        """`value` written in this pattern (a date alone reads as 00:00); `z`/`K` need a date and time with offset."""
        moment = value if isinstance(value, datetime) else datetime.combine(value, time())
        return "".join(_format_token(token, moment, self.name) for token in self._tokens)


def _fraction(moment: datetime, width: int) -> str:
    return f"{moment.microsecond:06d}0"[:width]


_FORMATTERS: dict[str, Callable[[datetime, int], str]] = {
    "y": lambda moment, width: f"{moment.year:04d}" if width == 4 else f"{moment.year % 100:02d}",
    "M": lambda moment, width: _named(MONTHS[moment.month - 1], width) if width >= 3 else _number(moment.month, width),
    "d": lambda moment, width: _named(DAYS[moment.weekday()], width) if width >= 3 else _number(moment.day, width),
    "H": lambda moment, width: _number(moment.hour, width),
    "h": lambda moment, width: _number(moment.hour % 12 or 12, width),
    "m": lambda moment, width: _number(moment.minute, width),
    "s": lambda moment, width: _number(moment.second, width),
    "f": _fraction,
    "F": lambda moment, width: _fraction(moment, width).rstrip("0"),
    "t": lambda moment, width: ("AM" if moment.hour < 12 else "PM")[:width],
}


def _format_token(token: _Token, moment: datetime, pattern: str) -> str:
    letter, width = token.letter, token.width
    if not letter:
        return token.text
    formatter = _FORMATTERS.get(letter)
    if formatter is not None:
        return formatter(moment, width)
    offset = moment.utcoffset()
    if offset is None:
        if letter == "K":
            return ""
        raise DateValueError(f"the output format {pattern} writes a UTC offset, but the value has none")
    if letter == "K" and offset == timedelta(0):
        return "Z"
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    hours, minutes = divmod(minutes, 60)
    if letter == "z" and width < 3:
        return f"{sign}{hours:0{width}d}"
    return f"{sign}{hours:02d}:{minutes:02d}"


def _named(name: str, width: int) -> str:
    return name[:3] if width == 3 else name


def _number(value: int, width: int) -> str:
    return f"{value:0{width}d}"


def _two_digit_year(value: int) -> int:
    century = TWO_DIGIT_YEAR_MAX // 100 * 100
    year = century + value
    return year - 100 if year > TWO_DIGIT_YEAR_MAX else year


def _month(name: str) -> int:
    for index, month in enumerate(MONTHS):
        if name.lower() in (month.lower(), month[:3].lower()):
            return index + 1
    raise DateValueError(f"{_shown(name)} is not an English month name")


def _weekday(name: str) -> int:
    for index, day in enumerate(DAYS):
        if name.lower() in (day.lower(), day[:3].lower()):
            return index
    raise DateValueError(f"{_shown(name)} is not an English day name")


def _offset(text: str) -> tzinfo:
    if text in ("Z", "z"):
        return UTC
    sign = -1 if text[0] == "-" else 1
    hours, _, minutes = text[1:].partition(":")
    if len(hours) == 4 and not minutes:  # +hhmm
        hours, minutes = hours[:2], hours[2:]
    delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
    if delta >= timedelta(hours=24):
        raise DateValueError(f"{text} is not a UTC offset")
    return timezone(sign * delta)


def _text(value: object, format_name: str) -> str:
    if not isinstance(value, str):
        raise DateValueError(f"must be text in the date format {format_name}, not {_kind(value)}")
    return value.strip()


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _shown(text: str) -> str:
    """A value quoted for an error message, cut short: HR values can be long and are not logged whole."""
    return repr(text if len(text) <= 40 else text[:37] + "...")


class _Iso8601:
    """ISO 8601 / RFC 3339 dates and date-times; a date with an offset (`2026-12-01-08:00`) is a calendar date."""

    name = "iso8601"
    _REGEX = re.compile(
        r"(?P<date>\d{4}-\d{2}-\d{2})"
        r"(?:[Tt ](?P<time>\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?))?"
        r"(?P<offset>[Zz]|[+-]\d{2}(?::?\d{2})?)?"
    )

    def parse(self, value: object) -> date | datetime:
        text = _text(value, self.name)
        match = self._REGEX.fullmatch(text)
        if match is None:
            raise DateValueError(f"{_shown(text)} is not an ISO 8601 date or date and time")
        try:
            day = date.fromisoformat(match["date"])
        except ValueError:
            raise DateValueError(f"{_shown(text)} is not a real calendar date") from None
        if match["time"] is None:
            return day  # a date is a calendar date wherever it was written: its offset does not move it
        clock, _, fraction = match["time"].replace(",", ".").partition(".")
        hour, minute, second = (int(part) for part in (clock + ":00").split(":")[:3])
        try:
            moment = datetime.combine(day, time(hour, minute, second, int(fraction.ljust(6, "0")[:6] or 0)))
        except ValueError:
            raise DateValueError(f"{_shown(text)} is not a real time of day") from None
        offset = match["offset"]
        return moment.replace(tzinfo=_offset(offset)) if offset else moment


class _OData:
    """OData v2 JSON dates: `/Date(<ms since 1970 UTC>[+|-<minutes>])/`, as SuccessFactors' OData API writes them."""

    name = "odata"
    _REGEX = re.compile(r"\\?/Date\((?P<ms>-?\d{1,15})(?:(?P<sign>[+-])(?P<minutes>\d{1,4}))?\)\\?/")

    def parse(self, value: object) -> date | datetime:
        text = _text(value, self.name)
        match = self._REGEX.fullmatch(text)
        if match is None:
            raise DateValueError(f"{_shown(text)} is not an OData date like /Date(1796083200000)/")
        zone: tzinfo = UTC
        if match["minutes"]:
            minutes = int(match["minutes"]) * (-1 if match["sign"] == "-" else 1)
            if abs(minutes) >= 24 * 60:
                raise DateValueError(f"{_shown(text)} carries an offset beyond 24 hours")
            zone = timezone(timedelta(minutes=minutes))
        return _from_epoch(int(match["ms"]) / 1000, text).astimezone(zone)


class _Epoch:
    """Seconds or milliseconds since 1970-01-01T00:00Z, as a JSON number or a string of digits."""

    _NUMBER = re.compile(r"-?\d{1,16}(?:\.\d{1,9})?")

    def __init__(self, name: str, per_second: int) -> None:
        self.name = name
        self._per_second = per_second

    def parse(self, value: object) -> date | datetime:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise DateValueError(f"must be a number of {self._unit()} since 1970, not {_kind(value)}")
        text = str(value).strip()
        if not self._NUMBER.fullmatch(text):
            raise DateValueError(f"{_shown(text)} is not a number of {self._unit()} since 1970")
        return _from_epoch(float(text) / self._per_second, text)

    def _unit(self) -> str:
        return "seconds" if self._per_second == 1 else "milliseconds"


def _from_epoch(seconds: float, text: str) -> datetime:
    try:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    except OverflowError:
        raise DateValueError(f"{_shown(text)} is outside the years 1..9999") from None


_NAMED: dict[str, DateReader] = {
    "iso8601": _Iso8601(),
    "odata": _OData(),
    "unix": _Epoch("unix", 1),
    "unixMilliseconds": _Epoch("unixMilliseconds", 1000),
}


def date_reader(spec: str) -> DateReader:
    """The reader for a named format or a .NET-style pattern; raises DateFormatError for a pattern it refuses."""
    named = _NAMED.get(spec)
    if named is not None:
        return named
    pattern = DatePattern(spec)
    if pattern.reading_problem:
        alternative = "" if pattern.has_date else f", or name one of {', '.join(NAMED_FORMATS)}"
        raise DateFormatError(pattern.reading_problem + alternative)
    return pattern


def calendar_date(value: date | datetime, zone: tzinfo) -> date:
    """The calendar date of `value` in `zone`; a date is already one, and stays as it is."""
    if not isinstance(value, datetime):
        return value
    if value.tzinfo is None:
        raise DateValueError("a date and time without a UTC offset has no calendar date until a zone is given")
    return value.astimezone(zone).date()
