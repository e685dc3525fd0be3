"""The SLA clock (tickets.sla): business time over working hours, holidays, make-up days, DST and pauses.

Concrete cases first (Shanghai office hours around China's 2026 public holidays, Berlin night
shifts across both clock changes, 24x7), then the properties every calendar must keep (hypothesis),
then the holiday-list parsers.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tickets import sla
from tickets.holidays import parse_holiday_lines, parse_ics
from tickets.sla import (
    BusinessCalendar,
    add_business_time,
    business_time_between,
    due_at,
    elapsed_business_time,
)

SHANGHAI_ZONE = ZoneInfo("Asia/Shanghai")
BERLIN_ZONE = ZoneInfo("Europe/Berlin")
H = timedelta(hours=1)
M = timedelta(minutes=1)

# China's 2026 public holidays and make-up working days (State Council notice of November 2025).
CHINA_2026 = """\
# 2026 public holidays, mainland China
2026-01-01..2026-01-03 holiday 元旦
2026-01-04 workday 元旦补班
2026-02-14 workday 春节补班
2026-02-15..2026-02-23 holiday 春节
2026-02-28 workday 春节补班
2026-04-04..2026-04-06 holiday 清明节
2026-05-01..2026-05-05 holiday 劳动节
2026-05-09 workday 劳动节补班
2026-06-19..2026-06-21 holiday 端午节
2026-09-25..2026-09-27 holiday 中秋节
2026-09-20 workday 国庆节补班
2026-10-01..2026-10-07 holiday 国庆节
2026-10-10 workday 国庆节补班
"""
HOLIDAYS_2026, WORKDAYS_2026 = parse_holiday_lines(CHINA_2026)

SHANGHAI = BusinessCalendar.office_hours(
    "Asia/Shanghai",
    ["09:00-12:00", "13:00-18:00"],
    holidays=HOLIDAYS_2026,
    extra_workdays=WORKDAYS_2026,
)
SHANGHAI_PLAIN = BusinessCalendar.office_hours("Asia/Shanghai", ["09:00-12:00", "13:00-18:00"])
# Office hours on weekdays, a night shift from Saturday 22:00 to Sunday 06:00: the shift contains
# both of Berlin's clock changes (Sunday 02:00 -> 03:00 in March, 03:00 -> 02:00 in October).
BERLIN_SHIFTS = BusinessCalendar(
    "Europe/Berlin",
    {0: ["09:00-17:00"], 1: ["09:00-17:00"], 2: ["09:00-17:00"], 3: ["09:00-17:00"], 4: ["09:00-17:00"]}
    | {5: ["22:00-24:00"], 6: ["00:00-06:00"]},
)
# Interval boundaries inside the skipped and the repeated hour.
BERLIN_ODD = BusinessCalendar(
    "Europe/Berlin",
    {0: [(time(9), time(17))], 6: ["02:30-02:45", "02:45-05:00", "22:00-24:00"]},
)
BERLIN_ALL_WEEK = BusinessCalendar.office_hours("Europe/Berlin", ["09:00-17:00"], weekdays=range(7))
BERLIN_24X7 = BusinessCalendar.twenty_four_seven("Europe/Berlin")
# Chile changes clocks at midnight: 2025-09-07 00:00 never happens, 2025-04-05 23:00-24:00 twice.
SANTIAGO_24X7 = BusinessCalendar.twenty_four_seven("America/Santiago")


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI_ZONE)


def be(*args: int, fold: int = 0) -> datetime:
    """Berlin wall time, as UTC: comparing a time of the repeated hour across zones is always False."""
    return datetime(*args, tzinfo=BERLIN_ZONE, fold=fold).astimezone(UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def is_china_workday_2026(day: date) -> bool:
    return day in WORKDAYS_2026 or (day.weekday() < 5 and day not in HOLIDAYS_2026)


# --- Shanghai office hours and China's holidays ---------------------------------------------------


@pytest.mark.parametrize(
    "start, duration, expected",
    [
        pytest.param(sh(2026, 3, 6, 17), 2 * H, sh(2026, 3, 9, 10), id="friday-evening-to-monday"),
        pytest.param(sh(2026, 3, 6, 17), 5 * H, sh(2026, 3, 9, 14), id="over-the-weekend-and-lunch"),
        pytest.param(sh(2026, 3, 6, 11), 3 * H, sh(2026, 3, 6, 15), id="across-lunch"),
        pytest.param(sh(2026, 3, 6, 11, 30), H, sh(2026, 3, 6, 13, 30), id="lunch-not-counted"),
        pytest.param(sh(2026, 3, 6, 12, 15), H, sh(2026, 3, 6, 14), id="start-in-lunch"),
        pytest.param(sh(2026, 3, 9, 9), 3 * H, sh(2026, 3, 9, 12), id="ends-at-the-close-not-the-next-opening"),
        pytest.param(sh(2026, 3, 9, 7), 30 * M, sh(2026, 3, 9, 9, 30), id="start-before-opening"),
        pytest.param(sh(2026, 3, 9, 20), H, sh(2026, 3, 10, 10), id="start-at-night"),
        pytest.param(sh(2026, 3, 7, 10), H, sh(2026, 3, 9, 10), id="start-on-saturday"),
        pytest.param(sh(2026, 9, 30, 17), 2 * H, sh(2026, 10, 8, 10), id="national-day"),
        pytest.param(sh(2026, 10, 3, 10), H, sh(2026, 10, 8, 10), id="start-on-a-holiday"),
        pytest.param(sh(2026, 9, 18, 17), 2 * H, sh(2026, 9, 20, 10), id="make-up-sunday"),
        pytest.param(sh(2026, 10, 9, 17, 30), H, sh(2026, 10, 10, 9, 30), id="make-up-saturday"),
        pytest.param(sh(2026, 10, 8, 9), 24 * H, sh(2026, 10, 10, 18), id="after-the-holiday-a-make-up-day"),
        pytest.param(sh(2026, 10, 8, 9), 25 * H, sh(2026, 10, 12, 10), id="then-monday"),
        pytest.param(sh(2026, 9, 24, 17), 2 * H, sh(2026, 9, 28, 10), id="mid-autumn-bridge"),
        pytest.param(sh(2026, 2, 13, 17), 9 * H, sh(2026, 2, 14, 18), id="spring-festival-make-up-day"),
        pytest.param(sh(2026, 2, 13, 17), 10 * H, sh(2026, 2, 24, 10), id="spring-festival"),
        pytest.param(utc(2026, 3, 6, 9), 2 * H, sh(2026, 3, 9, 10), id="start-given-in-utc"),
    ],
)
def test_shanghai_office_hours(start, duration, expected):
    due = add_business_time(SHANGHAI, start, duration)
    assert due == expected
    assert due.tzinfo is UTC
    assert business_time_between(SHANGHAI, start, due) == duration


def test_a_year_in_shanghai_holds_eight_hours_per_working_day():
    first, last = date(2026, 1, 1), date(2026, 12, 31)
    working_days = sum(is_china_workday_2026(first + timedelta(days=n)) for n in range((last - first).days + 1))
    assert working_days == 248  # 261 weekdays - 19 on holiday + 6 make-up days
    assert business_time_between(SHANGHAI, sh(2026, 1, 1), sh(2027, 1, 1)) == working_days * 8 * H


def test_2000_business_hours_skip_whole_weeks(monkeypatch):
    calls = []
    day_spans = sla._day_spans
    monkeypatch.setattr(sla, "_day_spans", lambda calendar, day: calls.append(day) or day_spans(calendar, day))

    # 2,000 h = 50 weeks of 40 h: from Monday 2025-01-06 09:00 to the close of the 50th Friday.
    assert add_business_time(SHANGHAI_PLAIN, sh(2025, 1, 6, 9), 2000 * H) == sh(2025, 12, 19, 18)
    assert len(calls) < 20  # weeks skipped whole, not 350 days (let alone 120,000 minutes)

    calls.clear()
    assert business_time_between(SHANGHAI_PLAIN, sh(2025, 1, 6, 9), sh(2025, 12, 19, 18)) == 2000 * H
    assert len(calls) < 20


def test_2000_business_hours_through_a_year_of_chinese_holidays(monkeypatch):
    calls = []
    day_spans = sla._day_spans
    monkeypatch.setattr(sla, "_day_spans", lambda calendar, day: calls.append(day) or day_spans(calendar, day))

    # 2,000 h = 250 working days of 8 h, counted one by one from Monday 2026-01-05: 247 in 2026,
    # then Friday 1 January 2027 (a holiday the calendar does not list), Monday 4 and Tuesday 5.
    day, counted = date(2026, 1, 5), 0
    while True:
        counted += is_china_workday_2026(day)
        if counted == 250:
            break
        day += timedelta(days=1)
    assert day == date(2027, 1, 5)
    assert add_business_time(SHANGHAI, sh(2026, 1, 5, 9), 2000 * H) == sh(2027, 1, 5, 18)
    assert len(calls) < 100  # weeks with a holiday or make-up day day by day (80 days), the others skipped


# --- Berlin: daylight saving time ------------------------------------------------------------------


@pytest.mark.parametrize(
    "calendar, start, duration, expected",
    [
        # Last Sunday of March: 02:00 CET -> 03:00 CEST. The 00:00-06:00 shift holds 5 real hours.
        pytest.param(BERLIN_SHIFTS, be(2026, 3, 28, 22), 7 * H, be(2026, 3, 29, 6), id="march-shift-is-5h"),
        pytest.param(BERLIN_SHIFTS, be(2026, 3, 28, 22), 7.5 * H, be(2026, 3, 30, 9, 30), id="march-to-monday"),
        pytest.param(BERLIN_SHIFTS, be(2026, 3, 29, 1), 2 * H, be(2026, 3, 29, 4), id="march-across-the-jump"),
        # Last Sunday of October: 03:00 CEST -> 02:00 CET. The shift holds 7 real hours.
        pytest.param(BERLIN_SHIFTS, be(2026, 10, 24, 22), 8 * H, be(2026, 10, 25, 5), id="october-shift-is-7h"),
        pytest.param(BERLIN_SHIFTS, be(2026, 10, 24, 22), 9 * H, be(2026, 10, 25, 6), id="october-whole-shift"),
        pytest.param(
            BERLIN_SHIFTS, be(2026, 10, 25, 2, 30), H, be(2026, 10, 25, 2, 30, fold=1), id="october-repeated-hour"
        ),
        # Office hours away from the jump keep their 8 hours on the day the clocks change.
        pytest.param(BERLIN_ALL_WEEK, be(2026, 3, 28, 16), 2 * H, be(2026, 3, 29, 10), id="march-office-day"),
        pytest.param(BERLIN_ALL_WEEK, be(2026, 3, 29, 9), 8 * H, be(2026, 3, 29, 17), id="march-office-day-8h"),
        pytest.param(BERLIN_ALL_WEEK, be(2026, 10, 25, 9), 8 * H, be(2026, 10, 25, 17), id="october-office-day-8h"),
        # A boundary in the skipped hour is the moment of the jump; in the repeated hour, its first pass.
        pytest.param(BERLIN_ODD, be(2026, 3, 29, 0), H, be(2026, 3, 29, 4), id="boundary-in-the-gap"),
        pytest.param(BERLIN_ODD, be(2026, 10, 25, 0), H, be(2026, 10, 25, 2, 30, fold=1), id="boundary-in-the-fold"),
        # 24x7 counts real time: a day on the clock is 23 h in March, 25 h in October.
        pytest.param(BERLIN_24X7, be(2026, 3, 28, 12), 24 * H, be(2026, 3, 29, 13), id="24x7-march"),
        pytest.param(BERLIN_24X7, be(2026, 10, 24, 12), 24 * H, be(2026, 10, 25, 11), id="24x7-october"),
        pytest.param(BERLIN_24X7, be(2026, 1, 1), 2000 * H, utc(2026, 3, 25, 7), id="24x7-2000h"),
    ],
)
def test_berlin_across_clock_changes(calendar, start, duration, expected):
    due = add_business_time(calendar, start, duration)
    assert due == expected
    assert business_time_between(calendar, start, due) == duration


@pytest.mark.parametrize(
    "calendar, day, hours",
    [
        (BERLIN_SHIFTS, date(2026, 3, 29), [5]),
        (BERLIN_SHIFTS, date(2026, 10, 25), [7]),
        (BERLIN_SHIFTS, date(2026, 4, 5), [6]),
        (BERLIN_ALL_WEEK, date(2026, 3, 29), [8]),
        (BERLIN_ALL_WEEK, date(2026, 10, 25), [8]),
        (BERLIN_ODD, date(2026, 3, 29), [0, 2, 2]),  # 02:30-02:45 never happens, 02:45-05:00 runs from 03:00
        (BERLIN_ODD, date(2026, 10, 25), [0.25, 3.25, 2]),  # 02:45 CEST to 05:00 CET
        (BERLIN_24X7, date(2026, 3, 29), [23]),
        (BERLIN_24X7, date(2026, 10, 25), [25]),
        (SANTIAGO_24X7, date(2025, 9, 7), [23]),  # midnight never happens: the day starts at 01:00
        (SANTIAGO_24X7, date(2025, 4, 5), [25]),  # the day ends 23:00-24:00 twice
    ],
)
def test_an_interval_holds_the_real_time_between_its_wall_clock_ends(calendar, day, hours):
    assert [end - start for start, end in calendar.working_intervals(day)] == [h * H for h in hours]


def test_24x7_between_is_real_elapsed_time_across_the_clock_changes():
    assert business_time_between(BERLIN_24X7, be(2026, 3, 28, 12), be(2026, 3, 29, 12)) == 23 * H
    assert business_time_between(BERLIN_24X7, be(2026, 10, 24, 12), be(2026, 10, 25, 12)) == 25 * H
    assert business_time_between(BERLIN_24X7, be(2026, 1, 1), be(2027, 1, 1)) == 365 * 24 * H


def test_a_berlin_year_of_office_days_is_eight_hours_each_whatever_the_clocks_do():
    first = date(2026, 1, 1)
    weekdays = sum((first + timedelta(days=n)).weekday() < 5 for n in range(365))
    office = BusinessCalendar.office_hours("Europe/Berlin", ["09:00-17:00"])
    assert business_time_between(office, be(2026, 1, 1), be(2027, 1, 1)) == weekdays * 8 * H


# --- Zero, negative, edge input -------------------------------------------------------------------


@pytest.mark.parametrize(
    "start",
    [
        pytest.param(sh(2026, 3, 9, 10), id="inside-hours"),
        pytest.param(sh(2026, 3, 9, 22), id="at-night"),
        pytest.param(sh(2026, 3, 9, 12, 30), id="at-lunch"),
        pytest.param(sh(2026, 10, 3, 10), id="on-a-holiday"),
    ],
)
def test_zero_duration_answers_the_start_itself(start):
    due = add_business_time(SHANGHAI, start, timedelta(0))
    assert due == start
    assert due.tzinfo is UTC


def test_between_is_zero_when_the_end_is_not_after_the_start():
    assert business_time_between(SHANGHAI, sh(2026, 3, 9, 11), sh(2026, 3, 9, 10)) == timedelta(0)
    assert business_time_between(SHANGHAI, sh(2026, 3, 9, 11), sh(2026, 3, 9, 11)) == timedelta(0)


def test_refuses_naive_datetimes_and_negative_durations():
    with pytest.raises(ValueError, match="aware"):
        add_business_time(SHANGHAI, datetime(2026, 3, 9, 10), H)
    with pytest.raises(ValueError, match="aware"):
        business_time_between(SHANGHAI, sh(2026, 3, 9, 10), datetime(2026, 3, 9, 11))
    with pytest.raises(ValueError, match="zero or more"):
        add_business_time(SHANGHAI, sh(2026, 3, 9, 10), -H)


def test_a_calendar_without_working_hours_refuses_instead_of_searching_forever():
    closed = BusinessCalendar("Asia/Shanghai", {})
    with pytest.raises(ValueError, match="no working hours"):
        add_business_time(closed, sh(2026, 3, 9, 10), H)
    assert business_time_between(closed, sh(2026, 1, 1), sh(2027, 1, 1)) == timedelta(0)
    assert add_business_time(closed, sh(2026, 3, 9, 10), timedelta(0)) == sh(2026, 3, 9, 10)

    # An extra working day borrows a weekday's hours: none either.
    with_extra_day = BusinessCalendar("Asia/Shanghai", [(), (), (), (), (), (), ()], extra_workdays=[date(2026, 3, 14)])
    assert with_extra_day.working_intervals(date(2026, 3, 14)) == []
    with pytest.raises(ValueError, match="no working hours"):
        add_business_time(with_extra_day, sh(2026, 3, 9), H)


def test_extra_working_days_take_the_hours_of_the_weekday_they_name():
    calendar = BusinessCalendar(
        "Asia/Shanghai",
        {0: ["09:00-18:00"], 4: ["09:00-12:00"]},
        extra_workdays={date(2026, 3, 14): 4, date(2026, 3, 15): 0},
    )
    assert [(s.astimezone(SHANGHAI_ZONE).time(), e - s) for s, e in calendar.working_intervals(date(2026, 3, 14))] == [
        (time(9), 3 * H)
    ]
    assert [e - s for s, e in calendar.working_intervals(date(2026, 3, 15))] == [9 * H]
    assert calendar.working_intervals(date(2026, 3, 17)) == []  # a Tuesday, no hours
    default_monday = BusinessCalendar("Asia/Shanghai", {0: ["09:00-18:00"]}, extra_workdays=[date(2026, 3, 14)])
    assert default_monday.extra_workdays == {date(2026, 3, 14): 0}


def test_a_calendar_is_a_frozen_hashable_value():
    again = BusinessCalendar.office_hours(
        "Asia/Shanghai", ["09:00-12:00", "13:00-18:00"], holidays=HOLIDAYS_2026, extra_workdays=WORKDAYS_2026
    )
    assert again == SHANGHAI
    assert hash(again) == hash(SHANGHAI)
    assert SHANGHAI.weekly_hours[0] == ((time(9), time(12)), (time(13), time(18)))
    assert SHANGHAI.weekly_hours[5] == ()
    with pytest.raises(AttributeError):
        SHANGHAI.time_zone = "UTC"  # type: ignore[misc]
    with pytest.raises(TypeError):
        SHANGHAI.extra_workdays[date(2026, 3, 14)] = 0  # type: ignore[index]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        pytest.param({"time_zone": "Mars/Olympus"}, "Unknown time zone", id="unknown-zone"),
        pytest.param({"weekly_hours": {0: ["09:00-12:00", "11:00-13:00"]}}, "Monday: 09:00-12:00 overlaps 11:00-13:00"),
        pytest.param({"weekly_hours": {6: ["22:00-23:00", "00:00-24:00"]}}, "Sunday: 00:00-24:00 overlaps 22:00-23:00"),
        pytest.param({"weekly_hours": {0: ["12:00-09:00"]}}, "does not end after it starts", id="backwards"),
        pytest.param({"weekly_hours": {0: ["22:00-06:00"]}}, "split a shift across midnight", id="overnight"),
        pytest.param({"weekly_hours": {0: ["09:00-09:00"]}}, "does not end after it starts", id="empty"),
        pytest.param({"weekly_hours": {0: ["25:00-26:00"]}}, "not a time of day", id="bad-time"),
        pytest.param({"weekly_hours": {0: ["nine to five"]}}, "not an interval", id="bad-interval"),
        pytest.param({"weekly_hours": {0: [(time(9, tzinfo=UTC), time(17))]}}, "without a time zone", id="aware"),
        pytest.param({"weekly_hours": {7: ["09:00-17:00"]}}, "0 \\(Monday\\) to 6 \\(Sunday\\)", id="weekday-7"),
        pytest.param({"weekly_hours": [["09:00-17:00"]] * 5}, "sequence of seven", id="five-days"),
        pytest.param({"holidays": {date(2026, 3, 9)}, "extra_workdays": {date(2026, 3, 9): 0}}, "both a holiday"),
        pytest.param({"extra_workdays": {date(2026, 3, 14): 9}}, "0 \\(Monday\\) to 6", id="extra-weekday-9"),
        pytest.param({"holidays": {datetime(2026, 3, 9, tzinfo=UTC)}}, "is a date", id="holiday-datetime"),
    ],
)
def test_invalid_calendars_are_refused_with_a_clear_message(kwargs, message):
    arguments = {"time_zone": "Asia/Shanghai", "weekly_hours": {0: ["09:00-17:00"]}} | kwargs
    with pytest.raises(ValueError, match=message):
        BusinessCalendar(**arguments)


def test_intervals_may_touch_and_be_given_in_any_order_or_form():
    calendar = BusinessCalendar(
        "Asia/Shanghai", {0: ["13:00-18:00", ("12:00", "13:00"), (time(9), time(12))], 1: "09:00-17:00"}
    )
    assert calendar.weekly_hours[0] == ((time(9), time(12)), (time(12), time(13)), (time(13), time(18)))
    assert calendar.weekly_hours[1] == ((time(9), time(17)),)
    assert add_business_time(calendar, sh(2026, 3, 9, 11), 2 * H) == sh(2026, 3, 9, 13)


# --- Pauses ----------------------------------------------------------------------------------------

MONDAY = (2026, 3, 9)


def test_elapsed_time_leaves_out_overlapping_pauses_once():
    start, now = sh(*MONDAY, 9), sh(*MONDAY, 15)
    assert elapsed_business_time(SHANGHAI, start, now, []) == 5 * H
    overlapping = [(sh(*MONDAY, 10), sh(*MONDAY, 11)), (sh(*MONDAY, 10, 30), sh(*MONDAY, 11, 30))]
    assert elapsed_business_time(SHANGHAI, start, now, overlapping) == 3.5 * H
    nested = [(sh(*MONDAY, 10), sh(*MONDAY, 14)), (sh(*MONDAY, 10, 30), sh(*MONDAY, 11))]
    assert elapsed_business_time(SHANGHAI, start, now, nested) == 2 * H  # 09-10 and 14-15; lunch was no work anyway


def test_an_open_pause_runs_to_now():
    start, now = sh(*MONDAY, 9), sh(*MONDAY, 15)
    pauses = [(sh(*MONDAY, 10), sh(*MONDAY, 11)), (sh(*MONDAY, 14), None)]
    assert elapsed_business_time(SHANGHAI, start, now, pauses) == 3 * H
    later = sh(2026, 3, 10, 12)  # still paused the next day: nothing more elapses
    assert elapsed_business_time(SHANGHAI, start, later, pauses) == 3 * H


def test_pauses_outside_the_period_do_not_count():
    start, now = sh(*MONDAY, 9), sh(*MONDAY, 15)
    pauses = [(sh(2026, 3, 6, 9), sh(*MONDAY, 10)), (sh(*MONDAY, 16), None), (sh(*MONDAY, 12), sh(*MONDAY, 13))]
    assert elapsed_business_time(SHANGHAI, start, now, pauses) == 4 * H
    assert elapsed_business_time(SHANGHAI, now, start, pauses) == timedelta(0)


def test_due_moves_later_by_the_business_time_paused():
    start, now = sh(*MONDAY, 9), sh(*MONDAY, 11)
    assert due_at(SHANGHAI, start, 4 * H, [], now) == sh(*MONDAY, 14)
    pauses = [(sh(*MONDAY, 10), sh(*MONDAY, 11))]
    assert due_at(SHANGHAI, start, 4 * H, pauses, now) == sh(*MONDAY, 15)
    overlapping = [*pauses, (sh(*MONDAY, 10, 30), sh(*MONDAY, 10, 45))]
    assert due_at(SHANGHAI, start, 4 * H, overlapping, now) == sh(*MONDAY, 15)
    # A pause over the evening costs nothing; one over the morning does.
    evening = [(sh(2026, 3, 6, 18), sh(*MONDAY, 9, 30))]
    assert due_at(SHANGHAI, sh(2026, 3, 6, 17), 2 * H, evening, now) == sh(*MONDAY, 10, 30)


def test_due_is_unknown_while_a_pause_is_open():
    start = sh(*MONDAY, 9)
    pauses = [(sh(*MONDAY, 10), None)]
    assert due_at(SHANGHAI, start, 4 * H, pauses, sh(*MONDAY, 11)) is None
    # Once closed the clock runs again, and the due time is known.
    closed = [(sh(*MONDAY, 10), sh(*MONDAY, 11))]
    assert due_at(SHANGHAI, start, 4 * H, closed, sh(*MONDAY, 11)) == sh(*MONDAY, 15)


def test_a_due_time_passed_before_an_open_pause_stays_passed():
    start = sh(*MONDAY, 9)
    pauses = [(sh(*MONDAY, 14), None)]
    assert due_at(SHANGHAI, start, H, pauses, sh(*MONDAY, 15)) == sh(*MONDAY, 10)
    assert due_at(SHANGHAI, start, 4 * H, pauses, sh(*MONDAY, 15)) == sh(*MONDAY, 14)  # reached as it began
    assert due_at(SHANGHAI, start, timedelta(0), [(sh(*MONDAY, 8), None)], sh(*MONDAY, 15)) == start


def test_due_counts_only_pauses_up_to_now():
    start, now = sh(*MONDAY, 9), sh(*MONDAY, 11)
    beyond_now = [(sh(*MONDAY, 10), sh(*MONDAY, 16))]  # its end lies ahead: only 10:00-11:00 has happened
    assert due_at(SHANGHAI, start, 4 * H, beyond_now, now) == sh(*MONDAY, 15)
    not_begun = [(sh(*MONDAY, 13), None)]
    assert due_at(SHANGHAI, start, 4 * H, not_begun, now) == sh(*MONDAY, 14)


def test_bad_pauses_are_refused():
    start, now = sh(*MONDAY, 9), sh(*MONDAY, 15)
    with pytest.raises(ValueError, match="Pause 1 ends before it begins"):
        elapsed_business_time(SHANGHAI, start, now, [(sh(*MONDAY, 11), sh(*MONDAY, 10))])
    with pytest.raises(ValueError, match="Pause 2's begin must be an aware datetime"):
        due_at(SHANGHAI, start, H, [(sh(*MONDAY, 10), None), (datetime(2026, 3, 9, 10), None)], now)
    with pytest.raises(ValueError, match="not a \\(begin, end\\) pair"):
        elapsed_business_time(SHANGHAI, start, now, [sh(*MONDAY, 10)])  # type: ignore[list-item]


# --- Properties ------------------------------------------------------------------------------------

CALENDARS = [SHANGHAI, SHANGHAI_PLAIN, BERLIN_SHIFTS, BERLIN_ODD, BERLIN_24X7, SANTIAGO_24X7]
calendars = st.sampled_from(CALENDARS)
moments = st.datetimes(
    min_value=datetime(2025, 1, 1),
    max_value=datetime(2027, 6, 30),
    timezones=st.sampled_from([UTC, SHANGHAI_ZONE, BERLIN_ZONE, ZoneInfo("America/Santiago")]),
)
# Mostly short durations (minutes to days), some long ones that skip weeks.
durations = st.one_of(
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=60)),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=3000)),
    st.sampled_from([timedelta(0), H, 8 * H, 40 * H]),
)
PROPERTIES = settings(max_examples=150, deadline=None, derandomize=True, database=None)


@PROPERTIES
@given(calendars, moments, durations)
def test_between_inverts_add(calendar, start, duration):
    due = add_business_time(calendar, start, duration)
    assert business_time_between(calendar, start, due) == duration
    assert due.tzinfo is UTC
    assert due - start >= duration  # business time never runs faster than real time


@PROPERTIES
@given(calendars, moments, durations)
def test_add_answers_the_earliest_moment(calendar, start, duration):
    due = add_business_time(calendar, start, duration)
    if duration:
        assert business_time_between(calendar, start, due - timedelta(microseconds=1)) < duration


@PROPERTIES
@given(calendars, moments, durations, durations)
def test_a_longer_duration_is_never_due_earlier(calendar, start, first, second):
    shorter, longer = sorted([first, second])
    assert add_business_time(calendar, start, shorter) <= add_business_time(calendar, start, longer)


@PROPERTIES
@given(calendars, moments, durations, durations)
def test_adding_in_two_steps_is_adding_the_sum(calendar, start, first, second):
    halfway = add_business_time(calendar, start, first)
    assert add_business_time(calendar, halfway, second) == add_business_time(calendar, start, first + second)


@PROPERTIES
@given(calendars, moments, durations, durations)
def test_between_adds_up_over_consecutive_periods(calendar, start, first, second):
    start = start.astimezone(UTC)  # aware arithmetic is wall-clock arithmetic in the start's own zone
    middle = start + first
    end = middle + second
    assert business_time_between(calendar, start, end) == (
        business_time_between(calendar, start, middle) + business_time_between(calendar, middle, end)
    )


@PROPERTIES
@given(st.sampled_from([BERLIN_24X7, SANTIAGO_24X7]), moments, durations)
def test_24x7_is_real_time(calendar, start, duration):
    start = start.astimezone(UTC)
    assert add_business_time(calendar, start, duration) == start + duration
    assert business_time_between(calendar, start, start + duration) == duration


pauses_strategy = st.lists(
    st.tuples(durations, st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=80))), max_size=4
)


@PROPERTIES
@given(calendars, moments, durations, pauses_strategy)
def test_due_at_is_where_elapsed_time_reaches_the_target(calendar, start, target, pause_offsets):
    start = start.astimezone(UTC)
    pauses = [(start + offset - H, start + offset - H + length) for offset, length in pause_offsets]
    now = start + timedelta(days=3650)
    due = due_at(calendar, start, target, pauses, now)
    assert due is not None
    assert elapsed_business_time(calendar, start, due, pauses) == target
    assert due >= add_business_time(calendar, start, target)


# --- Holiday lists ---------------------------------------------------------------------------------


def test_holiday_lines():
    holidays, workdays = parse_holiday_lines(CHINA_2026)
    assert holidays >= {date(2026, 10, 1) + timedelta(days=n) for n in range(7)}
    assert len(holidays) == 3 + 9 + 3 + 5 + 3 + 3 + 7
    assert workdays == {
        date(2026, 1, 4): 0,
        date(2026, 2, 14): 0,
        date(2026, 2, 28): 0,
        date(2026, 5, 9): 0,
        date(2026, 9, 20): 0,
        date(2026, 10, 10): 0,
    }


def test_holiday_lines_details():
    text = (
        "\ufeff# Berlin office, 2026\n"
        "\n"
        "   2026-12-24..2026-12-26   HOLIDAY   Weihnachten  # Christmas\n"
        "2026-12-24 holiday duplicate entries are harmless\n"
        "2026-12-27\tworkday:Fri\n"
        "2026-12-28 workday:saturday 调休　上班\n"
        "2026-12-29..2026-12-30 workday\n"
    )
    holidays, workdays = parse_holiday_lines(text)
    assert holidays == {date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 26)}
    assert workdays == {date(2026, 12, 27): 4, date(2026, 12, 28): 5, date(2026, 12, 29): 0, date(2026, 12, 30): 0}
    assert parse_holiday_lines("") == (set(), {})


@pytest.mark.parametrize(
    "line, message",
    [
        pytest.param("2026-13-01 holiday", "not a date", id="month-13"),
        pytest.param("2026/10/01 holiday", "not a date", id="slashes"),
        pytest.param("20261001 holiday", "not a date", id="basic-format"),
        pytest.param("2026-10-07..2026-10-01 holiday", "ends before it starts", id="backwards-range"),
        pytest.param("2026-01-01..2027-12-31 holiday", "longer than a year", id="huge-range"),
        pytest.param("2026-10-01 vacation", "expected 'holiday' or 'workday", id="unknown-kind"),
        pytest.param("2026-10-01 holiday:fri", "expected 'holiday' or 'workday", id="holiday-with-weekday"),
        pytest.param("2026-10-01", "expected '<date>", id="no-kind"),
        pytest.param("2026-10-10 workday:someday", "unknown weekday “someday”", id="unknown-weekday"),
        pytest.param("2026-10-03 workday", "is a holiday on line 2", id="holiday-then-workday"),
        pytest.param("2026-10-10 workday:sat", "is worked as a Monday on line 3", id="two-weekdays"),
        pytest.param("2026-10-10 holiday", "is a working day on line 3", id="workday-then-holiday"),
    ],
)
def test_bad_holiday_lines_name_their_line(line, message):
    text = f"# list\n2026-10-01..2026-10-07 holiday\n2026-10-10 workday\n\n{line}\n2026-12-25 holiday\n"
    with pytest.raises(ValueError, match=f"^Line 5: .*{message}"):
        parse_holiday_lines(text)


ICS = (
    "BEGIN:VCALENDAR\r\n"
    "PRODID:-//Example//China Public Holidays//CN\r\n"
    "VERSION:2.0\r\n"
    "X-WR-CALNAME:中国法定节假日\r\n"
    "BEGIN:VTIMEZONE\r\n"
    "TZID:Asia/Shanghai\r\n"
    "BEGIN:STANDARD\r\n"
    "DTSTART:19700101T000000\r\n"
    "TZOFFSETFROM:+0800\r\n"
    "TZOFFSETTO:+0800\r\n"
    "END:STANDARD\r\n"
    "END:VTIMEZONE\r\n"
    # A range, DTEND exclusive, the SUMMARY folded (twice, once inside a word).
    "BEGIN:VEVENT\r\n"
    "UID:2026-national-day@example\r\n"
    "DTSTART;VALUE=DATE:20261001\r\n"
    "DTEND;VALUE=DATE:20261008\r\n"
    "SUMMARY:国庆节 假期 共7天（10月1日至7日）。国庆节 假期 共7天（10月1日至7日）。国庆节 假\r\n"
    " 期 共7天（10月1日至7日）。\r\n"
    "\tend of the fold\r\n"
    "DESCRIPTION:10月1日（周四）至7日（周三）放假调休，共7天。9月20日（周日）、10月10日（周六）上班。\r\n"
    "END:VEVENT\r\n"
    # One day written with DTEND = DTSTART, as some published feeds do.
    "BEGIN:VEVENT\r\n"
    "DTSTART;VALUE=DATE:20260101\r\n"
    "DTEND;VALUE=DATE:20260101\r\n"
    "SUMMARY:元旦 假期 第1天/共3天\r\n"
    "END:VEVENT\r\n"
    # A bare 8-digit date without DTEND: one day. The property name itself is folded.
    "BEGIN:VEVENT\r\n"
    "DTSTA\r\n"
    " RT:20260102\r\n"
    "SUMMARY:元旦 假期 第2天/共3天\r\n"
    "END:VEVENT\r\n"
    # A DURATION instead of DTEND.
    "BEGIN:VEVENT\r\n"
    "DTSTART;VALUE=DATE:20260404\r\n"
    "DURATION:P3D\r\n"
    "SUMMARY:清明节\r\n"
    "END:VEVENT\r\n"
    # Make-up working days, as timed events 09:00-18:00 (the usual form), or all day.
    "BEGIN:VEVENT\r\n"
    "DTSTART;TZID=Asia/Shanghai:20260920T090000\r\n"
    "DTEND;TZID=Asia/Shanghai:20260920T180000\r\n"
    "SUMMARY:国庆节 补班 第1天/共2天\r\n"
    "BEGIN:VALARM\r\n"
    "TRIGGER:-PT60M\r\n"
    "ACTION:DISPLAY\r\n"
    "END:VALARM\r\n"
    "END:VEVENT\r\n"
    "BEGIN:VEVENT\r\n"
    "DTSTART;VALUE=DATE:20261010\r\n"
    "DTEND;VALUE=DATE:20261011\r\n"
    "SUMMARY:国庆节 补班 第2天/共2天\r\n"
    "END:VEVENT\r\n"
    # Neither holiday nor working day: a timed event, and a cancelled one.
    "BEGIN:VEVENT\r\n"
    "DTSTART:20261224T180000Z\r\n"
    "DTEND:20261224T220000Z\r\n"
    "SUMMARY:Christmas party\r\n"
    "END:VEVENT\r\n"
    "BEGIN:VEVENT\r\n"
    "DTSTART;VALUE=DATE:20261225\r\n"
    "STATUS:CANCELLED\r\n"
    "SUMMARY:Cancelled day off\r\n"
    "END:VEVENT\r\n"
    "END:VCALENDAR\r\n"
)


def test_ics_all_day_events_are_holidays_and_make_up_days_working_days():
    holidays, workdays = parse_ics(ICS)
    assert holidays == (
        {date(2026, 10, 1) + timedelta(days=n) for n in range(7)}
        | {date(2026, 1, 1), date(2026, 1, 2)}
        | {date(2026, 4, 4), date(2026, 4, 5), date(2026, 4, 6)}
    )
    assert workdays == {date(2026, 9, 20): 0, date(2026, 10, 10): 0}
    assert parse_ics(ICS.replace("\r\n", "\n")) == (holidays, workdays)
    # Without the markers, the all-day make-up day would be read as a holiday.
    holidays, workdays = parse_ics(ICS, workday_markers=())
    assert date(2026, 10, 10) in holidays
    assert workdays == {}


def test_an_imported_calendar_feeds_the_business_calendar():
    holidays, workdays = parse_ics(ICS)
    calendar = BusinessCalendar.office_hours(
        "Asia/Shanghai", ["09:00-12:00", "13:00-18:00"], holidays=holidays, extra_workdays=workdays
    )
    assert add_business_time(calendar, sh(2026, 9, 30, 17), 2 * H) == sh(2026, 10, 8, 10)
    assert add_business_time(calendar, sh(2026, 9, 18, 17), 2 * H) == sh(2026, 9, 20, 10)


@pytest.mark.parametrize(
    "event, message",
    [
        pytest.param("DTSTART;VALUE=DATE:20261301\n", "Line 3: “20261301” is not an iCalendar date", id="month-13"),
        pytest.param("DTSTART;VALUE=DATE:2026-10-01\n", "Line 3: .* is not an iCalendar date", id="iso-date"),
        pytest.param("SUMMARY:no date\n", "Line 2: VEVENT without DTSTART", id="no-dtstart"),
        pytest.param("DTSTART;VALUE=DATE:20261001\nRRULE:FREQ=YEARLY\n", "Line 4: recurring events", id="recurring"),
        pytest.param("DTSTART;VALUE=DATE:20261001\nDURATION:PT8H\n", "Line 4: unsupported DURATION", id="duration"),
        pytest.param(
            "DTSTART;VALUE=DATE:20260101\nDTEND;VALUE=DATE:20280101\n", "Line 3: the event is longer", id="too-long"
        ),
    ],
)
def test_bad_ics_entries_name_their_line(event, message):
    text = f"BEGIN:VCALENDAR\nBEGIN:VEVENT\n{event}END:VEVENT\nEND:VCALENDAR\n"
    with pytest.raises(ValueError, match=message):
        parse_ics(text)


def test_ics_structure_errors():
    with pytest.raises(ValueError, match="Line 2: VEVENT is not closed"):
        parse_ics("BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20261001\nEND:VCALENDAR\n")
    with pytest.raises(ValueError, match="Line 2: END:VEVENT without BEGIN"):
        parse_ics("BEGIN:VCALENDAR\nEND:VEVENT\n")
    with pytest.raises(ValueError, match="also listed as a holiday"):
        parse_ics(
            "BEGIN:VEVENT\nDTSTART;VALUE=DATE:20261001\nSUMMARY:假期\nEND:VEVENT\n"
            "BEGIN:VEVENT\nDTSTART:20261001T090000\nSUMMARY:补班\nEND:VEVENT\n"
        )


def test_holiday_list_errors_speak_the_users_language():
    from django.utils import translation

    with translation.override("zh-hans"), pytest.raises(ValueError) as raised:
        parse_holiday_lines("2026-10-01 holiday 国庆节\n2026-10-01 workday")
    assert "第 2 行" in str(raised.value)
