"""Record-level rules on pipeline records: writes on a related record need change on it, a share
grants neither ownership nor deleting, and the lead and opportunity screens answer each person
of the cast as the matrix says."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from crm.services import record_share
from crm.testing import check_permission_matrix
from customers.models import Company, Interaction
from pipeline import leads, tasks_services
from pipeline import opportunities as services
from pipeline.models import Lead, Opportunity, Task
from pipeline.tests.opportunity_helpers import make_company, make_opportunity
from pipeline.tests.task_helpers import make_task


@pytest.mark.django_db
def test_a_viewer_of_a_customer_cannot_write_its_history_by_completing_a_task(client, cast):
    company = make_company(owner=cast.owner, team=cast.team)
    record_share(obj=company, recipient=cast.outsider, level="view", actor=cast.owner)
    task = make_task(owner=cast.outsider, team=cast.other_team, company=company, title="回访")
    with pytest.raises(PermissionDenied):
        tasks_services.task_complete(task=task, actor=cast.outsider)
    client.force_login(cast.outsider)
    response = client.post(reverse("pipeline:task_complete", args=[task.pk]), follow=True)
    assert response.status_code == 200
    task.refresh_from_db()
    assert task.status == Task.Status.OPEN
    assert not Interaction.objects.filter(company=company).exists()
    # With an edit share the same completion is allowed and reaches the history.
    record_share(obj=company, recipient=cast.outsider, level="change", actor=cast.owner)
    tasks_services.task_complete(task=task, actor=cast.outsider)
    assert Interaction.objects.filter(company=company, summary="回访").exists()


@pytest.mark.django_db
def test_an_edit_share_on_a_deal_cannot_take_it_or_move_it_to_another_team(cast):
    deal = make_opportunity(owner=cast.owner, team=cast.team)
    record_share(obj=deal, recipient=cast.share_editor, level="change", actor=cast.owner)
    services.opportunity_update(opportunity=deal, actor=cast.share_editor, name="新名字")
    for change in ({"owner": cast.share_editor}, {"team": cast.other_team}):
        with pytest.raises(PermissionDenied):
            services.opportunity_update(opportunity=deal, actor=cast.share_editor, **change)
    with pytest.raises(PermissionDenied):
        services.opportunity_delete(opportunity=deal, actor=cast.share_editor)
    deal.refresh_from_db()
    assert (deal.name, deal.owner, deal.team) == ("新名字", cast.owner, cast.team)


@pytest.mark.django_db
def test_an_edit_share_on_a_lead_cannot_reassign_it(client, cast):
    lead = leads.lead_create(actor=cast.owner, family_name="李", given_name="雷", team=cast.team)
    record_share(obj=lead, recipient=cast.share_editor, level="change", actor=cast.owner)
    with pytest.raises(PermissionDenied):
        leads.lead_assign(lead=lead, actor=cast.share_editor, owner=cast.share_editor)
    client.force_login(cast.share_editor)
    response = client.post(reverse("pipeline:lead_reassign", args=[lead.pk]), {"owner": cast.share_editor.pk})
    assert response.status_code == 403
    lead.refresh_from_db()
    assert lead.owner == cast.owner


@pytest.mark.django_db
def test_share_recipients_cannot_share_onward_or_delete_pipeline_records(client, cast):
    company = make_company(owner=cast.owner, team=cast.team)
    deal = make_opportunity(owner=cast.owner, team=cast.team, company=company)
    record_share(obj=deal, recipient=cast.share_editor, level="change", actor=cast.owner)
    client.force_login(cast.share_editor)
    share_url = reverse("crm:share_add", args=["pipeline.opportunity", deal.pk])
    assert client.post(share_url, {"user": cast.outsider.pk, "level": "view"}).status_code == 403
    assert client.post(reverse("pipeline:opportunity_delete", args=[deal.pk])).status_code == 403
    assert Opportunity.objects.filter(pk=deal.pk).exists()
    dialog = client.get(reverse("crm:share", args=["pipeline.opportunity", deal.pk]))
    assert dialog.status_code == 200 and not dialog.context["can_share"]


# --- Delete refuses clearly when something depends on the record -----------------------------------


@pytest.mark.django_db
def test_delete_of_a_company_with_deals_is_refused_with_links(client, cast):
    company = make_company(owner=cast.owner, team=cast.team)
    deal = make_opportunity(owner=cast.owner, team=cast.team, company=company)
    client.force_login(cast.manager)  # reps may not delete customers at all; their manager may
    response = client.post(reverse("customers:company_delete", args=[company.pk]), follow=True)
    assert response.status_code == 200
    body = response.content.decode()
    assert "cannot be deleted" in body and deal.get_absolute_url() in body
    assert Company.objects.filter(pk=company.pk).exists()
    # The bulk action reports the same refusal instead of failing.
    response = client.post(reverse("customers:company_list"), {"action": "delete", "ids": [company.pk]}, follow=True)
    assert "cannot be deleted" in response.content.decode()
    assert Company.objects.filter(pk=company.pk).exists()


def make_deal(cast) -> Opportunity:
    return make_opportunity(owner=cast.owner, team=cast.team)


def make_task_for(cast) -> Task:
    return make_task(owner=cast.owner, team=cast.team, title="回访")


def make_lead(cast) -> Lead:
    return Lead.objects.create(family_name="韩", given_name="梅梅", owner=cast.owner, team=cast.team)


# Marketing and support roles hold no pipeline permission at all: a share alone would show it.
DETAIL = {
    "owner": 200, "teammate": 404, "manager": 200, "outsider": 404, "share_viewer": 200, "share_editor": 200,
    "marketer": 404, "support_agent": 404, "support_manager": 404, "auditor": 200, "admin": 200, "anonymous": 302,
}  # fmt: skip
EDIT = {**DETAIL, "share_viewer": 403, "auditor": 403}
DELETE = {
    **DETAIL,
    "owner": 302,
    "manager": 302,
    "admin": 302,
    "share_viewer": 403,
    "share_editor": 403,
    "auditor": 403,
}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("page", "method", "expect", "make"),
    [
        ("pipeline:opportunity_detail", "get", DETAIL, make_deal),
        ("pipeline:opportunity_edit", "get", EDIT, make_deal),
        ("pipeline:opportunity_delete", "post", DELETE, make_deal),
        ("pipeline:lead_detail", "get", DETAIL, make_lead),
        ("pipeline:lead_edit", "get", EDIT, make_lead),
        ("pipeline:lead_delete", "post", DELETE, make_lead),
        ("pipeline:task_detail", "get", DETAIL, make_task_for),
        ("pipeline:task_edit", "get", EDIT, make_task_for),
    ],
)
def test_pipeline_screens_matrix(client, cast, page, method, expect, make):
    check_permission_matrix(
        client, cast, url=lambda r: reverse(page, args=[r.pk]), make_record=make, expect=expect, method=method
    )


@pytest.mark.django_db
def test_reverting_an_import_keeps_a_company_that_now_has_deals(cast):
    from customers.importing import service as imports
    from customers.tests.import_helpers import run_import

    batch = run_import(cast.owner, [["Company"], ["甲"], ["乙"]], team=cast.team)
    busy = Company.objects.get(name="甲")
    make_opportunity(owner=cast.owner, team=cast.team, company=busy)
    outcome = imports.import_revert(batch=batch, actor=cast.owner)
    assert outcome.deleted == 1
    assert [name for name, _why in outcome.kept] == ["甲"]
    assert "cannot be deleted" in outcome.kept[0][1]
    assert Company.objects.filter(name="甲").exists() and not Company.objects.filter(name="乙").exists()


@pytest.mark.django_db
def test_a_viewer_of_a_customer_cannot_add_a_task_on_it(client, cast):
    from django.core.exceptions import ValidationError

    company = make_company(owner=cast.owner, team=cast.team)
    record_share(obj=company, recipient=cast.outsider, level="view", actor=cast.owner)
    due = make_task_for(cast).due_at
    with pytest.raises(ValidationError):
        tasks_services.task_create(actor=cast.outsider, title="回访", due_at=due, company=company)
    client.force_login(cast.outsider)
    panels = {panel.key: context for panel, context in client.get(company.get_absolute_url()).context["panels"]}
    assert panels["tasks"]["can_add"] is False and panels["tasks"]["form"] is None
    assert not Task.objects.filter(company=company).exists()
