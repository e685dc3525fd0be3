"""factory_boy factories for the sales pipeline's models.

Pipelines, stages, lead sources and lost reasons are reference data seeded by `crm.defaults`:
their factories return the seeded rows (get-or-create on the natural key) unless given another
name. Leads, opportunities and tasks follow `crm.tests.factories.OwnedFactory`.

    OpportunityFactory(owner=rep)            # an open deal at a company of rep's, in the first stage
    OpportunityFactory(won=True)             # in the default pipeline's won stage, won today
    LeadFactory(converted=True)              # with the company, contact and deal it became
    TaskFactory(overdue=True, owner=rep)
"""

import datetime
import hashlib
from decimal import Decimal

import factory
from django.utils import timezone

from crm.tests.factories import OwnedFactory, TeamFactory, UserFactory
from customers.tests.factories import CompanyFactory, ContactFactory
from pipeline.defaults import LOST_REASONS, PIPELINES, SOURCES
from pipeline.models import (
    AssignmentRule,
    CalendarFeed,
    Lead,
    LeadEvent,
    LeadSource,
    LostReason,
    Opportunity,
    Pipeline,
    Quota,
    ReminderDelivery,
    RoundRobinState,
    ScoringRule,
    Stage,
    StageChange,
    StageTotal,
    Task,
    WebForm,
)

DEFAULT_PIPELINE, DEFAULT_STAGES = next(iter(PIPELINES.items()))


def _default_stage(kind: str) -> dict:
    """The fields of the default pipeline's first stage of a kind, as `crm.defaults` seeds it."""
    for order, (name, probability, stage_kind, stale_after_days) in enumerate(DEFAULT_STAGES):
        if stage_kind == kind:
            return {
                "name": name,
                "order": order,
                "probability": probability,
                "kind": kind,
                "stale_after_days": stale_after_days,
            }
    raise LookupError(kind)


_FIRST_STAGE = _default_stage(Stage.Kind.OPEN)


def _in_days(days: int):
    return lambda: timezone.localdate() + datetime.timedelta(days=days)


def _in_hours(hours: int):
    return lambda: timezone.now() + datetime.timedelta(hours=hours)


class PipelineFactory(factory.django.DjangoModelFactory):
    """The seeded default pipeline; another name adds a pipeline."""

    class Meta:
        model = Pipeline
        django_get_or_create = ("name",)

    name = DEFAULT_PIPELINE
    is_default = factory.LazyAttribute(lambda pipeline: pipeline.name == DEFAULT_PIPELINE)


class StageFactory(factory.django.DjangoModelFactory):
    """The default pipeline's first open stage (or its won / lost stage through a trait)."""

    class Meta:
        model = Stage
        django_get_or_create = ("pipeline", "name")

    pipeline = factory.SubFactory(PipelineFactory)
    name = _FIRST_STAGE["name"]
    order = _FIRST_STAGE["order"]
    probability = _FIRST_STAGE["probability"]
    kind = Stage.Kind.OPEN
    stale_after_days = _FIRST_STAGE["stale_after_days"]

    class Params:
        won = factory.Trait(**_default_stage(Stage.Kind.WON))
        lost = factory.Trait(**_default_stage(Stage.Kind.LOST))


class LostReasonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LostReason
        django_get_or_create = ("name",)

    name = LOST_REASONS[0]


class LeadSourceFactory(factory.django.DjangoModelFactory):
    """A seeded lead source by its code ("referral" unless given); an unknown code adds one."""

    class Meta:
        model = LeadSource
        django_get_or_create = ("code",)

    code = "referral"
    name = factory.LazyAttribute(lambda source: dict(SOURCES).get(source.code, source.code))


class OpportunityFactory(OwnedFactory):
    """An open deal at a company of the same owner and team, with its first stage change."""

    class Meta:
        model = Opportunity
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"年度采购 Annual order {n}")
    company = factory.SubFactory(
        CompanyFactory, owner=factory.SelfAttribute("..owner"), team=factory.SelfAttribute("..team")
    )
    stage = factory.SubFactory(StageFactory)
    pipeline = factory.SelfAttribute("stage.pipeline")
    amount = Decimal("50000.00")
    expected_close_date = factory.LazyFunction(_in_days(30))
    stage_changed_at = factory.LazyFunction(timezone.now)
    history = factory.RelatedFactory("pipeline.tests.factories.StageChangeFactory", factory_related_name="opportunity")

    class Params:
        won = factory.Trait(
            stage=factory.SubFactory(StageFactory, won=True),
            won_at=factory.LazyFunction(timezone.now),
        )
        lost = factory.Trait(
            stage=factory.SubFactory(StageFactory, lost=True),
            lost_at=factory.LazyFunction(timezone.now),
            lost_reason=factory.SubFactory(LostReasonFactory),
        )


class StageChangeFactory(factory.django.DjangoModelFactory):
    """The opportunity entering its current stage, by its owner."""

    class Meta:
        model = StageChange

    opportunity = factory.SubFactory(OpportunityFactory, history=None)
    from_stage = None
    to_stage = factory.SelfAttribute("opportunity.stage")
    actor = factory.SelfAttribute("opportunity.owner")
    changed_at = factory.SelfAttribute("opportunity.stage_changed_at")


class LeadFactory(OwnedFactory):
    """A new lead: a person at a company, from a referral."""

    class Meta:
        model = Lead
        skip_postgeneration_save = True

    family_name = "李"
    given_name = factory.Sequence(lambda n: f"雷{n}")
    company_name = factory.Sequence(lambda n: f"星河科技 {n} 有限公司")
    title = "采购经理"
    email = factory.Sequence(lambda n: f"lead{n}@example.com")
    mobile = factory.Sequence(lambda n: f"138{n:08d}")
    industry = "软件"
    city = "深圳"
    source = factory.SubFactory(LeadSourceFactory)

    class Params:
        contacted = factory.Trait(status=Lead.Status.CONTACTED)
        qualified = factory.Trait(status=Lead.Status.QUALIFIED)
        disqualified = factory.Trait(status=Lead.Status.DISQUALIFIED, disqualified_reason="无预算 No budget")
        # What `lead_convert` leaves: the customer and the deal the lead became, all the owner's.
        converted = factory.Trait(
            status=Lead.Status.CONVERTED,
            converted_at=factory.LazyFunction(timezone.now),
            converted_company=factory.SubFactory(
                CompanyFactory,
                owner=factory.SelfAttribute("..owner"),
                team=factory.SelfAttribute("..team"),
                name=factory.SelfAttribute("..company_name"),
                city=factory.SelfAttribute("..city"),
            ),
            converted_contact=factory.SubFactory(
                ContactFactory,
                owner=factory.SelfAttribute("..owner"),
                team=factory.SelfAttribute("..team"),
                company=factory.SelfAttribute("..converted_company"),
                family_name=factory.SelfAttribute("..family_name"),
                given_name=factory.SelfAttribute("..given_name"),
                email=factory.SelfAttribute("..email"),
            ),
            converted_opportunity=factory.SubFactory(
                OpportunityFactory,
                owner=factory.SelfAttribute("..owner"),
                team=factory.SelfAttribute("..team"),
                company=factory.SelfAttribute("..converted_company"),
                contact=factory.SelfAttribute("..converted_contact"),
                name=factory.SelfAttribute("..company_name"),
            ),
        )

    @factory.post_generation
    def opportunity_source(lead, create, extracted, **kwargs):
        # The deal a lead became names the lead as its source; it exists only after the lead.
        opportunity = lead.converted_opportunity
        if create and opportunity is not None and opportunity.source_lead_id is None:
            opportunity.source_lead = lead
            opportunity.save(update_fields=["source_lead"])


class LeadEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LeadEvent

    lead = factory.SubFactory(LeadFactory)
    event = ScoringRule.Event.WEB_FORM
    occurred_at = factory.LazyFunction(timezone.now)


class ScoringRuleFactory(factory.django.DjangoModelFactory):
    """Points for a field value (software leads), or for a behaviour through `behaviour=True`."""

    class Meta:
        model = ScoringRule

    name = factory.Sequence(lambda n: f"软件行业 Software {n}")
    kind = ScoringRule.Kind.FIELD
    field = "industry"
    value = "软件"
    points = 10

    class Params:
        behaviour = factory.Trait(kind=ScoringRule.Kind.EVENT, field="", value="", event=ScoringRule.Event.WEB_FORM)


class AssignmentRuleFactory(factory.django.DjangoModelFactory):
    """Send every new lead to a team by round robin (narrow it with source, region, industry)."""

    class Meta:
        model = AssignmentRule

    name = factory.Sequence(lambda n: f"全部线索 All leads {n}")
    team = factory.SubFactory(TeamFactory)

    class Params:
        least_loaded = factory.Trait(method=AssignmentRule.Method.LEAST_LOADED)


class RoundRobinStateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoundRobinState

    team = factory.SubFactory(TeamFactory)
    last_user = factory.SubFactory(UserFactory, team=factory.SelfAttribute("..team"))


class WebFormFactory(factory.django.DjangoModelFactory):
    """An active contact form that asks for a name, company and email; the rules pick the team."""

    class Meta:
        model = WebForm

    name = factory.Sequence(lambda n: f"联系我们 Contact us {n}")
    slug = factory.Sequence(lambda n: f"contact-us-{n}")
    fields = factory.List(["family_name", "given_name", "company_name", "email", "phone", "notes"])
    required_fields = factory.List(["company_name", "email"])
    source = factory.SubFactory(LeadSourceFactory, code="web_form")
    title = "联系我们 Contact us"
    thank_you_text = "谢谢！我们会尽快联系您。"


class TaskFactory(OwnedFactory):
    """An open task due tomorrow; traits for overdue, completed, cancelled and a deal's task."""

    class Meta:
        model = Task

    title = factory.Sequence(lambda n: f"回电 Call back {n}")
    due_at = factory.LazyFunction(_in_hours(24))

    class Params:
        overdue = factory.Trait(due_at=factory.LazyFunction(_in_hours(-24)))
        completed = factory.Trait(status=Task.Status.DONE, completed_at=factory.LazyFunction(timezone.now))
        cancelled = factory.Trait(status=Task.Status.CANCELLED)
        with_opportunity = factory.Trait(
            kind=Task.Kind.CALL,
            opportunity=factory.SubFactory(
                OpportunityFactory, owner=factory.SelfAttribute("..owner"), team=factory.SelfAttribute("..team")
            ),
            company=factory.SelfAttribute("opportunity.company"),
        )


class QuotaFactory(factory.django.DjangoModelFactory):
    """A user's target for this month."""

    class Meta:
        model = Quota

    user = factory.SubFactory(UserFactory)
    month = factory.LazyFunction(lambda: timezone.localdate().replace(day=1))
    amount = Decimal("200000.00")


class ReminderDeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReminderDelivery

    key = factory.Sequence(lambda n: f"task-overdue:{n}:1767225600")
    user = factory.SubFactory(UserFactory)
    sent_at = factory.LazyFunction(timezone.now)


class CalendarFeedFactory(factory.django.DjangoModelFactory):
    """A user's feed; `token` (a parameter) is the secret its address carries."""

    class Meta:
        model = CalendarFeed

    class Params:
        token = factory.Sequence(lambda n: f"calendar-feed-token-{n}")

    user = factory.SubFactory(UserFactory)
    # Stored as pipeline.calendar stores it: the SHA-256 of the token, never the token.
    token_hash = factory.LazyAttribute(lambda feed: hashlib.sha256(feed.token.encode()).hexdigest())


class StageTotalFactory(factory.django.DjangoModelFactory):
    """A cell of the board's totals: made by saving deals, so this is for tests of the recount
    (a cell no deal accounts for)."""

    class Meta:
        model = StageTotal

    stage = factory.SubFactory(StageFactory)
    owner_key = factory.Sequence(lambda n: 900_000 + n)
    close_month = factory.LazyFunction(lambda: timezone.localdate().replace(day=1))
    deals = 1
    amount = Decimal("1000.00")
