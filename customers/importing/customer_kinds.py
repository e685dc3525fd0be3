"""The customers' own kinds of import, companies and contacts (see `customers.importing.kinds`):
how a row's text becomes a record's fields, how it finds the record it matches, and how records
are written, updated and restored through the customer services.
"""

from __future__ import annotations

import datetime
import re

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.fields import blind_index_for, normalize_email, normalize_phone, normalize_tax_id
from crm.models import User
from customers import services
from customers.importing import columns
from customers.importing.columns import split_full_name
from customers.importing.kinds import (
    ImportKind,
    RowContext,
    keep_more_phones,
    keep_valid_email,
    keep_valid_website,
    register_kind,
)
from customers.models import Company, Contact, ImportTarget, Tag

COUNTRIES = {
    "中国": "CN",
    "中国大陆": "CN",
    "china": "CN",
    "prc": "CN",
    "香港": "HK",
    "hong kong": "HK",
    "台湾": "TW",
    "taiwan": "TW",
    "美国": "US",
    "usa": "US",
    "united states": "US",
    "日本": "JP",
    "japan": "JP",
    "英国": "GB",
    "uk": "GB",
    "united kingdom": "GB",
    "德国": "DE",
    "germany": "DE",
    "新加坡": "SG",
    "singapore": "SG",
}
# A date's year, month and day in the orders people write them; which of 03/04/2024's numbers is
# the month is the import's choice (RowContext.date_order): English Outlook writes m/d/Y.
_YMD = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_XY_Y = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{2}|\d{4})$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
# What Outlook writes for "no birthday".
_NO_DATE = {"0/0/00", "0/0/0000", "00/00/0000", "0000-00-00", "00.00.0000"}
# Excel counts days from 1899-12-30 (its 1900 leap-year bug included); a serial of a birthday or
# a recent date is five digits.
_EXCEL_EPOCH = datetime.date(1899, 12, 30)


def parse_date(value: str, *, date_order: str = "mdy") -> datetime.date | None:
    """A date from the forms address books and sheets write, or None for an empty one; raises
    ValueError for text that is not a date. ISO and Y/M/D in any separator, 2024年5月31日,
    20240531, d/m/Y or m/d/Y (by `date_order`), two-digit years, ISO date-times, Excel serials."""
    text = value.strip()
    if not text or text in _NO_DATE:
        return None
    if "T" in text[:11] or (len(text) > 10 and text[10] == " " and text[4] == "-"):
        text = text[:10]  # 2024-05-31T00:00:00 or 2024-05-31 00:00:00
    if match := _YMD.match(text) or _COMPACT.match(text):
        year, month, day = (int(part) for part in match.groups())
    elif match := _XY_Y.match(text):
        first, second, year = (int(part) for part in match.groups())
        month, day = (second, first) if date_order == "dmy" else (first, second)
        if year < 100:
            year += 2000 if year <= datetime.date.today().year % 100 else 1900
    elif text.isdigit() and 10_000 <= int(text) <= 80_000:
        return _EXCEL_EPOCH + datetime.timedelta(days=int(text))
    else:
        raise ValueError(text)
    return datetime.date(year, month, day)


def _birthday(data: dict, row: RowContext) -> datetime.date | None:
    """The birthday column, or Thunderbird's Birth Year / Birth Month / Birth Day combined."""
    if data.get("birthday"):
        try:
            return parse_date(data["birthday"], date_order=row.date_order)
        except ValueError:
            row.drop(_("Birthday “%(value)s” is not a date; left out.") % {"value": data["birthday"]})
            return None
    parts = [data.get(name, "") for name in ("birth_year", "birth_month", "birth_day")]
    if not any(parts):
        return None
    try:
        return datetime.date(*(int(part) for part in parts))
    except (TypeError, ValueError):
        row.drop(_("Birthday %(value)s is not a date; left out.") % {"value": "/".join(p or "?" for p in parts)})
        return None


def _company_data(data: dict, row: RowContext) -> dict:
    fields = {k: v for k, v in data.items() if k in services.COMPANY_FIELDS}
    keep_valid_website(fields, row)
    if "country" in fields:
        country = fields.pop("country").strip()
        code = COUNTRIES.get(country.lower(), country.upper() if len(country) == 2 and country.isascii() else None)
        if code is None:
            row.drop(_("Country “%(value)s” is not a two-letter code such as CN; left out.") % {"value": country})
        else:
            fields["country"] = code
    keep_more_phones(fields, row, slots=("phone",))
    return fields


def _contact_data(data: dict, row: RowContext) -> dict:
    fields = {k: v for k, v in data.items() if k in services.CONTACT_FIELDS and k not in ("company", "birthday")}
    if "full_name" in data and not ({"family_name", "given_name"} & data.keys()):
        family, given = split_full_name(data["full_name"])
        fields.update({k: v for k, v in (("family_name", family), ("given_name", given)) if v})
    keep_valid_email(fields, row)
    if birthday := _birthday(data, row):
        fields["birthday"] = birthday
    keep_more_phones(fields, row, slots=("mobile", "phone"))
    if not ({"family_name", "given_name", "email", "mobile", "phone"} & {k for k, v in fields.items() if v}):
        row.reject(_("The row has no name, email or phone."))
    row.check()
    return fields


def _find_company(visible, data: dict) -> Company | None:
    if data.get("external_id"):
        found = visible.filter(external_id=data["external_id"]).order_by("id").first()
        if found:
            return found
    if data.get("tax_id"):
        index = blind_index_for(normalize_tax_id, data["tax_id"])
        found = visible.filter(tax_id_bidx=index).order_by("id").first() if index else None
        if found:
            return found
    return visible.filter(name=data["name"], city=data.get("city", "")).order_by("id").first()


def _find_contact(visible, data: dict) -> Contact | None:
    if data.get("external_id"):
        found = visible.filter(external_id=data["external_id"]).order_by("id").first()
        if found:
            return found
    if data.get("email"):
        found = visible.filter(email_bidx=blind_index_for(normalize_email, data["email"])).order_by("id").first()
        if found:
            return found
    for key in ("mobile", "phone"):
        index = blind_index_for(normalize_phone, data.get(key))
        if index:
            found = visible.filter(Q(mobile_bidx=index) | Q(phone_bidx=index)).order_by("id").first()
            if found:
                return found
    return None


def _restore(*, obj, previous: dict, actor: User) -> None:
    data = dict(previous)
    if "tags" in data:
        data["tags"] = list(Tag.objects.filter(pk__in=data["tags"]))
    if "company" in data:
        data["company"] = Company.objects.filter(pk=data["company"]).first() if data["company"] else None
    if "birthday" in data and data["birthday"]:
        data["birthday"] = datetime.date.fromisoformat(data["birthday"])
    if isinstance(obj, Company):
        services.company_update(company=obj, actor=actor, **data)
    else:
        services.contact_update(contact=obj, actor=actor, **data)


def _check_company_mapping(fields: set[str]) -> None:
    if "name" not in fields:
        raise ValidationError(_("Choose the column that holds the company name."))


def _check_contact_mapping(fields: set[str]) -> None:
    if not {"full_name", "family_name", "given_name", "email", "mobile", "phone"} & fields:
        raise ValidationError(_("Choose at least a name, email or phone column."))


def _prepare_company(data: dict, row: RowContext) -> dict:
    if not data.get("name"):
        row.reject(_("The company name is empty."))
    fields = _company_data(data, row)
    row.check()
    return fields


def _create_company(*, actor, owner, team, tags, fields) -> Company:
    return services.company_create(actor=actor, owner=owner, team=team, tags=tags, source="import", **fields)


def _create_contact(*, actor, owner, team, tags, fields) -> Contact:
    return services.contact_create(actor=actor, owner=owner, team=team, tags=tags, **fields)


def register_customer_kinds() -> None:
    """Called from CustomersConfig.ready()."""
    register_kind(
        ImportKind(
            name=ImportTarget.COMPANIES,
            label=ImportTarget.COMPANIES.label,
            model=Company,
            fields=columns.COMPANY_FIELDS,
            aliases=columns.COMPANY_ALIASES,
            prepare=_prepare_company,
            find=_find_company,
            create=_create_company,
            update=lambda *, obj, actor, changes: services.company_update(company=obj, actor=actor, **changes),
            restore=_restore,
            check_mapping=_check_company_mapping,
            list_url="customers:company_list",
            list_label=gettext_lazy("Go to companies"),
            order=10,
            revert_order=20,
            notes_to_timeline=True,
        )
    )
    register_kind(
        ImportKind(
            name=ImportTarget.CONTACTS,
            label=ImportTarget.CONTACTS.label,
            model=Contact,
            fields=columns.CONTACT_FIELDS,
            aliases=columns.CONTACT_ALIASES,
            prepare=_contact_data,
            find=_find_contact,
            create=_create_contact,
            update=lambda *, obj, actor, changes: services.contact_update(contact=obj, actor=actor, **changes),
            restore=_restore,
            check_mapping=_check_contact_mapping,
            list_url="customers:contact_list",
            list_label=gettext_lazy("Go to contacts"),
            order=20,
            revert_order=10,
            vcard=True,
            company_column=True,
            notes_to_timeline=True,
        )
    )
