"""Every pipeline factory makes a record that passes full_clean(), reusing the seeded reference data."""

import pytest

from crm.tests.factories import TeamFactory, factories_in, models_without_factory
from pipeline.models import LeadSource, LostReason, Pipeline, Stage
from pipeline.task_selectors import my_tasks_bucket
from pipeline.tests import factories
from pipeline.tests.factories import (
    AssignmentRuleFactory,
    LeadFactory,
    OpportunityFactory,
    ScoringRuleFactory,
    StageFactory,
    TaskFactory,
)

pytestmark = pytest.mark.django_db

FACTORIES = factories_in(factories)
TRAITS = [
    (StageFactory, "won"),
    (StageFactory, "lost"),
    (OpportunityFactory, "won"),
    (OpportunityFactory, "lost"),
    (LeadFactory, "contacted"),
    (LeadFactory, "qualified"),
    (LeadFactory, "disqualified"),
    (LeadFactory, "converted"),
    (ScoringRuleFactory, "behaviour"),
    (AssignmentRuleFactory, "least_loaded"),
    (TaskFactory, "overdue"),
    (TaskFactory, "completed"),
    (TaskFactory, "cancelled"),
    (TaskFactory, "with_opportunity"),
]


def test_every_model_has_a_factory():
    assert models_without_factory("pipeline", FACTORIES) == set()


@pytest.mark.parametrize("factory", FACTORIES, ids=lambda f: f.__name__)
def test_factory_makes_a_valid_record(factory):
    factory().full_clean()


@pytest.mark.parametrize(("factory", "trait"), TRAITS, ids=lambda p: getattr(p, "__name__", p))
def test_trait_makes_a_valid_record(factory, trait):
    factory(**{trait: True}).full_clean()


def test_reference_data_is_reused_not_duplicated():
    models = (Pipeline, Stage, LeadSource, LostReason)
    before = [model.objects.count() for model in models]
    OpportunityFactory(won=True)
    OpportunityFactory(lost=True)
    LeadFactory(converted=True)
    assert [model.objects.count() for model in models] == before


def test_an_opportunity_is_at_its_owners_company_with_its_stage_history():
    team = TeamFactory()
    deal = OpportunityFactory(team=team, won=True)
    assert deal.owner.teams.get() == team and (deal.company.owner, deal.company.team) == (deal.owner, team)
    assert deal.stage.kind == Stage.Kind.WON and deal.pipeline == deal.stage.pipeline and deal.won_at
    history = [(c.from_stage, c.to_stage, c.actor) for c in deal.stage_changes.all()]
    assert history == [(None, deal.stage, deal.owner)]


def test_a_converted_lead_points_at_what_it_became():
    lead = LeadFactory(converted=True)
    deal = lead.converted_opportunity
    assert deal.source_lead == lead and deal.company == lead.converted_company == lead.converted_contact.company
    assert {deal.owner, lead.converted_company.owner, lead.converted_contact.owner} == {lead.owner}


def test_an_overdue_task_is_in_its_owners_overdue_bucket():
    task = TaskFactory(overdue=True)
    assert list(my_tasks_bucket(user=task.owner, bucket="overdue").items) == [task]
