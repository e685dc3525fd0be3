"""`make bench` on tickets: generated tickets are worked by a support desk, the agent's pages open
on generated data, and the background jobs are timed without changing the bench database."""

import secrets

import pytest
from django.urls import reverse

from crm import benchmark, roles
from crm.datagen import generate, generators
from crm.models import TeamMembership, User
from tickets import sla_watch
from tickets.generators import SUPPORT_AGENTS, SUPPORT_TEAMS
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def generated():
    generate(companies=30, seed=3, batch_size=500)


def _sla_state():
    return list(
        Ticket.objects.order_by("pk").values_list(
            "pk", "first_response_due", "resolution_due", "warned_at", "escalated_at", "updated_at"
        )
    )


def test_generated_tickets_are_worked_by_a_support_desk(generated):
    agents = User.objects.filter(groups__name=roles.SUPPORT_AGENT)
    assert agents.count() == SUPPORT_AGENTS
    desk = TeamMembership.objects.filter(user__in=agents).values_list("team_id", flat=True)
    assert len(set(desk)) == SUPPORT_TEAMS
    managers = TeamMembership.objects.filter(team__in=desk, role=TeamMembership.Role.MANAGER)
    assert set(managers.values_list("user__groups__name", flat=True)) >= {roles.SUPPORT_MANAGER}
    assert managers.values("team").distinct().count() == SUPPORT_TEAMS

    assert Ticket.objects.count() == 60
    assert not Ticket.objects.exclude(team__in=desk).exists()
    assert not Ticket.objects.filter(owner__isnull=False).exclude(owner__in=agents).exists()
    # Running tickets are generated past due, as the SLA watch leaves them: nothing left to send.
    running = Ticket.objects.filter(status__in=sla_watch.RUNNING)
    assert running.exists() and not running.filter(escalated_at__isnull=True).exists()
    assert sla_watch.watch() == {"warned": 0, "escalated": 0}


def test_the_agent_pages_open_on_generated_data(generated):
    owners = Ticket.objects.filter(status__in=Ticket.ACTIVE_STATUSES).values("owner")
    agent = User.objects.filter(groups__name=roles.SUPPORT_AGENT, pk__in=owners).order_by("id").first()
    password = secrets.token_urlsafe(16)
    agent.set_password(password)
    agent.save()
    browser = benchmark.InProcessBrowser()
    browser.sign_in(reverse("login"), agent.username, password)

    agent_pages = [page for page in benchmark.pages() if page.role == "agent"]
    assert {page.name for page in agent_pages if page.weight} >= {"my tickets (agent)", "ticket detail (agent)"}
    for page in agent_pages:
        path = page.url(browser) if callable(page.url) else page.url
        status, _body = browser.get(path)
        assert status == 200, page.name


def test_the_jobs_are_timed_and_rolled_back(generated):
    before = _sla_state()
    active = Ticket.objects.filter(status__in=Ticket.ACTIVE_STATUSES).count()

    times = {t.name: t for t in map(benchmark.time_job, benchmark.jobs())}

    recompute = next(t for name, t in times.items() if name.startswith("SLA recomputation"))
    assert recompute.items == active > 0 and recompute.seconds > 0
    assert _sla_state() == before
    # Outside the benchmark the same work is written, and `limit` bounds it.
    assert sla_watch.recompute_open(limit=3) == 3
    assert _sla_state() != before


def test_tables_are_generated_in_the_order_the_apps_are_installed():
    # This module imports tickets.generators first; tickets still come after the companies they name.
    labels = [g.label for g in generators()]

    assert labels.index("customers.Company") < labels.index("tickets.Ticket") < labels.index("tickets.Message")
