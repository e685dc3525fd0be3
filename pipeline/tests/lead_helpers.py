"""Small builders for the lead tests."""

from pipeline.leads import lead_create
from pipeline.models import Lead, LeadSource


def make_lead(*, owner, team=None, **data) -> Lead:
    data.setdefault("family_name", "李")
    data.setdefault("given_name", "雷")
    data.setdefault("company_name", "星河科技有限公司")
    return lead_create(actor=owner, owner=owner, team=team, **data)


def source(code: str) -> LeadSource:
    return LeadSource.objects.get(code=code)
