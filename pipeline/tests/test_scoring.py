"""Lead scores follow the admin's rules: field values and behaviour, recomputed on every change."""

import pytest

from pipeline.leads import lead_record_event, lead_update, leads_rescore
from pipeline.models import Lead, ScoringRule
from pipeline.tests.lead_helpers import make_lead, source

pytestmark = pytest.mark.django_db


@pytest.fixture
def rules():
    ScoringRule.objects.create(name="Referral", kind="field", field="source", value="referral", points=30)
    ScoringRule.objects.create(name="Software", kind="field", field="industry", value="Software", points=20)
    ScoringRule.objects.create(name="Has email", kind="field", field="has_email", points=5)
    ScoringRule.objects.create(name="Form", kind="event", event="web_form", points=10)
    ScoringRule.objects.create(name="Inactive", kind="field", field="city", value="上海", points=99, active=False)


def test_score_counts_matching_field_rules_on_create(cast, rules):
    lead = make_lead(owner=cast.owner, source=source("referral"), industry="software", city="上海")
    assert lead.score == 30 + 20  # case-insensitive value; inactive rule ignored


def test_score_is_recomputed_when_the_lead_changes(cast, rules):
    lead = make_lead(owner=cast.owner)
    assert lead.score == 0
    lead_update(lead=lead, actor=cast.owner, email="li@example.com", industry="Software")
    assert Lead.objects.get(pk=lead.pk).score == 25


def test_each_behaviour_event_adds_points(cast, rules):
    lead = make_lead(owner=cast.owner)
    lead_record_event(lead=lead, event="web_form")
    lead_record_event(lead=lead, event="web_form")
    lead_record_event(lead=lead, event="campaign_click")  # no rule yet: no points
    assert Lead.objects.get(pk=lead.pk).score == 20


def test_recompute_after_rules_change_updates_every_lead(cast, rules):
    leads = [make_lead(owner=cast.owner, industry="Software") for _ in range(3)]
    ScoringRule.objects.filter(name="Software").update(points=50)
    assert leads_rescore(batch_size=2) == 3
    assert set(Lead.objects.filter(pk__in=[x.pk for x in leads]).values_list("score", flat=True)) == {50}
    assert leads_rescore() == 0  # idempotent


def test_lists_sort_by_score(client, cast, rules):
    low = make_lead(owner=cast.owner, given_name="低")
    high = make_lead(owner=cast.owner, given_name="高", industry="Software")
    client.force_login(cast.owner)
    # The list opens with the best leads first; the header flips it.
    rows = client.get("/pipeline/leads/").context["rows"]
    assert [r.pk for r in rows] == [high.pk, low.pk]
    rows = client.get("/pipeline/leads/?sort=-score").context["rows"]
    assert [r.pk for r in rows] == [low.pk, high.pk]


def test_admin_action_recomputes_the_selected_leads(client, cast, rules):
    lead = make_lead(owner=cast.owner, industry="Software")
    ScoringRule.objects.filter(name="Software").update(points=70)
    cast.admin.is_staff = True
    cast.admin.save()
    client.force_login(cast.admin)
    response = client.post(
        "/admin/pipeline/lead/", {"action": "rescore_selected", "_selected_action": [lead.pk]}, follow=True
    )
    assert response.status_code == 200
    assert Lead.objects.get(pk=lead.pk).score == 70


def test_admin_screens_for_lead_configuration_open(client, cast, rules):
    cast.admin.is_staff = True
    cast.admin.save()
    client.force_login(cast.admin)
    for url in ("leadsource", "scoringrule", "assignmentrule", "webform", "lead"):
        assert client.get(f"/admin/pipeline/{url}/").status_code == 200
        assert client.get(f"/admin/pipeline/{url}/add/").status_code == 200
