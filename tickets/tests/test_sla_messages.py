"""The errors a business calendar's configuration can cause are translated: looked up in the
catalogue of the active language (with named placeholders), days named by Django's translated
weekday names, and shown on the admin form next to the field at fault."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import trans_real

from tickets.models import BusinessHours
from tickets.sla import BusinessCalendar


@pytest.fixture
def chinese(monkeypatch):
    """zh-hans active, with `add(msgid, text)` to put a translation in its catalogue for the test."""
    with translation.override("zh-hans"):
        catalog = trans_real.translation("zh-hans")._catalog._catalogs[0]
        yield lambda msgid, text: monkeypatch.setitem(catalog, msgid, text)


@pytest.mark.parametrize(
    "kwargs, msgid, text, expected",
    [
        (
            {"time_zone": "Mars/Olympus"},
            "Unknown time zone: “%(zone)s”.",
            "未知的时区：“%(zone)s”。",
            "未知的时区：“Mars/Olympus”。",
        ),
        (
            {"weekly_hours": {0: ["09:00-12:00", "11:00-13:00"]}},
            "%(day)s: %(first)s overlaps %(second)s.",
            "%(day)s：%(first)s 与 %(second)s 重叠。",
            "星期一：09:00-12:00 与 11:00-13:00 重叠。",
        ),
        (
            {"weekly_hours": {2: ["nine to five"]}},
            "%(day)s: “%(value)s” is not an interval like 09:00-12:00.",
            "%(day)s：“%(value)s”不是 09:00-12:00 这样的时间段。",
            "星期三：“nine to five”不是 09:00-12:00 这样的时间段。",
        ),
        (
            {"weekly_hours": {4: ["25:00-26:00"]}},
            "%(day)s: “%(value)s” is not a time of day like 09:00.",
            "%(day)s：“%(value)s”不是 09:00 这样的时刻。",
            "星期五：“25:00”不是 09:00 这样的时刻。",
        ),
        (
            {"holidays": {date(2026, 3, 9)}, "extra_workdays": {date(2026, 3, 9): 0}},
            "%(day)s is both a holiday and an extra working day.",
            "%(day)s 既是假日又是调休工作日。",
            "2026-03-09 既是假日又是调休工作日。",
        ),
    ],
)
def test_calendar_errors_are_looked_up_in_the_active_language(chinese, kwargs, msgid, text, expected):
    chinese(msgid, text)
    arguments = {"time_zone": "Asia/Shanghai", "weekly_hours": {0: ["09:00-17:00"]}} | kwargs
    with pytest.raises(ValueError) as raised:
        BusinessCalendar(**arguments)
    assert str(raised.value) == expected


def test_the_day_is_named_in_the_users_language(chinese):
    with pytest.raises(ValueError) as raised:
        BusinessCalendar("Asia/Shanghai", {6: ["18:00-09:00"]})
    message = str(raised.value)
    assert message.startswith("星期日") and "18:00-09:00" in message and "Sunday" not in message


@pytest.mark.django_db
def test_the_admin_form_puts_each_error_on_its_field():
    hours = BusinessHours(name="夜班", time_zone="Mars/Olympus", weekly_hours="mon 12:00-09:00")
    with pytest.raises(ValidationError) as raised:
        hours.full_clean()
    errors = raised.value.message_dict
    assert errors["weekly_hours"] == [
        "Monday: interval 12:00-09:00 does not end after it starts "
        "(split a shift across midnight into two days, the first ending at 24:00)."
    ]
    assert errors["time_zone"] == ["Unknown time zone: “Mars/Olympus”."]
