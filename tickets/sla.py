"""The SLA clock: business time over a calendar of working hours, holidays and make-up days.

Pure functions over aware datetimes; nothing here touches the database or looks at the current
time (callers pass `now`). Every result is an aware datetime in UTC. The errors a calendar's
configuration can cause (time zone, weekly hours, holidays) are translated, in the language active
when they are raised (gettext); those that only a caller's mistake causes (a naive datetime, a
negative duration, a malformed pause) stay in English for the log.

How a calendar maps onto real time
----------------------------------
Working hours are wall-clock intervals in the calendar's time zone, e.g. Monday 09:00-12:00. The
business time an interval holds is the *real* time elapsed between the moment the clock on the
wall shows its start and the moment it shows its end. So:

- A 09:00-17:00 day is 8 hours on the day clocks spring forward at 02:00 too: the jump happens
  outside the interval.
- An interval that contains the jump is shorter or longer in real time: a 00:00-06:00 night shift
  in Berlin holds 5 hours on the last Sunday of March and 7 on the last Sunday of October. A
  24x7 calendar therefore counts exactly the real time elapsed.
- A wall time that happens twice (the hour repeated when clocks fall back) means its first
  occurrence; a wall time that never happens (skipped when clocks spring forward) means the moment
  the clock jumps, i.e. the first real instant after it. Both rules are monotonic, so intervals of
  the same or adjacent days never overlap and adjacent ones join without a seam (Sunday 22:00-24:00
  followed by Monday 00:00-06:00 is one continuous shift).

An interval ends on the same day: write a shift across midnight as two intervals, the first ending
at "24:00" (or 00:00, which as an end time means midnight at the end of the day).

Pauses
------
A ticket's clock stops while it waits on the customer. `elapsed_business_time` and `due_at` take
the pauses recorded so far as (begin, end) pairs, end None for a pause still open; pauses may
overlap, the union counts once.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext as _

__all__ = [
    "BusinessCalendar",
    "Pause",
    "add_business_time",
    "business_time_between",
    "due_at",
    "elapsed_business_time",
]

# The English names read in configuration ("mon-fri", "workday:sat"); messages name a day through
# Django's translated `WEEKDAYS`.
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

ZERO = timedelta(0)
ONE_DAY = timedelta(days=1)
WEEK = timedelta(days=7)
FULL_DAY = timedelta(hours=24)
_EPOCH = datetime(1970, 1, 1)
_EPOCH_UTC = _EPOCH.replace(tzinfo=UTC)
_SECOND = timedelta(seconds=1)

Interval = tuple[time, time]
"""A wall-clock interval of one day; an end of time(0) means midnight at the end of the day (24:00)."""

Pause = tuple[datetime, datetime | None]
"""A period the clock stood still: (begin, end), end None while the pause is still open."""


# --- The calendar ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BusinessCalendar:
    """Working hours of a team, in its time zone.

    - `time_zone`: an IANA name, "Asia/Shanghai", "Europe/Berlin".
    - `weekly_hours`: working intervals per weekday (0 = Monday ... 6 = Sunday, as `date.weekday()`).
      Accepts a mapping weekday -> intervals (missing days have no hours) or a sequence of seven;
      an interval is a (start, end) pair of `time` or "HH:MM" strings, or one "HH:MM-HH:MM"
      string. "24:00" (or an end of 00:00) is midnight at the end of the day. Stored normalised:
      a tuple of seven sorted tuples of (time, time).
    - `holidays`: local dates with no working hours.
    - `extra_workdays`: local dates worked like a given weekday (date -> weekday whose hours
      apply), e.g. the weekends China works to make up for a bridged public holiday. A plain
      iterable of dates means Monday's hours for each.

    Invalid input (unknown zone, overlapping or empty intervals, a date both holiday and extra
    working day) raises ValueError at construction. A calendar with no working hours at all is
    valid (extra working days borrow a weekday's hours, so it has none either); adding business time
    to it raises ValueError instead of searching forever.
    """

    time_zone: str
    weekly_hours: tuple[tuple[Interval, ...], ...]
    holidays: frozenset[date] = frozenset()
    extra_workdays: Mapping[date, int] = field(default_factory=dict, hash=False)

    # Derived in __post_init__, for the arithmetic.
    _zone: ZoneInfo = field(init=False, repr=False, compare=False, hash=False)
    _wall: tuple[tuple[tuple[timedelta, timedelta], ...], ...] = field(
        init=False, repr=False, compare=False, hash=False
    )
    _week_total: timedelta = field(init=False, repr=False, compare=False, hash=False)
    _special_days: tuple[date, ...] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalise the fields once, here
        try:
            zone = ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise ValueError(_("Unknown time zone: “%(zone)s”.") % {"zone": self.time_zone}) from None
        weekly = _normalise_week(self.weekly_hours)
        holidays = frozenset(_check_date(day, "holiday") for day in self.holidays)
        extra = _normalise_extra_workdays(self.extra_workdays)
        both = sorted(holidays & extra.keys())
        if both:
            raise ValueError(_("%(day)s is both a holiday and an extra working day.") % {"day": both[0].isoformat()})
        wall = tuple(tuple((_offset(start), _offset(end, is_end=True)) for start, end in day) for day in weekly)
        set_(self, "weekly_hours", weekly)
        set_(self, "holidays", holidays)
        set_(self, "extra_workdays", MappingProxyType(extra))
        set_(self, "_zone", zone)
        set_(self, "_wall", wall)
        set_(self, "_week_total", sum((end - start for day in wall for start, end in day), ZERO))
        set_(self, "_special_days", tuple(sorted(holidays | extra.keys())))

    @classmethod
    def twenty_four_seven(cls, time_zone: str = "UTC") -> BusinessCalendar:
        """Always open: business time is real elapsed time, DST jumps included."""
        return cls(time_zone, tuple(((time(0), time(0)),) for _day in range(7)))

    @classmethod
    def office_hours(
        cls,
        time_zone: str,
        intervals: Iterable[str | tuple[time | str, time | str]],
        *,
        weekdays: Iterable[int] = range(5),
        holidays: Iterable[date] = (),
        extra_workdays: Mapping[date, int] | Iterable[date] = (),
    ) -> BusinessCalendar:
        """The same intervals on each of `weekdays` (Monday to Friday unless told otherwise)."""
        intervals = list(intervals)
        return cls(
            time_zone,
            dict.fromkeys(weekdays, intervals),  # type: ignore[arg-type]  # normalised in __post_init__
            frozenset(holidays),
            extra_workdays,  # type: ignore[arg-type]
        )

    @property
    def zone(self) -> ZoneInfo:
        return self._zone

    def working_intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """The real (UTC) spans of the working hours of one local date; empty on holidays."""
        return list(_day_spans(self, day))


def _normalise_week(value: object) -> tuple[tuple[Interval, ...], ...]:
    if isinstance(value, Mapping):
        for key in value:
            _check_weekday(key)
        days = [value.get(weekday, ()) for weekday in range(7)]
    elif isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 7:
        days = list(value)
    else:
        raise ValueError(_("Weekly hours must be a mapping weekday -> intervals or a sequence of seven days."))
    week = []
    for weekday, intervals in enumerate(days):
        name = WEEKDAYS[weekday]  # translated when a message is formatted
        if isinstance(intervals, str | tuple) and _looks_like_one_interval(intervals):
            intervals = [intervals]
        parsed = sorted(_parse_interval(item, name) for item in intervals)
        for (start_a, end_a), (start_b, end_b) in zip(parsed, parsed[1:], strict=False):
            if _offset(start_b) < _offset(end_a, is_end=True):
                raise ValueError(
                    _("%(day)s: %(first)s overlaps %(second)s.")
                    % {
                        "day": name,
                        "first": _format_interval(start_a, end_a),
                        "second": _format_interval(start_b, end_b),
                    }
                )
        week.append(tuple(parsed))
    return tuple(week)


def _looks_like_one_interval(value: str | tuple) -> bool:
    """A bare "09:00-12:00" or (time, time) given where a list of intervals was expected."""
    if isinstance(value, str):
        return True
    return len(value) == 2 and all(isinstance(part, time | str) and not _INTERVAL_RE.match(str(part)) for part in value)


_TIME_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")
_INTERVAL_RE = re.compile(r"^\s*(\d{1,2}:\d{2}(?::\d{2})?)\s*[-–~]\s*(\d{1,2}:\d{2}(?::\d{2})?)\s*$")


def _parse_interval(item: object, day_name) -> Interval:
    if isinstance(item, str):
        match = _INTERVAL_RE.match(item)
        if not match:
            raise ValueError(
                _("%(day)s: “%(value)s” is not an interval like 09:00-12:00.") % {"day": day_name, "value": item}
            )
        start, end = match.groups()
    elif isinstance(item, tuple | list) and len(item) == 2:
        start, end = item
    else:
        raise ValueError(_("%(day)s: “%(value)s” is not an interval (start, end).") % {"day": day_name, "value": item})
    start_time = _parse_time(start, day_name, allow_24=False)
    end_time = _parse_time(end, day_name, allow_24=True)
    if _offset(end_time, is_end=True) <= _offset(start_time):
        raise ValueError(
            _(
                "%(day)s: interval %(interval)s does not end after it starts "
                "(split a shift across midnight into two days, the first ending at 24:00)."
            )
            % {"day": day_name, "interval": _format_interval(start_time, end_time)}
        )
    return start_time, end_time


def _parse_time(value: object, day_name, *, allow_24: bool) -> time:
    if isinstance(value, time):
        if value.tzinfo is not None:
            raise ValueError(_("%(day)s: working hours are wall-clock times, without a time zone.") % {"day": day_name})
        return value
    if isinstance(value, str):
        match = _TIME_RE.match(value)
        if match:
            hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
            if allow_24 and (hour, minute, second) == (24, 0, 0):
                return time(0)
            if hour < 24 and minute < 60 and second < 60:
                return time(hour, minute, second)
    raise ValueError(_("%(day)s: “%(value)s” is not a time of day like 09:00.") % {"day": day_name, "value": value})


def _offset(moment: time, *, is_end: bool = False) -> timedelta:
    """Time since local midnight; an end time of 00:00 is 24:00."""
    offset = timedelta(hours=moment.hour, minutes=moment.minute, seconds=moment.second, microseconds=moment.microsecond)
    return FULL_DAY if is_end and not offset else offset


def _format_interval(start: time, end: time) -> str:
    def fmt(moment: time, is_end: bool) -> str:
        if is_end and moment == time(0):
            return "24:00"
        return moment.isoformat(timespec="seconds" if moment.second or moment.microsecond else "minutes")

    return f"{fmt(start, False)}-{fmt(end, True)}"


def _check_weekday(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 6:
        raise ValueError(_("A weekday is 0 (Monday) to 6 (Sunday), not “%(value)s”.") % {"value": value})
    return value


def _check_date(value: object, what: str) -> date:
    """`value` if it is a date; `what` is "holiday" or "extra working day"."""
    if isinstance(value, datetime) or not isinstance(value, date):
        if what == "holiday":
            message = _("A holiday is a date, not “%(value)s”.")
        else:
            message = _("An extra working day is a date, not “%(value)s”.")
        raise ValueError(message % {"value": value})
    return value


def _normalise_extra_workdays(value: object) -> dict[date, int]:
    if isinstance(value, Mapping):
        pairs = value.items()
    else:
        pairs = ((day, 0) for day in value)  # type: ignore[attr-defined]
    return {_check_date(day, "extra working day"): _check_weekday(weekday) for day, weekday in pairs}


# --- Wall clock to real time -------------------------------------------------------------------


def _instant(calendar: BusinessCalendar, day: date, offset: timedelta) -> datetime:
    """The real moment (UTC) the wall clock of `calendar` shows `offset` past midnight of `day`.

    A repeated wall time means its first occurrence; a skipped one the moment the clock jumps.
    """
    zone = calendar._zone
    naive = datetime.combine(day, time()) + offset
    moment = naive.replace(tzinfo=zone).astimezone(UTC)  # fold=0: the first occurrence
    if moment.astimezone(zone).replace(tzinfo=None) == naive:
        return moment
    return _gap_end(zone, naive)


def _gap_end(zone: ZoneInfo, naive: datetime) -> datetime:
    """The instant clocks jumped over the non-existent local time `naive`.

    In a gap, fold=0 reads the offset in force before the jump and fold=1 the one after (PEP 495),
    so the jump lies between the two readings; tz database transitions fall on whole seconds, so a
    bisection over seconds finds it in under 20 steps. Only interval boundaries that fall inside a
    skipped hour get here.
    """
    before = naive.replace(tzinfo=zone, fold=0).utcoffset()
    after = naive.replace(tzinfo=zone, fold=1).utcoffset()
    assert before is not None and after is not None
    low = (naive - after - _EPOCH) // _SECOND  # whole seconds since the epoch, before the jump
    high = -((_EPOCH - (naive - before)) // _SECOND)  # rounded up: at or after the jump
    while high - low > 1:
        middle = (low + high) // 2
        if (_EPOCH_UTC + middle * _SECOND).astimezone(zone).utcoffset() == after:
            high = middle
        else:
            low = middle
    return _EPOCH_UTC + high * _SECOND


def _day_spans(calendar: BusinessCalendar, day: date) -> Iterable[tuple[datetime, datetime]]:
    """Real spans of the working hours of a local date, in order, not overlapping."""
    if day in calendar.holidays:
        return ()
    weekday = calendar.extra_workdays.get(day, day.weekday())
    return [(_instant(calendar, day, start), _instant(calendar, day, end)) for start, end in calendar._wall[weekday]]


def _plain_week(calendar: BusinessCalendar, first_day: date) -> bool:
    """Whether the seven days from `first_day` hold exactly the weekly hours in real time.

    True when none of them is a holiday or an extra working day and the UTC offset is the same at
    all eight local midnights (no clock change in between; zones do not change twice in a day).
    Such a week can be skipped as a whole: its business time is the calendar's weekly total.
    """
    index = bisect_left(calendar._special_days, first_day)
    if index < len(calendar._special_days) and calendar._special_days[index] < first_day + WEEK:
        return False
    zone = calendar._zone
    midnight = datetime.combine(first_day, time())
    offset = zone.utcoffset(midnight)
    return all(zone.utcoffset(midnight + k * ONE_DAY) == offset for k in range(1, 8))


def _midnight(calendar: BusinessCalendar, day: date) -> datetime:
    return _instant(calendar, day, ZERO)


def _local_date(calendar: BusinessCalendar, moment: datetime) -> date:
    return moment.astimezone(calendar._zone).date()


def _as_utc(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, not {value!r}.")
    return value.astimezone(UTC)


# --- Business time -----------------------------------------------------------------------------


def add_business_time(calendar: BusinessCalendar, start: datetime, duration: timedelta) -> datetime:
    """The moment (UTC) at which `duration` of business time has elapsed since `start`.

    Returns the earliest such moment: a duration that runs out exactly at the end of a working
    interval answers that end, not the next opening. Likewise a zero duration answers `start`
    itself even outside working hours: "nothing left to spend" is reached at once, and this keeps
    add(add(s, a), b) == add(s, a + b) for every a and b.

    Walks day by day through the first days and any week with a holiday, an extra working day or a
    clock change; plain weeks in between are skipped whole, so 2,000 business hours cost about 50
    steps. Raises ValueError for a negative duration, or a calendar without working hours.
    """
    start = _as_utc(start, "start")
    if not isinstance(duration, timedelta) or duration < ZERO:
        raise ValueError(f"duration must be a timedelta of zero or more, not {duration!r}.")
    if not duration:
        return start
    week_total = calendar._week_total
    if week_total == ZERO:
        raise ValueError(
            _("The calendar has no working hours: %(duration)s of business time can never elapse.")
            % {"duration": duration}
        )
    remaining = duration
    day = _local_date(calendar, start) - ONE_DAY  # yesterday's hours may reach past midnight in a gap
    try:
        while True:
            if remaining > week_total and _plain_week(calendar, day) and _midnight(calendar, day) >= start:
                remaining -= week_total
                day += WEEK
                while remaining > week_total and _plain_week(calendar, day):
                    remaining -= week_total
                    day += WEEK
                continue
            for span_start, span_end in _day_spans(calendar, day):
                if span_end <= start:
                    continue
                span_start = max(span_start, start)
                available = span_end - span_start
                if remaining <= available:
                    return span_start + remaining
                remaining -= available
            day += ONE_DAY
    except OverflowError:
        raise ValueError(_("The result lies beyond the supported date range.")) from None


def business_time_between(calendar: BusinessCalendar, start: datetime, end: datetime) -> timedelta:
    """Business time elapsed from `start` to `end`; zero when `end` is not after `start`.

    The inverse of `add_business_time`: business_time_between(s, add_business_time(s, d)) == d.
    """
    start = _as_utc(start, "start")
    end = _as_utc(end, "end")
    if end <= start:
        return ZERO
    total = ZERO
    day = _local_date(calendar, start) - ONE_DAY
    try:
        while True:
            midnight = _midnight(calendar, day)
            if midnight >= end:
                return total
            if (
                calendar._week_total
                and midnight >= start
                and _plain_week(calendar, day)
                and _midnight(calendar, day + WEEK) <= end
            ):
                total += calendar._week_total
                day += WEEK
                continue
            for span_start, span_end in _day_spans(calendar, day):
                overlap = min(span_end, end) - max(span_start, start)
                if overlap > ZERO:
                    total += overlap
            day += ONE_DAY
    except OverflowError:
        raise ValueError(_("The period lies beyond the supported date range.")) from None


# --- Pauses ------------------------------------------------------------------------------------


def _check_pause(pause: object, number: int) -> tuple[datetime, datetime | None]:
    """A pause as (begin, end|None) in UTC, or ValueError naming the pause's position (from 1)."""
    try:
        begin, end = pause  # type: ignore[misc]
    except (TypeError, ValueError):
        raise ValueError(f"Pause {number} is not a (begin, end) pair: {pause!r}.") from None
    begin = _as_utc(begin, f"Pause {number}'s begin")
    if end is None:
        return begin, None
    end = _as_utc(end, f"Pause {number}'s end")
    if end < begin:
        raise ValueError(f"Pause {number} ends before it begins.")
    return begin, end


def _merge_pauses(pauses: Iterable[Pause], low: datetime, high: datetime) -> list[tuple[datetime, datetime]]:
    """The union of the pauses within [low, high], as sorted disjoint spans; open pauses run to high."""
    spans = []
    for number, pause in enumerate(pauses, start=1):
        begin, end = _check_pause(pause, number)
        begin, end = max(begin, low), min(high if end is None else end, high)
        if end > begin:
            spans.append((begin, end))
    spans.sort()
    merged: list[tuple[datetime, datetime]] = []
    for begin, end in spans:
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((begin, end))
    return merged


def elapsed_business_time(
    calendar: BusinessCalendar, start: datetime, now: datetime, pauses: Iterable[Pause] = ()
) -> timedelta:
    """Business time from `start` to `now` during which the clock ran.

    Paused periods are left out; overlapping pauses count once, an open pause (end None) runs to
    `now`, and the parts of pauses outside [start, now] do not matter.
    """
    start = _as_utc(start, "start")
    now = _as_utc(now, "now")
    if now <= start:
        return ZERO
    elapsed = business_time_between(calendar, start, now)
    for begin, end in _merge_pauses(pauses, start, now):
        elapsed -= business_time_between(calendar, begin, end)
    return elapsed


def due_at(
    calendar: BusinessCalendar,
    start: datetime,
    target: timedelta,
    pauses: Iterable[Pause],
    now: datetime,
) -> datetime | None:
    """When the clock started at `start` reaches `target`, given the pauses recorded up to `now`.

    None while a pause is open and the target was not reached before it began: the clock is stopped
    and nobody knows yet for how long. A target already reached before the open pause began keeps
    its (past) due moment, so a breach stays a breach while the ticket waits on the customer.

    Only what happened up to `now` counts: pauses (or their parts) after `now` are ignored, and the
    clock is taken to run from `now` on. For every answer t, elapsed_business_time(start, t,
    pauses) == target as long as the pauses lie before t.
    """
    start = _as_utc(start, "start")
    now = _as_utc(now, "now")
    if not isinstance(target, timedelta) or target < ZERO:
        raise ValueError(f"target must be a timedelta of zero or more, not {target!r}.")
    pauses = [_check_pause(pause, number) for number, pause in enumerate(pauses, start=1)]
    open_begins = [begin for begin, end in pauses if end is None and begin <= now]
    stopped_at = max(min(open_begins), start) if open_begins else None
    closed = [(begin, end) for begin, end in pauses if end is not None]
    limit = max(stopped_at if stopped_at is not None else now, start)
    cursor = start
    remaining = target
    for begin, end in _merge_pauses(closed, start, limit):
        available = business_time_between(calendar, cursor, begin)
        if remaining <= available:
            due = add_business_time(calendar, cursor, remaining)
            break
        remaining -= available
        cursor = end
    else:
        due = add_business_time(calendar, cursor, remaining)
    if stopped_at is not None and due > stopped_at:
        return None
    return due
