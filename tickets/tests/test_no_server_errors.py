"""No tickets page answers 500, whatever a request carries: every route of the tickets namespace,
as every person of the cast and anonymously, GET and POST, with malformed path arguments and
parameters (crm/tests/walk.py)."""

import pytest

from crm.tests.walk import check_no_server_errors
from tickets.models import Message
from tickets.tests.factories import TicketFactory

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_no_tickets_page_answers_500(cast):
    ticket = TicketFactory(owner=cast.owner, team=cast.team)
    Message.objects.create(ticket=ticket, kind=Message.Kind.NOTE, body="内部备注")
    TicketFactory(owner=None, team=cast.team)
    check_no_server_errors(cast, namespaces={"tickets"}, path_values={"pk": [str(ticket.pk)]})
