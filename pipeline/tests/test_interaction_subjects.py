"""The sales module's timeline entries name the record that decides who reads them, whether written
now by the services or, for entries from before, filled in by the migrations."""

from datetime import timedelta
from importlib import import_module
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection
from django.utils import timezone

from customers.models import Interaction
from pipeline.leads import lead_convert, lead_set_status
from pipeline.models import Lead, Task
from pipeline.opportunities import opportunity_move
from pipeline.tasks_services import task_complete
from pipeline.tests.lead_helpers import make_lead
from pipeline.tests.opportunity_helpers import make_company, make_opportunity, stage

pytestmark = pytest.mark.django_db


def _task(cast, **related) -> Task:
    return Task.objects.create(
        owner=cast.owner, team=cast.team, title="Call", due_at=timezone.now() + timedelta(hours=1), **related
    )


def _entry_of(source_ref: str) -> Interaction:
    return Interaction.objects.get(source_ref=source_ref)


@pytest.fixture
def history(cast):
    """One entry of every kind the sales module writes, as the services write them now."""
    company = make_company(owner=cast.owner, team=cast.team)
    deal = make_opportunity(owner=cast.owner, team=cast.team, company=company)
    opportunity_move(opportunity=deal, stage=stage("Qualification"), actor=cast.owner)
    lead = make_lead(owner=cast.owner, team=cast.team)
    on_deal, on_lead, on_company = (
        _task(cast, opportunity=deal),
        _task(cast, lead=lead, company=company),
        _task(cast, company=company),
    )
    for task in (on_deal, on_lead, on_company):
        task_complete(task=task, actor=cast.owner)
    qualified = lead_set_status(
        lead=make_lead(owner=cast.owner, team=cast.team), actor=cast.owner, status=Lead.Status.QUALIFIED
    )
    converted = lead_convert(lead=qualified, actor=cast.owner)
    return SimpleNamespace(
        deal=deal,
        lead=lead,
        on_deal=on_deal,
        on_lead=on_lead,
        on_company=on_company,
        converted=converted,
        company=company,
    )


def test_services_name_the_subject(history):
    assert {e.subject for e in Interaction.objects.filter(source_ref=f"pipeline.opportunity:{history.deal.pk}")} == {
        history.deal
    }
    assert _entry_of(f"pipeline.task:{history.on_deal.pk}").subject == history.deal
    assert _entry_of(f"pipeline.task:{history.on_lead.pk}").subject == history.lead
    assert _entry_of(f"pipeline.task:{history.on_company.pk}").subject == history.on_company
    conversion = _entry_of(f"pipeline.lead:{history.converted.pk}")
    assert conversion.subject == history.converted.converted_opportunity


def test_the_migrations_fill_old_entries_as_the_services_do(history):
    written = dict(Interaction.objects.values_list("pk", "subject_id"))
    types = dict(Interaction.objects.values_list("pk", "subject_type_id"))
    assert all(types.values())
    Interaction.objects.update(subject_type=None, subject_id=None)  # entries from before the columns

    editor = SimpleNamespace(connection=connection)
    for _ in range(2):  # an interrupted run is simply run again
        import_module("customers.migrations.0008_interaction_subject_backfill").fill_subjects(apps, editor)
        import_module("pipeline.migrations.0008_interaction_subjects").narrow_subjects(apps, editor)

    assert dict(Interaction.objects.values_list("pk", "subject_id")) == written
    assert dict(Interaction.objects.values_list("pk", "subject_type_id")) == types
