"""Template filters: dates, times and durations as people read them in the mails (English and German).

Also usable directly; no I/O, no Jinja: the renderer registers them as the filters ``date_long``, ``time_hm`` and
``duration``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

DEFAULT_LANGUAGE = "en"

_MONTHS: Mapping[str, tuple[str, ...]] = {
    "en": (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
    "de": (
        "Januar", "Februar", "März", "April", "Mai", "Juni",
        "Juli", "August", "September", "Oktober", "November", "Dezember",
    ),
}  # fmt: skip
_WEEKDAYS: Mapping[str, tuple[str, ...]] = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "de": ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
}


def format_date_long(value: date, language: str = DEFAULT_LANGUAGE) -> str:
    """``Tuesday 1 December 2026`` / ``Dienstag, 1. Dezember 2026``; ISO date for other languages."""
    months = _MONTHS.get(language)
    weekdays = _WEEKDAYS.get(language)
    if months is None or weekdays is None:
        return value.isoformat()
    weekday, month = weekdays[value.weekday()], months[value.month - 1]
    if language == "de":
        return f"{weekday}, {value.day}. {month} {value.year}"
    return f"{weekday} {value.day} {month} {value.year}"


def format_time_hm(value: datetime) -> str:
    """24-hour ``HH:MM``: unambiguous for readers in any country."""
    return value.strftime("%H:%M")


def format_duration(minutes: int, language: str = DEFAULT_LANGUAGE) -> str:
    """``8 hours``, ``1 hour 30 minutes``, ``45 minutes`` (or German)."""
    hours, rest = divmod(minutes, 60)
    if language == "de":
        units = (("Stunde", "Stunden"), ("Minute", "Minuten"))
    else:
        units = (("hour", "hours"), ("minute", "minutes"))
    parts = [
        f"{count} {singular if count == 1 else plural}"
        for count, (singular, plural) in zip((hours, rest), units, strict=True)
        if count
    ]
    return " ".join(parts) or f"0 {units[1][1]}"
