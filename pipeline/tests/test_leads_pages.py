"""The lead pages a rep works in: the list (filters, keyset pages, fixed query count), the detail page,
the create form, and the status actions."""

import pytest
from django.urls import reverse
from django.utils import timezone

from pipeline.leads import lead_record_event
from pipeline.models import Lead, ScoringRule
from pipeline.tests.lead_helpers import make_lead, source

pytestmark = pytest.mark.django_db


def test_create_lead_through_the_form(client, cast):
    client.force_login(cast.owner)
    response = client.post(
        reverse("pipeline:lead_create"),
        {
            "family_name": "陈",
            "given_name": "静",
            "company_name": "青木咨询",
            "mobile": "13600000000",
            "source": source("referral").pk,
            "team": cast.team.pk,
        },
    )
    lead = Lead.objects.get()
    assert response.status_code == 302 and response["Location"] == lead.get_absolute_url()
    assert (lead.display_name, lead.owner, lead.team, lead.mobile) == ("陈静", cast.owner, cast.team, "13600000000")


def test_create_form_needs_a_name_and_rejects_bad_input(client, cast):
    client.force_login(cast.owner)
    response = client.post(reverse("pipeline:lead_create"), {"email": "bad", "score": "100"})
    assert response.status_code == 400 and not Lead.objects.exists()


def test_status_actions_and_disqualify_needs_a_reason(client, cast):
    lead = make_lead(owner=cast.owner, team=cast.team)
    client.force_login(cast.owner)
    client.post(reverse("pipeline:lead_mark_contacted", args=[lead.pk]))
    assert Lead.objects.get(pk=lead.pk).status == Lead.Status.CONTACTED
    client.post(reverse("pipeline:lead_disqualify", args=[lead.pk]), {"reason": ""})
    assert Lead.objects.get(pk=lead.pk).status == Lead.Status.CONTACTED
    client.post(reverse("pipeline:lead_disqualify", args=[lead.pk]), {"reason": "无预算"})
    lead.refresh_from_db()
    assert (lead.status, lead.disqualified_reason) == (Lead.Status.DISQUALIFIED, "无预算")
    client.post(reverse("pipeline:lead_qualify", args=[lead.pk]))
    lead.refresh_from_db()
    assert (lead.status, lead.disqualified_reason) == (Lead.Status.QUALIFIED, "")
    assert "Convert" in client.get(lead.get_absolute_url()).content.decode()


def test_list_filters(client, cast):
    hot = make_lead(owner=cast.owner, team=cast.team, given_name="热", source=source("referral"))
    Lead.objects.filter(pk=hot.pk).update(score=80, status=Lead.Status.QUALIFIED)
    cold = make_lead(owner=cast.owner, team=cast.team, given_name="冷")
    client.force_login(cast.owner)
    url = reverse("pipeline:lead_list")

    def ids(**params):
        return [r.pk for r in client.get(url, params).context["rows"]]

    assert ids(status="qualified") == [hot.pk]
    assert ids(source=source("referral").pk) == [hot.pk]
    assert ids(score_min=50) == [hot.pk]
    assert ids(score_max=10) == [cold.pk]
    assert ids(q="冷") == [cold.pk]
    assert set(ids(owner=cast.owner.pk, team=cast.team.pk)) == {hot.pk, cold.pk}
    today = timezone.localdate(hot.created_at).isoformat()  # the day as the user's calendar has it
    assert set(ids(created_from=today, created_to=today)) == {hot.pk, cold.pk}
    assert ids(score_min="x") and client.get(url, {"score_min": "x"}).status_code == 200  # bad filter ignored


def test_list_pages_by_keyset_with_a_fixed_query_count(client, cast, settings, django_assert_max_num_queries):
    settings.PAGE_SIZE = 5
    for i in range(6):
        make_lead(owner=cast.owner, team=cast.team, given_name=f"{i}")
    client.force_login(cast.manager)
    url = reverse("pipeline:lead_list")
    first = client.get(url)
    with django_assert_max_num_queries(30) as captured:
        first = client.get(url)
    baseline = len(captured.captured_queries)
    page = first.context["page"]
    second = client.get(f"{url}?after={page.next_cursor}")
    assert {r.pk for r in second.context["rows"]}.isdisjoint({r.pk for r in first.context["rows"]})
    for i in range(20):
        make_lead(owner=cast.owner, team=cast.team, given_name=f"more {i}", source=source("phone"))
    with django_assert_max_num_queries(baseline):
        client.get(url)


def test_detail_query_count_does_not_grow_with_events(client, cast, django_assert_max_num_queries):
    ScoringRule.objects.create(name="Form", kind="event", event="web_form", points=1)
    lead = make_lead(owner=cast.owner, team=cast.team)
    client.force_login(cast.manager)
    client.get(lead.get_absolute_url())
    with django_assert_max_num_queries(40) as captured:
        client.get(lead.get_absolute_url())
    baseline = len(captured.captured_queries)
    for _ in range(10):
        lead_record_event(lead=lead, event="web_form")
    with django_assert_max_num_queries(baseline):
        response = client.get(lead.get_absolute_url())
    assert "×10" in response.content.decode()


def test_converted_lead_is_read_only(client, cast):
    lead = make_lead(owner=cast.owner, team=cast.team)
    Lead.objects.filter(pk=lead.pk).update(status=Lead.Status.CONVERTED)
    client.force_login(cast.owner)
    response = client.post(reverse("pipeline:lead_edit", args=[lead.pk]), {"family_name": "X"})
    assert response.status_code == 302 and Lead.objects.get(pk=lead.pk).family_name == "李"
    client.post(reverse("pipeline:lead_qualify", args=[lead.pk]))
    assert Lead.objects.get(pk=lead.pk).status == Lead.Status.CONVERTED
