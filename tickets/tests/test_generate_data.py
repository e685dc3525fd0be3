"""`generate_data` loads tickets (two per company) with their messages, and new tickets continue
the numbering after the loaded ones."""

import pytest

from crm.datagen import generate
from customers.models import Contact
from tickets import services
from tickets.models import Message, Ticket


@pytest.mark.django_db
def test_tickets_grow_with_the_companies_and_numbers_continue():
    generate(companies=100, seed=9, batch_size=500)

    assert Ticket.objects.count() == 200
    assert Message.objects.count() == 400
    assert len(set(Ticket.objects.values_list("number", flat=True))) == 200
    latest = max(Ticket.objects.values_list("number", flat=True))
    contact = Contact.objects.order_by("pk").first()
    ticket = services.ticket_create(
        actor=None, subject="x", contact=contact, now=Ticket.objects.get(number=latest).created_at
    )
    assert ticket.number > latest and ticket.number[:7] == latest[:7]
