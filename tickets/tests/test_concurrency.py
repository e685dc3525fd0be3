"""Under parallel creation (PostgreSQL, real transactions in threads): ticket numbers stay
gap-free and unique, and the round robin never gives two tickets to one agent out of turn."""

import threading
from collections import Counter

import pytest
from django.db import close_old_connections, connection

from crm import roles
from crm.testing import add_to_team, make_team, make_user
from customers.tests.factories import ContactFactory
from tickets import services
from tickets.models import AssignmentRule, Ticket

pytestmark = [pytest.mark.django_db(transaction=True)]

WORKERS = 4
EACH = 5


def _in_threads(work):
    errors = []

    def run():
        try:
            for _ in range(EACH):
                work()
        except Exception as error:  # reported below, with the thread's exception
            errors.append(error)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_parallel_tickets_get_gap_free_numbers_and_fair_turns():
    team = make_team("并发")
    agents = [make_user(role=roles.SUPPORT_AGENT, username=f"agent{i}") for i in range(4)]
    for agent in agents:
        add_to_team(agent, team)
    AssignmentRule.objects.create(name="all", team=team)
    contact = ContactFactory(owner=agents[0], team=team)

    _in_threads(lambda: services.ticket_create(actor=None, subject="并发", contact=contact))

    tickets = list(Ticket.objects.order_by("number"))
    assert len(tickets) == WORKERS * EACH
    assert [t.number[-6:] for t in tickets] == [f"{n:06d}" for n in range(1, WORKERS * EACH + 1)]
    loads = Counter(t.owner_id for t in tickets)
    assert set(loads.values()) == {WORKERS * EACH // len(agents)}, loads
    # In creation order the agents take turns: each window of four holds each agent once.
    by_number = [t.owner_id for t in tickets]
    for start in range(0, len(by_number), len(agents)):
        assert len(set(by_number[start : start + len(agents)])) == len(agents)
