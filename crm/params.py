"""Request parameters: one validating parser per type, so that no malformed or out-of-range
value reaches a query, a date calculation or a template (and no page answers 500 for one).

Each `parse_*` function takes the raw string and returns the value, None for an empty one, or
raises `BadParameter` with a translated reason. Views read their query parameters through
`QueryParams`, which answers the default for a bad value and tells the user what it ignored:

    params = QueryParams(request)
    first = params.month("month") or today.replace(day=1)
    team_id = params.id("team")

Forms get the same bounds from `bound_form_fields` (the list and record form kits call it).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import unicodedata
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.http import HttpRequest
from django.utils.formats import date_format
from django.utils.translation import gettext as _

BIGINT_MAX = 2**63 - 1
# Wide enough for any business date, far enough from the calendar's ends (years 1 and 9999) that
# a time zone, a week or a quarter added to it cannot overflow.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2999, 12, 31)
AMOUNT_LIMIT = Decimal("1e12")  # amounts are DecimalField(max_digits=14, decimal_places=2)
CURSOR_MAX_LENGTH = 2000
CURSOR_MAX_VALUES = 8

_INTEGER = re.compile(r"-?[0-9]{1,19}")
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_MONTH = re.compile(r"([0-9]{4})-([0-9]{1,2})")
_QUARTER = re.compile(r"([0-9]{4})-Q([1-4])")


class BadParameter(ValueError):
    """A value a parser refused; the message says why, in the user's language."""


def _shown(raw: str) -> str:
    """A refused value as a message quotes it: short and printable."""
    return parse_text(raw, max_length=20)


def parse_text(raw: str | None, *, max_length: int = 100) -> str:
    """What a search box sent, made safe to search: full-width letters folded (ｈｕａ -> hua, as
    Chinese input methods type them), control characters (NUL breaks PostgreSQL) turned to
    spaces, runs of spaces joined, at most `max_length` characters."""
    text = unicodedata.normalize("NFKC", str(raw or "")[: max_length * 4])
    text = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in text)
    return " ".join(text.split())[:max_length].strip()


def parse_int(raw: str | None, *, minimum: int = -BIGINT_MAX - 1, maximum: int = BIGINT_MAX) -> int | None:
    """A whole number written in ASCII digits, between `minimum` and `maximum` (a database bigint
    by default)."""
    raw = (raw or "").strip()
    if not raw:
        return None
    if not _INTEGER.fullmatch(raw):
        raise BadParameter(_("“%(value)s” is not a whole number.") % {"value": _shown(raw)})
    value = int(raw)
    if not minimum <= value <= maximum:
        raise BadParameter(
            _("“%(value)s” is not between %(minimum)s and %(maximum)s.")
            % {"value": _shown(raw), "minimum": minimum, "maximum": maximum}
        )
    return value


def parse_id(raw: str | None) -> int | None:
    """A record's number: a whole number from 1 to the largest bigint."""
    try:
        return parse_int(raw, minimum=1)
    except BadParameter:
        raise BadParameter(_("“%(value)s” is not a record number.") % {"value": _shown(raw or "")}) from None


def parse_choice(raw: str | None, choices: Iterable[str]) -> str | None:
    """One of `choices` (exactly as written there)."""
    if not raw:
        return None
    if raw not in set(choices):
        raise BadParameter(_("“%(value)s” is not one of the choices.") % {"value": _shown(raw)})
    return raw


def check_date(value: date) -> date:
    """`value` (a date or datetime) if it lies between EARLIEST_DATE and LATEST_DATE."""
    day = value.date() if isinstance(value, datetime) else value
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        shown = {"value": day, "earliest": EARLIEST_DATE, "latest": LATEST_DATE}
        raise BadParameter(
            _("%(value)s is not between %(earliest)s and %(latest)s.")
            % {key: date_format(when, "SHORT_DATE_FORMAT") for key, when in shown.items()}
        )
    return value


def parse_date(raw: str | None) -> date | None:
    """A day written YYYY-MM-DD, between EARLIEST_DATE and LATEST_DATE."""
    raw = (raw or "").strip()
    if not raw:
        return None
    match = _ISO_DATE.fullmatch(raw)
    try:
        value = date(int(match[1]), int(match[2]), int(match[3])) if match else None
    except ValueError:
        value = None
    if value is None:
        raise BadParameter(_("“%(value)s” is not a date (YYYY-MM-DD).") % {"value": _shown(raw)})
    return check_date(value)


def parse_month(raw: str | None) -> date | None:
    """A month written YYYY-MM, as its first day, between EARLIEST_DATE and LATEST_DATE."""
    raw = (raw or "").strip()
    if not raw:
        return None
    match = _MONTH.fullmatch(raw)
    if not match or not 1 <= int(match[2]) <= 12 or not EARLIEST_DATE.year <= int(match[1]) <= LATEST_DATE.year:
        raise BadParameter(
            _("“%(value)s” is not a month (YYYY-MM) of the years %(earliest)s to %(latest)s.")
            % {"value": _shown(raw), "earliest": EARLIEST_DATE.year, "latest": LATEST_DATE.year}
        )
    return date(int(match[1]), int(match[2]), 1)


def parse_quarter(raw: str | None) -> tuple[int, int] | None:
    """A quarter written YYYY-Qn, as (year, n), in the years of EARLIEST_DATE to LATEST_DATE."""
    raw = (raw or "").strip()
    if not raw:
        return None
    match = _QUARTER.fullmatch(raw)
    if not match or not EARLIEST_DATE.year <= int(match[1]) <= LATEST_DATE.year:
        raise BadParameter(
            _("“%(value)s” is not a quarter (YYYY-Q1 to YYYY-Q4) of the years %(earliest)s to %(latest)s.")
            % {"value": _shown(raw), "earliest": EARLIEST_DATE.year, "latest": LATEST_DATE.year}
        )
    return int(match[1]), int(match[2])


def parse_amount(raw: str | None, *, places: int = 2) -> Decimal | None:
    """A money amount: finite, from 0 to below AMOUNT_LIMIT, with at most `places` decimals;
    thousands separators are allowed."""
    raw = (raw or "").strip().replace(",", "")
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or not 0 <= value < AMOUNT_LIMIT or value != round(value, places):
        raise BadParameter(_("“%(value)s” is not an amount.") % {"value": _shown(raw)})
    return value


# --- Keyset cursors ------------------------------------------------------------------------------
# A cursor holds the sort values of the row a page starts after: a list of strings, integers,
# datetimes ({"t": iso}) and decimals ({"d": text}), base64url-encoded JSON. Sort columns are NOT
# NULL, so a cursor never holds a null.


def cursor_token(values: list) -> str:
    """The cursor text for sort values (dates, datetimes and decimals included)."""

    def plain(value):
        if isinstance(value, (datetime, date)):
            return {"t": value.isoformat()}
        if isinstance(value, Decimal):
            return {"d": str(value)}
        return value

    raw = json.dumps([plain(v) for v in values], ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def parse_cursor(raw: str | None) -> list | None:
    """The sort values a cursor holds, checked for shape only: a short list of strings without
    NUL, bigint-sized integers and {"t": …} / {"d": …} texts (returned as their text). Whether
    they fit a sort's columns is `crm.pagination`'s to check."""
    raw = (raw or "").strip()
    if not raw:
        return None
    values = None
    if len(raw) <= CURSOR_MAX_LENGTH:
        try:
            values = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        except (ValueError, TypeError, binascii.Error):
            values = None
    if not isinstance(values, list) or not 1 <= len(values) <= CURSOR_MAX_VALUES:
        raise BadParameter(_("The page position in the address is not valid."))
    plain = []
    for value in values:
        if isinstance(value, dict) and len(value) == 1 and isinstance(next(iter(value.values())), str):
            value = next(iter(value.values()))
        ok = (isinstance(value, str) and "\x00" not in value and len(value) <= 500) or (
            isinstance(value, int) and not isinstance(value, bool) and -BIGINT_MAX - 1 <= value <= BIGINT_MAX
        )
        if not ok:
            raise BadParameter(_("The page position in the address is not valid."))
        plain.append(value)
    return plain


# --- Reading a request's parameters --------------------------------------------------------------


class QueryParams:
    """A request's query parameters read through the parsers: a bad value gives the default and a
    warning message naming what was ignored (once per parameter, and not on htmx fragments,
    whose page shows no messages)."""

    def __init__(self, request: HttpRequest, data=None):
        self.request = request
        self.data = request.GET if data is None else data
        self.ignored: dict[str, str] = {}

    def _read(self, name: str, parse, default, **options):
        raw = self.data.get(name)
        try:
            value = parse(raw, **options)
        except BadParameter as error:
            self._ignore(name, str(error))
            return default
        return default if value is None else value

    def _ignore(self, name: str, reason: str) -> None:
        if name in self.ignored:
            return
        self.ignored[name] = reason
        if not getattr(self.request, "htmx", False):
            messages.warning(self.request, _("Part of the address was ignored: %(reason)s") % {"reason": reason})

    def integer(self, name: str, default: int | None = None, **bounds) -> int | None:
        return self._read(name, parse_int, default, **bounds)

    def id(self, name: str) -> int | None:
        return self._read(name, parse_id, None)

    def choice(self, name: str, choices: Iterable[str], default: str | None = None) -> str | None:
        return self._read(name, parse_choice, default, choices=choices)

    def date(self, name: str, default: date | None = None) -> date | None:
        return self._read(name, parse_date, default)

    def month(self, name: str, default: date | None = None) -> date | None:
        return self._read(name, parse_month, default)

    def amount(self, name: str, default: Decimal | None = None) -> Decimal | None:
        return self._read(name, parse_amount, default)

    def parsed(self, name: str, parse, default=None):
        """A parameter of an app's own type, read with `parse` (built on the parsers above: it
        returns None when empty and raises BadParameter when malformed)."""
        return self._read(name, parse, default)

    def cursor(self, name: str) -> str | None:
        """The cursor text if its shape is sound (`parse_cursor`), else None (the first page)."""
        return (self.data.get(name) or "").strip() if self._read(name, parse_cursor, None) is not None else None


# --- The same bounds on form fields --------------------------------------------------------------


def _validate_date(value) -> None:
    try:
        check_date(value)
    except BadParameter as error:
        raise ValidationError(str(error), code="date_range") from None


def _validate_amount(value) -> None:
    if value is not None and abs(value) >= AMOUNT_LIMIT:
        raise ValidationError(
            _("Enter an amount below %(limit)s.") % {"limit": f"{AMOUNT_LIMIT:,.0f}"}, code="amount_range"
        )


def bound_form_fields(form: forms.Form) -> None:
    """Give `form`'s date, datetime, decimal and integer fields the bounds of the parsers above:
    dates within EARLIEST_DATE..LATEST_DATE, amounts below AMOUNT_LIMIT (Django already refuses
    NaN and infinities), integers within a bigint. Idempotent."""
    for field in form.fields.values():
        validators = field.validators
        if isinstance(field, (forms.DateField, forms.DateTimeField)):
            extra = [_validate_date]
        elif isinstance(field, forms.DecimalField):
            extra = [] if field.max_digits else [_validate_amount]
        elif isinstance(field, forms.IntegerField) and not isinstance(field, forms.FloatField):
            extra = []
            if field.max_value is None:
                extra.append(MaxValueValidator(BIGINT_MAX))
            if field.min_value is None:
                extra.append(MinValueValidator(-BIGINT_MAX - 1))
        else:
            continue
        field.validators = [*validators, *(v for v in extra if v not in validators)]
