"""Leads as a kind of import: the customers import pages (mapping, dry run, progress, revert)
write leads through `pipeline.leads`, so imported leads are scored and assigned like any other.

Registered from PipelineConfig.ready(); customers never imports pipeline.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.models import Team, User
from crm.people import find_people
from customers.importing import kinds
from customers.importing.columns import PERSON_ALIASES, split_full_name
from customers.importing.kinds import ImportKind, RowContext, register_kind
from pipeline.leads import lead_create, lead_update, matching_rule
from pipeline.models import Lead, LeadSource

LEAD_IMPORT_FIELDS = {
    "full_name": gettext_lazy("Full name"),
    "family_name": gettext_lazy("Family name"),
    "given_name": gettext_lazy("Given name"),
    "company_name": gettext_lazy("Company"),
    "title": gettext_lazy("Job title"),
    "email": gettext_lazy("Email"),
    "phone": gettext_lazy("Phone"),
    "mobile": gettext_lazy("Mobile"),
    "industry": gettext_lazy("Industry"),
    "province": gettext_lazy("Province / state"),
    "city": gettext_lazy("City"),
    "website": gettext_lazy("Website"),
    "source": gettext_lazy("Source"),
    "notes": gettext_lazy("Notes"),
}
LEAD_ALIASES = {
    **PERSON_ALIASES,
    "full_name": [*PERSON_ALIASES["full_name"], "lead name", "客户姓名"],
    "company_name": [
        "company",
        "company name",
        "organization",
        "organization name",
        "account name",
        "公司",
        "公司名称",
        "单位",
        "企业名称",
    ],
    "industry": ["industry", "行业", "所属行业"],
    "province": ["province", "state", "省", "省份", "省/州"],
    "city": ["city", "城市", "市", "所在城市"],
    "website": ["website", "web site", "url", "网址", "网站", "官网"],
    "source": ["source", "lead source", "来源", "线索来源", "渠道"],
    "notes": ["notes", "note", "description", "comments", "备注", "说明", "附注"],
}
PERSON_FIELDS = {"full_name", "family_name", "given_name", "company_name", "email", "mobile", "phone"}


def _source(text: str) -> LeadSource:
    """A source by its code or its name, or either half of a bilingual name ("展会 Trade show")."""
    wanted = text.strip().lower()
    for source in LeadSource.objects.all():
        names = {source.code.lower(), source.name.lower(), *(part.lower() for part in source.name.split(" ", 1))}
        if wanted in names:
            return source
    raise ValidationError({"source": _("There is no lead source “%(value)s”.") % {"value": text}})


def _check_mapping(fields: set[str]) -> None:
    if not PERSON_FIELDS & fields:
        raise ValidationError(_("Choose at least a name, company, email or phone column."))


def prepare_lead(data: dict, row: RowContext) -> dict:
    """A row's cells as lead_create keywords. An unknown source is left out with a warning; a row
    with nothing to reach or name the lead by is rejected."""
    fields = {k: v for k, v in data.items() if k in LEAD_IMPORT_FIELDS and k != "full_name"}
    if "full_name" in data and not ({"family_name", "given_name"} & data.keys()):
        family, given = split_full_name(data["full_name"])
        fields.update({k: v for k, v in (("family_name", family), ("given_name", given)) if v})
    if not (PERSON_FIELDS & {k for k, v in fields.items() if v}):
        row.reject(_("The row has no name, company, email or phone."))
    kinds.keep_valid_email(fields, row)
    kinds.keep_valid_website(fields, row)
    if "source" in fields:
        text = fields.pop("source")
        try:
            fields["source"] = _source(text)
        except ValidationError:
            row.drop(_("There is no lead source “%(value)s”; left out.") % {"value": text})
    kinds.keep_more_phones(fields, row, slots=("mobile", "phone"))
    row.check()
    return fields


def find_lead(visible, fields: dict) -> Lead | None:
    """The visible lead with the row's email, else its mobile, else its phone (in either column)."""
    for lookup in ({"email": fields.get("email")}, {"phone": fields.get("mobile")}, {"phone": fields.get("phone")}):
        found = find_people(visible, **lookup).order_by("id").first()
        if found:
            return found
    return None


def create_lead(*, actor: User, owner: User, team: Team | None, tags, fields: dict) -> Lead:
    """The importer owns the lead unless an assignment rule matches it; the score is computed either way."""
    probe = Lead(**{k: v for k, v in fields.items() if k != "notes"})
    auto_assign = matching_rule(probe) is not None
    return lead_create(actor=actor, owner=owner, team=team, auto_assign=auto_assign, **fields)


def update_lead(*, obj: Lead, actor: User, changes: dict) -> Lead:
    return lead_update(lead=obj, actor=actor, **changes)


def restore_lead(*, obj: Lead, previous: dict, actor: User) -> None:
    data = dict(previous)
    if "source" in data:
        data["source"] = LeadSource.objects.filter(pk=data["source"]).first() if data["source"] else None
    lead_update(lead=obj, actor=actor, **data)


def register() -> None:
    register_kind(
        ImportKind(
            name="leads",
            label=gettext_lazy("Leads"),
            model=Lead,
            fields=LEAD_IMPORT_FIELDS,
            aliases=LEAD_ALIASES,
            prepare=prepare_lead,
            find=find_lead,
            create=create_lead,
            update=update_lead,
            restore=restore_lead,
            check_mapping=_check_mapping,
            list_url="pipeline:lead_list",
            list_label=gettext_lazy("Go to leads"),
            match_help=gettext_lazy("Rows match a lead you can see by email, then by phone or mobile."),
            order=30,
        )
    )
