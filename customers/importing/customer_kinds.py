"""The customers' own kinds of import, companies and contacts (see `customers.importing.kinds`):
how a row's text becomes a record's fields, how it finds the record it matches, and how records
are written, updated and restored through the customer services.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.fields import blind_index_for, normalize_email, normalize_phone, normalize_tax_id
from crm.models import User
from customers import services
from customers.importing import columns
from customers.importing.columns import split_full_name
from customers.importing.kinds import ImportKind, register_kind
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
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d", "%m/%d/%Y", "%d.%m.%Y")


def _parse_date(value: str) -> datetime.date:
    text = value.strip()
    for fmt in DATE_FORMATS:
        try:
            return datetime.datetime.strptime(text[:19] if "T" not in text else text[:10], fmt).date()
        except ValueError:
            continue
    try:
        return datetime.date.fromisoformat(text[:10])
    except ValueError:
        raise ValidationError(_("“%(value)s” is not a date (use 2024-05-31).") % {"value": value}) from None


def _company_data(data: dict) -> dict:
    fields = {k: v for k, v in data.items() if k in services.COMPANY_FIELDS}
    if "website" in fields and "://" not in fields["website"]:
        fields["website"] = "https://" + fields["website"]
    if "country" in fields:
        country = fields["country"].strip()
        code = COUNTRIES.get(country.lower(), country.upper() if len(country) == 2 and country.isascii() else None)
        if code is None:
            raise ValidationError(_("Use a two-letter country code such as CN, not “%(value)s”.") % {"value": country})
        fields["country"] = code
    return fields


def _contact_data(data: dict) -> dict:
    fields = {k: v for k, v in data.items() if k in services.CONTACT_FIELDS and k != "company"}
    if "full_name" in data and not ({"family_name", "given_name"} & data.keys()):
        family, given = split_full_name(data["full_name"])
        fields.update({k: v for k, v in (("family_name", family), ("given_name", given)) if v})
    if "email" in fields:
        fields["email"] = fields["email"].lower()
    if "birthday" in fields:
        fields["birthday"] = _parse_date(fields["birthday"])
    if not ({"family_name", "given_name", "email", "mobile", "phone"} & {k for k, v in fields.items() if v}):
        raise ValidationError(_("The row has no name, email or phone."))
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


def _prepare_company(data: dict) -> dict:
    if not data.get("name"):
        raise ValidationError(_("The company name is empty."))
    return _company_data(data)


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
