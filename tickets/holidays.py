"""Importable holiday lists for business calendars (`tickets.sla.BusinessCalendar`): a plain
text format and the iCalendar feeds Chinese public-holiday calendars are published in. Both give
(holidays, extra working days -> the weekday whose hours apply)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, timedelta

from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext as _

from tickets.sla import ONE_DAY, WEEKDAY_NAMES

_WEEKDAY_KEYS = {
    **{name.lower(): index for index, name in enumerate(WEEKDAY_NAMES)},
    **{name[:3].lower(): index for index, name in enumerate(WEEKDAY_NAMES)},
}
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MAX_RANGE_DAYS = 366


def parse_holiday_lines(text: str) -> tuple[set[date], dict[date, int]]:
    """Read a holiday list: returns (holidays, extra working days -> weekday whose hours apply).

    One entry per line::

        # 2026, State Council notice
        2026-10-01..2026-10-07 holiday 国庆节
        2026-09-20 workday 国庆节补班
        2026-10-10 workday:fri 国庆节补班

    - A date (YYYY-MM-DD) or an inclusive range `first..last`, then `holiday` or `workday`, then
      an optional name (ignored). `workday` takes Monday's hours unless followed by `:weekday`
      (mon ... sun, or the full English name).
    - `#` starts a comment; blank lines are skipped. Kinds and weekdays are case-insensitive.
    - Listing a date twice the same way is harmless; as holiday and as working day, or as working
      days of two different weekdays, is an error. Ranges longer than a year are taken for typos.

    Raises ValueError naming the first bad line's number.
    """
    holidays: dict[date, int] = {}  # date -> line where listed
    workdays: dict[date, tuple[int, int]] = {}  # date -> (weekday, line)
    for number, raw in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split(None, 2)
        if len(parts) < 2:
            raise ValueError(
                _("Line %(number)d: expected '<date>[..<date>] holiday|workday[:weekday] [name]'.") % {"number": number}
            )
        first, last = _parse_date_range(parts[0], number)
        kind, _sep, weekday_name = parts[1].lower().partition(":")
        if kind == "holiday" and not weekday_name:
            for day in _days(first, last):
                if day in workdays:
                    raise ValueError(
                        _("Line %(number)d: %(day)s is a working day on line %(other)d.")
                        % {"number": number, "day": day, "other": workdays[day][1]}
                    )
                holidays.setdefault(day, number)
        elif kind == "workday":
            weekday = 0
            if weekday_name:
                if weekday_name not in _WEEKDAY_KEYS:
                    raise ValueError(
                        _("Line %(number)d: unknown weekday “%(name)s” (use mon … sun).")
                        % {"number": number, "name": weekday_name}
                    )
                weekday = _WEEKDAY_KEYS[weekday_name]
            for day in _days(first, last):
                if day in holidays:
                    raise ValueError(
                        _("Line %(number)d: %(day)s is a holiday on line %(other)d.")
                        % {"number": number, "day": day, "other": holidays[day]}
                    )
                if day in workdays and workdays[day][0] != weekday:
                    raise ValueError(
                        _("Line %(number)d: %(day)s is worked as a %(weekday)s on line %(other)d.")
                        % {
                            "number": number,
                            "day": day,
                            "weekday": WEEKDAYS[workdays[day][0]],
                            "other": workdays[day][1],
                        }
                    )
                workdays.setdefault(day, (weekday, number))
        else:
            raise ValueError(
                _("Line %(number)d: expected 'holiday' or 'workday[:weekday]', not “%(word)s”.")
                % {"number": number, "word": parts[1]}
            )
    return set(holidays), {day: weekday for day, (weekday, _line) in workdays.items()}


def _parse_date_range(value: str, number: int) -> tuple[date, date]:
    first_text, separator, last_text = value.partition("..")
    first = _parse_iso_date(first_text, number)
    last = _parse_iso_date(last_text, number) if separator else first
    if last < first:
        raise ValueError(
            _("Line %(number)d: the range %(range)s ends before it starts.") % {"number": number, "range": value}
        )
    if (last - first).days >= _MAX_RANGE_DAYS:
        raise ValueError(
            _("Line %(number)d: the range %(range)s is longer than a year.") % {"number": number, "range": value}
        )
    return first, last


def _parse_iso_date(value: str, number: int) -> date:
    if _DATE_RE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(
        _("Line %(number)d: “%(value)s” is not a date like 2026-10-01.") % {"number": number, "value": value}
    )


def _days(first: date, last: date) -> Iterable[date]:
    for offset in range((last - first).days + 1):
        yield first + timedelta(days=offset)


_ICS_DATE_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:T\d{6}Z?)?$")
_ICS_DURATION_RE = re.compile(r"^P(?:(\d+)W|(\d+)D)$")
WORKDAY_MARKERS = ("补班", "调休上班")
"""Words in an event's SUMMARY that make it a make-up working day rather than a holiday."""


def parse_ics(text: str, *, workday_markers: Iterable[str] = WORKDAY_MARKERS) -> tuple[set[date], dict[date, int]]:
    """Read an iCalendar (.ics) holiday calendar: returns (holidays, extra working days), as
    `parse_holiday_lines` does.

    - Every all-day VEVENT (DTSTART;VALUE=DATE:20261001, or a bare 8-digit date) is a holiday from
      DTSTART up to DTEND, which is exclusive; without DTEND, a DURATION of days or weeks or else
      one day. A DTEND on or before DTSTART counts as that one day: published feeds write
      DTEND = DTSTART for single days.
    - Published Chinese calendars also list the make-up working days (补班), usually as timed
      events 09:00-18:00. An event whose SUMMARY contains one of `workday_markers` is an extra
      working day (Monday's hours) on each of its dates instead, all-day or timed.
    - Other timed events are not holidays and are skipped, as are cancelled events.
    - Folded lines (continued on the next line after a space or tab) are unfolded first. Time
      zones are not converted: dates are taken as written. Recurring events (RRULE) are refused
      rather than read as their first occurrence.

    Raises ValueError naming the line of a bad or unsupported entry.
    """
    markers = tuple(workday_markers)
    holidays: set[date] = set()
    workdays: dict[date, int] = {}
    event: dict[str, tuple[str, dict[str, str], int]] | None = None
    event_line = 0
    for number, line in _unfold(text):
        name, params, value = _split_property(line)
        if name == "BEGIN" and value.upper() == "VEVENT":
            event, event_line = {}, number
        elif name == "END" and value.upper() == "VEVENT":
            if event is None:
                raise ValueError(_("Line %(number)d: END:VEVENT without BEGIN:VEVENT.") % {"number": number})
            _read_event(event, event_line, markers, holidays, workdays)
            event = None
        elif event is not None and name:
            event.setdefault(name, (value, params, number))
    if event is not None:
        raise ValueError(_("Line %(number)d: VEVENT is not closed with END:VEVENT.") % {"number": event_line})
    return holidays, workdays


def _unfold(text: str) -> Iterable[tuple[int, str]]:
    """Logical lines with the number of the physical line each starts on (RFC 5545 section 3.1)."""
    current: str | None = None
    current_number = 0
    for number, raw in enumerate(re.split(r"\r\n|\n|\r", text.lstrip("\ufeff")), start=1):
        if raw[:1] in (" ", "\t") and current is not None:
            current += raw[1:]
            continue
        if current is not None:
            yield current_number, current
        current, current_number = raw, number
    if current is not None:
        yield current_number, current


def _split_property(line: str) -> tuple[str, dict[str, str], str]:
    """NAME;PARAM=VALUE;...:value -> (NAME, {PARAM: VALUE}, value); a colon inside quotes is not the separator."""
    in_quotes = False
    for index, char in enumerate(line):
        if char == '"':
            in_quotes = not in_quotes
        elif char == ":" and not in_quotes:
            head, value = line[:index], line[index + 1 :]
            break
    else:
        return "", {}, line
    name, *raw_params = head.split(";")
    params = {}
    for raw in raw_params:
        key, _sep, param_value = raw.partition("=")
        params[key.strip().upper()] = param_value.strip().strip('"')
    return name.strip().upper(), params, value.strip()


def _read_event(
    event: dict[str, tuple[str, dict[str, str], int]],
    event_line: int,
    markers: tuple[str, ...],
    holidays: set[date],
    workdays: dict[date, int],
) -> None:
    if "RRULE" in event:
        raise ValueError(
            _("Line %(number)d: recurring events (RRULE) are not supported; list each date.")
            % {"number": event["RRULE"][2]}
        )
    if event.get("STATUS", ("",))[0].upper() == "CANCELLED":
        return
    if "DTSTART" not in event:
        raise ValueError(_("Line %(number)d: VEVENT without DTSTART.") % {"number": event_line})
    value, params, number = event["DTSTART"]
    first = _ics_date(value, number)
    all_day = params.get("VALUE", "").upper() == "DATE" or len(value) == 8
    last = first  # a timed event counts for the date it starts on
    if all_day and "DTEND" in event:
        end_value, _params, end_number = event["DTEND"]
        last = max(first, _ics_date(end_value, end_number) - ONE_DAY)
    elif all_day and "DURATION" in event:
        duration_value, _params, duration_number = event["DURATION"]
        match = _ICS_DURATION_RE.match(duration_value.upper())
        if not match:
            raise ValueError(
                _("Line %(number)d: unsupported DURATION “%(value)s” (use days or weeks).")
                % {"number": duration_number, "value": duration_value}
            )
        days = int(match[1]) * 7 if match[1] else int(match[2])
        last = first + timedelta(days=max(days, 1) - 1)
    if (last - first).days >= _MAX_RANGE_DAYS:
        raise ValueError(_("Line %(number)d: the event is longer than a year.") % {"number": number})
    summary = event.get("SUMMARY", ("",))[0]
    if any(marker in summary for marker in markers):
        for day in _days(first, last):
            if day in holidays:
                raise ValueError(
                    _("Line %(number)d: %(day)s is also listed as a holiday.") % {"number": event_line, "day": day}
                )
            workdays[day] = 0
    elif all_day:
        for day in _days(first, last):
            if day in workdays:
                raise ValueError(
                    _("Line %(number)d: %(day)s is also listed as a working day.") % {"number": event_line, "day": day}
                )
            holidays.add(day)


def _ics_date(value: str, number: int) -> date:
    match = _ICS_DATE_RE.match(value)
    if match:
        try:
            return date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            pass
    raise ValueError(
        _("Line %(number)d: “%(value)s” is not an iCalendar date or date-time.") % {"number": number, "value": value}
    )
