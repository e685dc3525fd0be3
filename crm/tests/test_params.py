"""One validating parser per kind of request parameter (crm.params): what each accepts, what it
refuses and why, and that nothing else than a refusal ever comes out of one."""

import contextlib
from datetime import date, datetime
from decimal import Decimal

import pytest
from django import forms
from django.contrib.messages import get_messages
from django.test import RequestFactory
from hypothesis import given, settings
from hypothesis import strategies as st

from crm.models import User
from crm.pagination import cursor_values, keyset_page
from crm.params import (
    BIGINT_MAX,
    BadParameter,
    QueryParams,
    bound_form_fields,
    cursor_token,
    parse_amount,
    parse_choice,
    parse_cursor,
    parse_date,
    parse_id,
    parse_int,
    parse_month,
    parse_quarter,
    parse_text,
)
from crm.tests.walk import MALFORMED, cursor_text

PARSERS = [parse_int, parse_id, parse_date, parse_month, parse_quarter, parse_amount, parse_cursor]


def test_integers_and_ids():
    assert parse_int(" 42 ") == 42 and parse_int("-7") == -7 and parse_int("") is None and parse_int(None) is None
    assert parse_int(str(BIGINT_MAX)) == BIGINT_MAX
    assert parse_id("12") == 12
    for bad in ("1" * 40, str(2**63), "1e3", "١٢", "²", "１２", "0x10", "1_000", "1.0", "NaN"):
        with pytest.raises(BadParameter):
            parse_int(bad)
    for bad in ("0", "-3", "1" * 40):
        with pytest.raises(BadParameter, match="record number"):
            parse_id(bad)
    with pytest.raises(BadParameter, match="between 2000 and 2100"):
        parse_int("1999", minimum=2000, maximum=2100)


def test_dates_months_and_quarters_stay_away_from_the_ends_of_the_calendar():
    assert parse_date("2026-02-28") == date(2026, 2, 28)
    assert parse_month("2026-11") == date(2026, 11, 1) and parse_month("2026-1") == date(2026, 1, 1)
    assert parse_quarter("2026-Q4") == (2026, 4)
    for bad in ("0001-01-01", "9999-12-31", "2026-02-30", "2026-2-3", "10000-01-01", "20260101", "2026-01-01T00:00"):
        with pytest.raises(BadParameter):
            parse_date(bad)
    for bad in ("9999-12", "0000-01", "0-1", "2026-13", "-2026-01", "2026-00"):
        with pytest.raises(BadParameter):
            parse_month(bad)
    for bad in ("0000-Q1", "9999-Q4", "2026-Q0", "2026-Q5", "2026-q1"):
        with pytest.raises(BadParameter):
            parse_quarter(bad)


def test_amounts_are_finite_money():
    assert parse_amount("1,200.50") == Decimal("1200.50") and parse_amount("0") == Decimal("0")
    for bad in ("NaN", "-nan", "sNaN", "Infinity", "-Infinity", "1e999999", "-1", "1e12", "0.001", "abc"):
        with pytest.raises(BadParameter, match="is not an amount"):
            parse_amount(bad)


def test_choices_and_text():
    assert parse_choice("overdue", ("overdue", "today")) == "overdue" and parse_choice("", ("a",)) is None
    with pytest.raises(BadParameter):
        parse_choice("__class__", ("overdue", "today"))
    assert parse_text("  华为\x00技术\n ") == "华为 技术" and parse_text("ｈｕａ") == "hua"
    assert len(parse_text("x" * 10_000)) == 100


def test_a_refusal_quotes_the_value_short_and_printable():
    with pytest.raises(BadParameter) as refused:
        parse_date("\x00" + "9" * 100)
    assert "\x00" not in str(refused.value) and "9" * 21 not in str(refused.value)


def test_cursors_hold_no_null_and_round_trip():
    moment = datetime(2026, 5, 1, 8, 30, tzinfo=datetime.now().astimezone().tzinfo)
    token = cursor_token([moment, Decimal("12.50"), "华为", 7])
    assert parse_cursor(token) == [moment.isoformat(), "12.50", "华为", 7]
    for bad in (cursor_text([None, 1]), cursor_text([[], {}]), cursor_text(["a\x00b"]), "====", "e30", "x" * 5000):
        with pytest.raises(BadParameter, match="page position"):
            parse_cursor(bad)


@pytest.mark.django_db
def test_a_cursor_must_fit_the_sort_columns():
    users = User.objects.all()
    fields = ["date_joined", "id"]
    good = cursor_token([datetime(2026, 1, 1, tzinfo=datetime.now().astimezone().tzinfo), 5])
    assert cursor_values(good, users, fields) is not None
    for bad in (
        cursor_text([{"t": "0001-01-01T00:00:00+00:00"}, 5]),  # a date the calendar cannot shift
        cursor_text([{"t": "not a time"}, 5]),
        cursor_text([{"t": "2026-01-01T00:00:00+00:00"}, "x"]),
        cursor_text([{"t": "2026-01-01T00:00:00+00:00"}, 2**63]),
        cursor_text([{"t": "2026-01-01T00:00:00+00:00"}]),  # one value for two columns
        cursor_text([None, 5]),
    ):
        assert cursor_values(bad, users, fields) is None
    for bad in MALFORMED["cursor"]:
        assert cursor_values(bad, users, fields) is None, bad
    page = keyset_page(users, ordering=("-date_joined", "-id"), after=cursor_text([None, None]))
    assert page.previous_cursor is None  # treated as the first page


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.text(max_size=60) | st.sampled_from([v for values in MALFORMED.values() for v in values]))
def test_a_parser_answers_a_value_or_a_refusal_never_another_error(raw):
    for parse in PARSERS:
        with contextlib.suppress(BadParameter):
            parse(raw)
    parse_text(raw)


@pytest.mark.django_db
def test_query_params_fall_back_to_the_default_and_say_what_they_ignored(cast):
    request = RequestFactory().get("/", {"month": "9999-12", "team": "1" * 40, "after": cursor_text([None, 1])})
    request.user = cast.owner
    request.session = {}
    from django.contrib.messages.storage.fallback import FallbackStorage

    request._messages = FallbackStorage(request)
    params = QueryParams(request)
    assert params.month("month", default=date(2026, 5, 1)) == date(2026, 5, 1)
    assert params.id("team") is None and params.cursor("after") is None
    assert params.month("month") is None  # asked twice, reported once
    shown = [str(m) for m in get_messages(request)]
    assert len(shown) == 3 and all(m.startswith("Part of the address was ignored") for m in shown)
    assert "9999-12" in shown[0]


class _Bounded(forms.Form):
    day = forms.DateField(required=False)
    moment = forms.DateTimeField(required=False)
    amount = forms.DecimalField(required=False)
    money = forms.DecimalField(required=False, max_digits=14, decimal_places=2)
    number = forms.IntegerField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bound_form_fields(self)
        bound_form_fields(self)  # idempotent


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("day", "9999-12-31"),
        ("day", "0001-01-01"),
        ("moment", "0001-01-01T00:00"),
        ("moment", "9999-12-31T23:59"),
        ("amount", "NaN"),
        ("amount", "Infinity"),
        ("amount", "1e999999"),
        ("money", "NaN"),
        ("money", "-Infinity"),
        ("number", "1" * 40),
        ("number", str(-(2**63) - 1)),
    ],
)
def test_bounded_form_fields_refuse_what_would_overflow(name, value):
    form = _Bounded({name: value})
    assert not form.is_valid() and name in form.errors


def test_bounded_form_fields_keep_ordinary_values():
    form = _Bounded({"day": "2026-05-01", "moment": "2026-05-01T09:00", "amount": "12.5", "number": "7"})
    assert form.is_valid(), form.errors
    assert len(form.fields["number"].validators) == len(_Bounded().fields["number"].validators)
