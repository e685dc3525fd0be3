"""Who may open and change which deal, over every opportunity URL, the board and its move endpoint.

Owner and manager change it; a teammate and an outsider get 404 (ids cannot be probed); an auditor
sees it and changes nothing (403). A refused request leaves the database as it was.
"""

import io

import pytest
from django.urls import reverse

from customers.models import Interaction, Transaction
from pipeline.models import Opportunity, StageChange
from pipeline.tests.opportunity_helpers import lost_reason, make_opportunity, new_business, stage

pytestmark = pytest.mark.django_db

VIEW = {"owner": 200, "teammate": 404, "manager": 200, "outsider": 404, "auditor": 200, "admin": 200}
CHANGE = {"owner": 302, "teammate": 404, "manager": 302, "outsider": 404, "auditor": 403, "admin": 302}
CHANGE_HTMX = {"owner": 200, "teammate": 404, "manager": 200, "outsider": 404, "auditor": 403, "admin": 200}


@pytest.fixture
def deal(cast):
    return make_opportunity(owner=cast.owner, team=cast.team, amount="3000")


def _state(deal):
    deal = Opportunity.objects.get(pk=deal.pk)
    return (
        deal.stage_id,
        deal.amount,
        deal.owner_id,
        StageChange.objects.filter(opportunity=deal).count(),
        Interaction.objects.count(),
        Transaction.objects.count(),
    )


@pytest.mark.parametrize("who", list(VIEW))
@pytest.mark.parametrize("name", ["opportunity_detail", "opportunity_edit", "opportunity_win", "opportunity_lose"])
def test_pages_of_one_deal(client, cast, deal, who, name):
    client.force_login(getattr(cast, who))
    expected = VIEW[who] if name == "opportunity_detail" else {**VIEW, "auditor": 403}[who]
    assert client.get(reverse(f"pipeline:{name}", args=[deal.pk])).status_code == expected


@pytest.mark.parametrize("who", list(VIEW))
def test_move_endpoint_plain_and_htmx(client, cast, deal, who):
    client.force_login(getattr(cast, who))
    url = reverse("pipeline:opportunity_move", args=[deal.pk])
    before = _state(deal)
    response = client.post(url, {"stage": stage("Proposal").pk})
    assert response.status_code == CHANGE[who]
    if CHANGE[who] != 302:
        assert _state(deal) == before
        response = client.post(url, {"stage": stage("Proposal").pk}, HTTP_HX_REQUEST="true")
        assert response.status_code == CHANGE_HTMX[who]
        assert _state(deal) == before
    else:
        assert Opportunity.objects.get(pk=deal.pk).stage == stage("Proposal")
        response = client.post(url, {"stage": stage("Negotiation").pk}, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        assert Opportunity.objects.get(pk=deal.pk).stage == stage("Negotiation")


@pytest.mark.parametrize("who", list(VIEW))
@pytest.mark.parametrize(
    "name,data",
    [
        ("opportunity_edit", {"name": "Hijacked", "amount": "1", "currency": "CNY"}),
        ("opportunity_win", {"record_transaction": "on"}),
        ("opportunity_lose", {"lost_reason": "LOST"}),
        ("opportunity_delete", {}),
    ],
)
def test_refused_changes_leave_the_deal_alone(client, cast, deal, who, name, data):
    if CHANGE[who] == 302:
        return
    client.force_login(getattr(cast, who))
    if data.get("lost_reason") == "LOST":
        data = {"lost_reason": lost_reason().pk}
    before = _state(deal)
    response = client.post(reverse(f"pipeline:{name}", args=[deal.pk]), data)
    assert response.status_code == CHANGE[who]
    assert _state(deal) == before


@pytest.mark.parametrize("who", list(VIEW))
def test_lists_board_and_attention_show_only_visible_deals(client, cast, deal, who):
    client.force_login(getattr(cast, who))
    sees = VIEW[who] == 200
    pipeline = new_business()
    for url in (
        reverse("pipeline:opportunity_list"),
        reverse("pipeline:board", args=[pipeline.pk]),
        reverse("pipeline:attention"),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
    board = client.get(reverse("pipeline:board", args=[pipeline.pk])).content.decode()
    assert (deal.name in board) == sees
    listing = client.get(reverse("pipeline:opportunity_list")).content.decode()
    assert (deal.name in listing) == sees


def test_board_more_shows_only_visible_cards(client, cast, deal):
    client.force_login(cast.outsider)
    url = reverse("pipeline:board_more", args=[new_business().pk, deal.stage_id])
    response = client.get(f"{url}?amount=999999&id=999999999", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and deal.name not in response.content.decode()


def test_a_role_without_opportunities_gets_403_everywhere(client, cast, deal):
    from crm import roles
    from crm.testing import make_user

    support = make_user(role=roles.SUPPORT_AGENT)
    client.force_login(support)
    for url in (
        reverse("pipeline:opportunity_list"),
        reverse("pipeline:board", args=[new_business().pk]),
        reverse("pipeline:attention"),
        reverse("customers:export_page", args=["opportunities"]),
    ):
        assert client.get(url).status_code == 403, url
    assert client.get(reverse("pipeline:opportunity_detail", args=[deal.pk])).status_code == 404


def test_anonymous_is_sent_to_sign_in(client, deal):
    for url in (
        reverse("pipeline:opportunity_list"),
        reverse("pipeline:opportunity_detail", args=[deal.pk]),
        reverse("pipeline:board", args=[new_business().pk]),
    ):
        assert client.get(url).status_code == 302
    before = _state(deal)
    client.post(reverse("pipeline:opportunity_move", args=[deal.pk]), {"stage": stage("Proposal").pk})
    assert _state(deal) == before


def test_export_needs_the_export_permission_and_is_audited(client, cast, deal):
    from auditlog.models import LogEntry
    from python_calamine import CalamineWorkbook

    export = reverse("customers:export_download", args=["opportunities"])
    client.force_login(cast.owner)
    assert client.get(reverse("customers:export_page", args=["opportunities"])).status_code == 403
    assert client.post(export, {"format": "csv"}).status_code == 403
    hidden = make_opportunity(owner=cast.outsider, team=cast.other_team, name="Annual hidden")
    client.force_login(cast.manager)
    page = client.get(reverse("customers:export_page", args=["opportunities"]) + "?q=Annual")
    assert page.status_code == 200 and 'value="xlsx"' in page.content.decode() and "vCard" not in page.content.decode()
    assert client.get(export + "?q=Annual").status_code == 405  # an export is a POST
    response = client.post(export + "?q=Annual", {"format": "csv"})
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert response.status_code == 200 and deal.name in body and hidden.name not in body
    entry = LogEntry.objects.filter(actor=cast.manager, additional_data__event="export").latest("timestamp")
    assert entry.additional_data["export"] == "opportunities" and entry.additional_data["rows"] == 1
    xlsx = client.post(export + "?q=Annual", {"format": "xlsx"})
    rows = CalamineWorkbook.from_filelike(io.BytesIO(b"".join(xlsx.streaming_content))).get_sheet_by_index(0)
    assert [row[1] for row in rows.to_python()[1:]] == [deal.name]
    assert client.post(export, {"format": "vcf"}).status_code == 302  # not offered for deals: back to the page


def test_a_large_opportunity_export_runs_in_the_background_instead_of_being_cut(
    client, cast, deal, monkeypatch, django_capture_on_commit_callbacks
):
    from crm.models import Job
    from customers import exporting

    make_opportunity(owner=cast.owner, team=cast.team, name="Second deal")
    monkeypatch.setattr(exporting, "INLINE_LIMIT", 1)
    client.force_login(cast.manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("customers:export_download", args=["opportunities"]), {"format": "xlsx"})
    job = Job.objects.get(kind=exporting.JOB_KIND)
    assert response.status_code == 302 and response["Location"] == reverse("customers:export_job", args=[job.pk])
    job.refresh_from_db()
    assert (job.status, job.done) == (Job.Status.DONE, 2)  # every row, none cut
    download = client.get(reverse("customers:export_file", args=[job.pk]))
    assert download.status_code == 200 and download["Content-Disposition"].endswith('.xlsx"')


def test_bulk_actions_skip_what_the_user_may_not_change(client, cast, deal):
    other = make_opportunity(owner=cast.outsider, team=cast.other_team, name="Not yours")
    client.force_login(cast.owner)
    response = client.post(
        reverse("pipeline:opportunity_list"),
        {"action": "move_stage", "ids": [deal.pk, other.pk], "stage": stage("Proposal").pk},
    )
    assert response.status_code == 302
    assert Opportunity.objects.get(pk=deal.pk).stage == stage("Proposal")
    assert Opportunity.objects.get(pk=other.pk).stage == stage("Prospecting")
