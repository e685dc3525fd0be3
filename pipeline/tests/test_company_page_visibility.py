"""A company page shows only the deals, tasks and history entries the viewer may see.

The company is shared with everyone in the cast, with a Marketing user and with a Support agent,
so every one of them opens the same page; what differs is which entries each one reads there.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from crm import roles
from crm.services import record_share
from crm.testing import make_user
from customers.models import Contact, Interaction
from customers.services import record_interaction
from pipeline.models import Task
from pipeline.opportunities import opportunity_win
from pipeline.tasks_services import task_complete
from pipeline.tests.opportunity_helpers import make_company, make_opportunity

pytestmark = pytest.mark.django_db

TEAM_DEAL = "Team deal Alpha"
OUTSIDER_DEAL = "Outsider deal Beta"
HIDDEN_CONTACT_NOTE = "Whisper about Zhao"
COMPANY_NOTE = "Company note everyone reads"
TEAM_TASK = "Call about Alpha pricing"
OPEN_TASK = "Send the revised quote"


@pytest.fixture
def scene(cast):
    marketing = make_user(role=roles.MARKETING)
    support = make_user(role=roles.SUPPORT_AGENT)
    company = make_company(owner=cast.owner, team=cast.team)
    for viewer in (cast.teammate, cast.outsider, marketing, support):
        record_share(obj=company, recipient=viewer, level="view", actor=cast.owner)
    team_deal = make_opportunity(owner=cast.owner, team=cast.team, company=company, name=TEAM_DEAL, amount="777777")
    opportunity_win(opportunity=team_deal, actor=cast.owner)
    outsider_deal = make_opportunity(
        owner=cast.outsider, team=cast.other_team, company=company, name=OUTSIDER_DEAL, amount="5000"
    )
    # An explicit share does not give a role without deals a deal on the company page.
    record_share(obj=team_deal, recipient=marketing, level="view", actor=cast.owner)
    task = Task.objects.create(
        owner=cast.owner,
        team=cast.team,
        title=TEAM_TASK,
        due_at=timezone.now() + timedelta(hours=1),
        opportunity=team_deal,
    )
    task_complete(task=task, actor=cast.owner, note="They want 5% off")
    Task.objects.create(
        owner=cast.owner, team=cast.team, title=OPEN_TASK, due_at=timezone.now() + timedelta(days=1), company=company
    )
    hidden_contact = Contact.objects.create(
        family_name="赵", given_name="秘密", owner=cast.outsider, team=cast.other_team, company=company
    )
    record_interaction(kind="note", summary=HIDDEN_CONTACT_NOTE, actor=cast.outsider, contact=hidden_contact)
    record_interaction(kind="note", summary=COMPANY_NOTE, actor=cast.owner, company=company)
    return {
        "company": company,
        "team_deal": team_deal,
        "outsider_deal": outsider_deal,
        "hidden_contact": hidden_contact,
        "viewers": {**cast.as_dict(), "marketing": marketing, "support": support},
    }


def _page(client, user, company):
    client.force_login(user)
    response = client.get(company.get_absolute_url())
    assert response.status_code == 200
    return response


def _timeline_summaries(response) -> list[str]:
    return [entry.summary for entry in response.context["timeline"].items]


# Which deals each viewer may read anywhere on the company page.
DEALS_SEEN = {
    "owner": {TEAM_DEAL},
    "teammate": set(),
    "manager": {TEAM_DEAL},
    "outsider": {OUTSIDER_DEAL},
    "auditor": {TEAM_DEAL, OUTSIDER_DEAL},
    "admin": {TEAM_DEAL, OUTSIDER_DEAL},
    "marketing": set(),
    "support": set(),
}


@pytest.mark.parametrize("who", DEALS_SEEN)
def test_company_page_shows_only_the_deals_the_viewer_may_see(client, scene, who):
    response = _page(client, scene["viewers"][who], scene["company"])
    html = response.content.decode()
    for name, deal in ((TEAM_DEAL, scene["team_deal"]), (OUTSIDER_DEAL, scene["outsider_deal"])):
        shown = name in DEALS_SEEN[who]
        assert (name in html) is shown, (who, name)
        assert (deal.get_absolute_url() in html) is shown, (who, name)
    timeline = " | ".join(_timeline_summaries(response))
    assert ("777" in timeline) is (TEAM_DEAL in DEALS_SEEN[who]), (who, timeline)  # the won amount


@pytest.mark.parametrize("who", ["marketing", "support"])
def test_roles_without_deals_see_no_deal_on_the_company_page(client, scene, who):
    response = _page(client, scene["viewers"][who], scene["company"])
    html = response.content.decode()
    # No deal, board or forecast link (Marketing sees leads, so the menu may link the lead list).
    assert "/pipeline/opportunities/" not in html and "/pipeline/board" not in html
    assert 'id="opportunities-panel-heading"' not in html
    assert not [e for e in response.context["timeline"].items if e.kind == Interaction.Kind.OPPORTUNITY]
    assert TEAM_TASK not in html  # the completed call on the deal is the deal's history too


@pytest.mark.parametrize(
    "who, sees",
    [("owner", True), ("manager", True), ("outsider", False), ("teammate", False), ("auditor", True)],
)
def test_a_completed_task_on_a_deal_follows_the_deal(client, scene, who, sees):
    response = _page(client, scene["viewers"][who], scene["company"])
    assert (TEAM_TASK in _timeline_summaries(response)) is sees


# Who reads the owner's open task in the company page's tasks panel (roles without tasks get no panel).
TASKS_SEEN = {
    "owner": True,
    "teammate": False,
    "manager": True,
    "outsider": False,
    "auditor": True,
    "admin": True,
    "marketing": False,
    "support": False,
}


@pytest.mark.parametrize("who", TASKS_SEEN)
def test_the_tasks_panel_lists_only_tasks_the_viewer_may_see(client, scene, who):
    html = _page(client, scene["viewers"][who], scene["company"]).content.decode()
    assert (OPEN_TASK in html) is TASKS_SEEN[who]
    assert ('id="tasks-panel-heading"' in html) is (who not in ("marketing", "support"))


@pytest.mark.parametrize(
    "who, sees",
    [("owner", False), ("manager", False), ("outsider", True), ("auditor", True), ("marketing", False)],
)
def test_a_note_on_a_contact_the_viewer_may_not_see_is_hidden(client, scene, who, sees):
    html = _page(client, scene["viewers"][who], scene["company"]).content.decode()
    assert (HIDDEN_CONTACT_NOTE in html) is sees
    assert ("秘密" in html) is sees


@pytest.mark.parametrize("who", DEALS_SEEN)
def test_a_note_typed_on_the_company_stays_visible_to_whoever_sees_the_company(client, scene, who):
    response = _page(client, scene["viewers"][who], scene["company"])
    assert COMPANY_NOTE in _timeline_summaries(response)


def test_the_contact_page_hides_deals_the_viewer_may_not_see(client, cast):
    company = make_company(owner=cast.owner, team=cast.team)
    contact = Contact.objects.create(
        family_name="李", given_name="娜", owner=cast.owner, team=cast.team, company=company
    )
    record_share(obj=contact, recipient=cast.outsider, level="view", actor=cast.owner)
    make_opportunity(owner=cast.owner, team=cast.team, company=company, contact=contact, name=TEAM_DEAL)
    client.force_login(cast.outsider)
    html = client.get(contact.get_absolute_url()).content.decode()
    assert TEAM_DEAL not in html
    client.force_login(cast.owner)
    assert TEAM_DEAL in client.get(contact.get_absolute_url()).content.decode()


def test_a_timeline_page_is_full_even_when_entries_before_it_are_hidden(client, cast, settings):
    """Hidden entries are filtered in the query, not after it: the page holds PAGE_SIZE // 2 entries."""
    company = make_company(owner=cast.owner, team=cast.team)
    record_share(obj=company, recipient=cast.outsider, level="view", actor=cast.owner)
    size = settings.PAGE_SIZE // 2
    for i in range(size):
        record_interaction(kind="note", summary=f"Visible {i}", actor=cast.owner, company=company)
    deal = make_opportunity(owner=cast.owner, team=cast.team, company=company, name=TEAM_DEAL)
    for i in range(size):
        record_interaction(kind="opportunity", summary=f"Hidden {i}", actor=cast.owner, company=company, subject=deal)
    client.force_login(cast.outsider)
    summaries = _timeline_summaries(_page(client, cast.outsider, company))
    assert len(summaries) == size
    assert all(s.startswith("Visible") for s in summaries)


# Pinned: the company page (with the sales and service panels) costs exactly this many queries,
# whatever the number of deals, tasks, tickets, contacts and entries, for a rep and for a role
# without deals. What is shared with the viewer, per owned model the role may view, comes from
# the cache once the viewer has opened a page (crm.permissions), as do their roles and teams.
COMPANY_PAGE_QUERIES = {"owner": 13, "marketing": 11}


def _grow(scene, n: int) -> None:
    owner, company = scene["viewers"]["owner"], scene["company"]
    for i in range(n):
        deal = make_opportunity(owner=owner, team=owner.teams.first(), company=company, name=f"More deal {i}")
        contact = Contact.objects.create(family_name="孙", given_name=f"{i}", owner=owner, company=company)
        record_interaction(kind="call", summary=f"Call {i}", actor=owner, contact=contact)
        task = Task.objects.create(
            owner=owner, title=f"Task {i}", due_at=timezone.now() + timedelta(hours=1), company=company
        )
        task_complete(task=task, actor=owner)
        Task.objects.create(owner=owner, title=f"Open task {i}", due_at=timezone.now(), opportunity=deal)


@pytest.mark.parametrize("who", COMPANY_PAGE_QUERIES)
def test_company_page_query_count_is_pinned(client, scene, who, django_assert_num_queries):
    client.force_login(scene["viewers"][who])
    url = scene["company"].get_absolute_url()
    client.get(url)  # warm per-process caches (permission ids, content types)
    with django_assert_num_queries(COMPANY_PAGE_QUERIES[who]):
        client.get(url)
    _grow(scene, 5)
    with django_assert_num_queries(COMPANY_PAGE_QUERIES[who]):
        response = client.get(url)
    assert response.status_code == 200
