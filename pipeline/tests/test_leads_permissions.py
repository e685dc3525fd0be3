"""Who may do what with a lead, over every lead URL: the owner, a teammate (sees only what is shared),
the team's manager, an outsider, an auditor (sees all, changes nothing) and an administrator.
Invisible answers 404, visible-but-not-allowed 403, and a refused POST changes nothing."""

import pytest
from auditlog.models import LogEntry
from django.forms.models import model_to_dict
from django.urls import reverse

from crm import roles
from crm.testing import make_user
from customers.models import Company
from pipeline.models import Lead, Opportunity
from pipeline.tests.lead_helpers import make_lead

pytestmark = pytest.mark.django_db

VIEWERS = {"owner", "manager", "auditor", "admin"}
CHANGERS = {"owner", "manager", "admin"}


@pytest.fixture
def lead(cast):
    lead = make_lead(owner=cast.owner, team=cast.team, mobile="13812345678", phone="021-55556666")
    Lead.objects.filter(pk=lead.pk).update(status=Lead.Status.QUALIFIED)
    return Lead.objects.get(pk=lead.pk)


def snapshot(lead):
    return (
        model_to_dict(Lead.objects.get(pk=lead.pk)),
        Lead.objects.count(),
        Company.objects.count(),
        Opportunity.objects.count(),
    )


def expected_for(who, allowed: set, *, ok: int, visible: set = VIEWERS) -> int:
    if who in allowed:
        return ok
    return 403 if who in visible else 404


GET_PAGES = [
    ("pipeline:lead_detail", CHANGERS | {"auditor"}),
    ("pipeline:lead_edit", CHANGERS),
    ("pipeline:lead_convert", CHANGERS),
]


@pytest.mark.parametrize("url_name,allowed", GET_PAGES)
def test_get_pages(client, cast, lead, url_name, allowed):
    for who, user in cast.as_dict().items():
        client.force_login(user)
        response = client.get(reverse(url_name, args=[lead.pk]))
        assert response.status_code == expected_for(who, allowed, ok=200), (who, url_name)


def test_list_and_create_pages(client, cast, lead):
    for who, user in cast.as_dict().items():
        client.force_login(user)
        rows = client.get(reverse("pipeline:lead_list")).context["rows"]
        assert (lead in list(rows)) == (who in VIEWERS), who
        create = client.get(reverse("pipeline:lead_create")).status_code
        assert create == (403 if who == "auditor" else 200), who
    support = make_user(role=roles.SUPPORT_AGENT)
    client.force_login(support)
    assert client.get(reverse("pipeline:lead_list")).status_code == 403
    assert client.get(reverse("pipeline:lead_create")).status_code == 403
    client.logout()
    assert client.get(reverse("pipeline:lead_list")).status_code == 302


POSTS = [
    ("pipeline:lead_edit", {"family_name": "改", "company_name": "X", "team": "TEAM"}, CHANGERS),
    ("pipeline:lead_mark_contacted", {}, CHANGERS),
    ("pipeline:lead_disqualify", {"reason": "No budget"}, CHANGERS),
    ("pipeline:lead_reassign", {"owner": "SELF"}, CHANGERS),
    ("pipeline:lead_convert", {"company": "new", "contact": "new", "opportunity_name": "D", "amount": "1"}, CHANGERS),
    ("pipeline:lead_delete", {}, CHANGERS),
]


@pytest.mark.parametrize("url_name,data,allowed", POSTS)
def test_posts_are_refused_without_a_trace(client, cast, lead, url_name, data, allowed):
    for who, user in cast.as_dict().items():
        if who in allowed:
            continue
        client.force_login(user)
        before = snapshot(lead)
        payload = {k: (user.pk if v == "SELF" else cast.team.pk if v == "TEAM" else v) for k, v in data.items()}
        response = client.post(reverse(url_name, args=[lead.pk]), payload)
        assert response.status_code == (403 if who in VIEWERS else 404), (who, url_name)
        assert snapshot(lead) == before, (who, url_name)


@pytest.mark.parametrize("url_name,data,allowed", POSTS)
def test_posts_work_for_those_allowed(client, cast, lead, url_name, data, allowed):
    for who in sorted(allowed):
        user = cast.as_dict()[who]
        Lead.objects.filter(pk=lead.pk).update(
            status=Lead.Status.QUALIFIED, owner=cast.owner, converted_opportunity=None
        )
        if not Lead.objects.filter(pk=lead.pk).exists():
            return  # deleted by the previous user
        client.force_login(user)
        payload = {k: (user.pk if v == "SELF" else cast.team.pk if v == "TEAM" else v) for k, v in data.items()}
        response = client.post(reverse(url_name, args=[lead.pk]), payload)
        assert response.status_code == 302, (
            who,
            url_name,
            getattr(response, "context", None) and response.context.get("form") and response.context["form"].errors,
        )


def test_reveal_needs_the_reveal_permission_and_is_audited(client, cast, lead):
    url = reverse("pipeline:lead_reveal", args=[lead.pk, "mobile"])
    expected = {"owner": 403, "teammate": 404, "manager": 200, "outsider": 404, "auditor": 200, "admin": 200}
    for who, user in cast.as_dict().items():
        client.force_login(user)
        before = LogEntry.objects.filter(action=LogEntry.Action.ACCESS, object_id=lead.pk).count()
        response = client.post(url, HTTP_HX_REQUEST="true")
        assert response.status_code == expected[who], who
        after = LogEntry.objects.filter(action=LogEntry.Action.ACCESS, object_id=lead.pk).count()
        if expected[who] == 200:
            assert "13812345678" in response.content.decode() and after == before + 1
        else:
            assert after == before
    client.force_login(cast.manager)
    assert client.post(reverse("pipeline:lead_reveal", args=[lead.pk, "notes"])).status_code == 404


def test_detail_masks_phone_numbers(client, cast, lead):
    client.force_login(cast.owner)
    body = client.get(lead.get_absolute_url()).content.decode()
    assert "138****5678" in body and "13812345678" not in body


def test_edit_cannot_move_a_lead_out_of_reach_or_to_a_foreign_team(client, cast, lead):
    client.force_login(cast.owner)
    before = snapshot(lead)
    response = client.post(
        reverse("pipeline:lead_edit", args=[lead.pk]),
        {"family_name": "李", "company_name": "X", "team": cast.other_team.pk, "owner": cast.owner.pk},
    )
    assert response.status_code == 400
    assert snapshot(lead) == before


def test_bulk_actions_touch_only_what_the_user_may_change(client, cast, lead):
    foreign = make_lead(owner=cast.outsider, team=cast.other_team)
    client.force_login(cast.owner)
    client.post(
        reverse("pipeline:lead_list"),
        {"action": "assign_owner", "ids": [lead.pk, foreign.pk], "owner": cast.owner.pk},
    )
    client.post(reverse("pipeline:lead_list"), {"action": "delete", "ids": [foreign.pk]})
    assert Lead.objects.filter(pk=foreign.pk, owner=cast.outsider).exists()
    client.force_login(cast.manager)
    client.post(reverse("pipeline:lead_list"), {"action": "assign_owner", "ids": [lead.pk], "owner": cast.teammate.pk})
    assert Lead.objects.get(pk=lead.pk).owner == cast.teammate
    assert LogEntry.objects.filter(object_id=lead.pk, additional_data__event="bulk_assign_owner").exists()


def test_search_finds_only_visible_leads(client, cast, lead):
    hidden = make_lead(owner=cast.outsider, team=cast.other_team, company_name="星河隐藏公司")
    client.force_login(cast.owner)
    body = client.get(reverse("search"), {"q": "星河"}).content.decode()
    assert lead.get_absolute_url() in body and hidden.get_absolute_url() not in body
