"""Small builders for the opportunity tests."""

from decimal import Decimal

from customers.models import Company
from pipeline.models import LostReason, Opportunity, Pipeline, Stage
from pipeline.opportunities import opportunity_create


def new_business() -> Pipeline:
    return Pipeline.objects.get(name="新业务 New business")


def stage(name_part: str, pipeline: Pipeline | None = None) -> Stage:
    return (pipeline or new_business()).stages.get(name__contains=name_part)


def lost_reason() -> LostReason:
    return LostReason.objects.order_by("pk").first()


def make_company(*, owner, team=None, name="星河科技有限公司") -> Company:
    return Company.objects.create(name=name, owner=owner, team=team)


def make_opportunity(*, owner, team=None, company=None, amount="1000", stage_name="Prospecting", **data) -> Opportunity:
    company = company or make_company(owner=owner, team=team)
    return opportunity_create(
        actor=owner,
        owner=owner,
        team=team,
        company=company,
        name=data.pop("name", "年度采购 Annual order"),
        stage=stage(stage_name),
        amount=Decimal(amount),
        **data,
    )
