"""crm.dates writes exactly what Django's `date` filter writes, in both languages and for every
named format the templates use, for dates, naive and aware datetimes across the year."""

import datetime
import zoneinfo

import pytest
from django.template import engines
from django.utils import timezone, translation

from crm.dates import format_date, iso_value

FORMATS = [
    "SHORT_DATE_FORMAT",
    "SHORT_DATETIME_FORMAT",
    "DATE_FORMAT",
    "DATETIME_FORMAT",
    "YEAR_MONTH_FORMAT",
    "MONTH_DAY_FORMAT",
    "WEEKDAY_DATE_FORMAT",
    "WEEKDAY_MONTH_DAY_FORMAT",
    "SHORT_MONTH_FORMAT",
]
UTC = datetime.UTC
VALUES = [
    datetime.date(2026, 1, 5),
    datetime.date(999, 12, 31),
    datetime.datetime(2026, 12, 4, 16, 30, 5, tzinfo=UTC),  # the next day in Asia/Shanghai
    datetime.datetime(2026, 3, 8, 0, 0, tzinfo=UTC),
    datetime.datetime(2026, 7, 1, 12, 0, tzinfo=UTC),  # noon: "noon" in English
    datetime.datetime(2026, 7, 1, 0, 0, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin")),
    datetime.datetime(2026, 11, 30, 23, 59, 59),  # naive
]


def django_date(value, format_name):
    return engines["django"].from_string("{{ value|date:name }}").render({"value": value, "name": format_name})


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("format_name", FORMATS)
def test_the_same_text_as_the_date_filter(language, format_name):
    with translation.override(language):
        for value in VALUES:
            if isinstance(value, datetime.datetime) or format_name not in ("SHORT_DATETIME_FORMAT", "DATETIME_FORMAT"):
                assert format_date(value, format_name) == django_date(value, format_name), (value, format_name)


def test_the_machine_readable_value_is_the_local_iso_time():
    moment = datetime.datetime(2026, 12, 4, 16, 30, 5, tzinfo=UTC)
    rendered = engines["django"].from_string("{{ value|date:'c' }}").render({"value": moment})
    assert iso_value(moment) == rendered == "2026-12-05T00:30:05+08:00"
    assert iso_value(datetime.date(2026, 1, 5)) == "2026-01-05" and iso_value(None) == ""


def test_the_tag_writes_a_time_element_and_nothing_for_no_date():
    template = engines["django"].from_string("{% load crm_tags %}[{% time_element value %}]")
    with translation.override("zh-hans"):
        assert (
            template.render({"value": datetime.date(2026, 1, 5)}) == '[<time datetime="2026-01-05">2026年1月5日</time>]'
        )
        assert template.render({"value": None}) == "[]"
    with translation.override("en"), timezone.override("Asia/Shanghai"):
        moment = datetime.datetime(2026, 12, 4, 16, 30, tzinfo=UTC)
        assert template.render({"value": moment}) == '[<time datetime="2026-12-05T00:30:00+08:00">12/05/2026</time>]'
