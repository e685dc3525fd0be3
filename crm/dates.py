"""Dates as people read them, formatted fast enough for every cell of a list page.

Django's `date` filter re-parses its format and builds a DateFormat for every value: on a list
of 50 rows with two dates each, the four `date` filters of a row were half of the rows' rendering
time. `format_date` gives the same text for a named format (SHORT_DATE_FORMAT, ...) from a
format compiled once per format string, the common format characters written directly and any
other one (a.m./p.m., month names) left to Django's own DateFormat. crm/tests/test_dates.py holds
it to the `date` filter's output in both languages.
"""

from __future__ import annotations

import datetime
from functools import lru_cache

from django.utils import timezone
from django.utils.dateformat import DateFormat
from django.utils.formats import get_format

# Format characters written directly (django/utils/dateformat.py gives the same text for them).
_DIRECT = {
    "Y": lambda d: f"{d.year:04d}",
    "y": lambda d: f"{d.year % 100:02d}",
    "m": lambda d: f"{d.month:02d}",
    "n": lambda d: str(d.month),
    "d": lambda d: f"{d.day:02d}",
    "j": lambda d: str(d.day),
    "H": lambda d: f"{d.hour:02d}",
    "G": lambda d: str(d.hour),
    "i": lambda d: f"{d.minute:02d}",
    "s": lambda d: f"{d.second:02d}",
}
_TIME_CHARACTERS = set("aAefgGhHiIOPsTuUZ")
_SPECIFIERS = set("aAbcdDeEfFgGhHiIjlLmMnNoOPrsStTUuwWyYzZ")


@lru_cache(maxsize=64)
def _compiled(format_string: str) -> tuple:
    """The format as a tuple of literal strings and one-argument functions."""
    parts: list = []
    escaped = False
    for character in format_string:
        if escaped:
            parts.append(character)
            escaped = False
        elif character == "\\":
            escaped = True
        elif character in _DIRECT:
            parts.append(_DIRECT[character])
        elif character in _SPECIFIERS:
            parts.append(lambda value, c=character: DateFormat(value).format(c))
        else:
            parts.append(character)
    return tuple(parts)


def local(value):
    """An aware datetime in the current time zone (as templates show it); others unchanged."""
    if isinstance(value, datetime.datetime) and timezone.is_aware(value):
        return timezone.localtime(value)
    return value


def format_date(value, format_name: str = "SHORT_DATE_FORMAT") -> str:
    """`value` (a date or datetime, "" for None) in the current language's named format, as the
    `date` template filter writes it."""
    if value in (None, ""):
        return ""
    return _format_local(local(value), format_name)


def _format_local(value, format_name: str) -> str:
    format_string = get_format(format_name)
    if not isinstance(value, datetime.datetime) and any(c in _TIME_CHARACTERS for c in format_string):
        return DateFormat(value).format(format_string)  # Django refuses time characters for a date
    return "".join(part if isinstance(part, str) else part(value) for part in _compiled(format_string))


def iso_value(value) -> str:
    """The machine-readable value of a <time> element (the `date` filter's "c")."""
    if value in (None, ""):
        return ""
    return local(value).isoformat()


def time_parts(value, format_name: str = "SHORT_DATE_FORMAT") -> tuple[str, str]:
    """A <time> element's machine-readable value and text, converting the time zone once (every
    list row shows one or two)."""
    value = local(value)
    return value.isoformat(), _format_local(value, format_name)
