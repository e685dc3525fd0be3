"""The public service request form: no sign-in; a request becomes a ticket with an acknowledgment;
spam (honeypot), floods (rate limit) and oversized bodies create nothing."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from crm import roles
from crm.testing import make_user
from customers.models import Contact
from tickets.models import Ticket

pytestmark = pytest.mark.django_db
URL = "/service/request/"
GOOD = {
    "name": "李雷",
    "email": "li.lei@customer.example",
    "subject": "无法登录",
    "description": "输入密码后一直转圈。",
}


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()  # the limits count per address in the cache, which outlives a test


@pytest.fixture
def admin(db):
    return make_user(role=roles.ADMINISTRATOR, username="boss")


def test_a_request_becomes_a_ticket_with_an_acknowledgment(
    client, admin, smtp_inbox, django_capture_on_commit_callbacks
):
    assert reverse("tickets:request") == URL
    assert client.get(URL).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, GOOD)
    assert response.status_code == 200
    ticket = Ticket.objects.get()
    assert ticket.number in response.content.decode()
    assert (ticket.channel, ticket.subject, ticket.contact.email) == ("web", "无法登录", "li.lei@customer.example")
    assert ticket.contact.owner == admin and ticket.contact.display_name == "李雷"
    (ack,) = smtp_inbox.messages
    assert ack.recipients == ["li.lei@customer.example"] and ticket.number in smtp_inbox.subject(ack)


def test_a_known_address_is_the_same_contact(client, admin):
    known = Contact.objects.create(family_name="李", given_name="雷", email="LI.LEI@customer.example", owner=admin)
    client.post(URL, GOOD)
    assert Ticket.objects.get().contact == known and Contact.objects.count() == 1


@pytest.mark.parametrize(
    "change", [{"email": "not-an-address"}, {"subject": ""}, {"description": "x" * 5001}, {"name": ""}]
)
def test_bad_input_is_a_form_error_and_creates_nothing(client, admin, change):
    response = client.post(URL, {**GOOD, **change})
    assert response.status_code == 400
    assert not Ticket.objects.exists() and not Contact.objects.exists()


def test_spam_floods_and_oversized_bodies_create_nothing(client, admin, settings):
    response = client.post(URL, {**GOOD, "website_url": "http://spam.example"})
    assert response.status_code == 200 and not Ticket.objects.exists()
    settings.WEB_FORM_MAX_BODY_BYTES = 1024
    assert client.post(URL, {**GOOD, "description": "长" * 2000}).status_code == 413
    settings.WEB_FORM_MAX_BODY_BYTES = 16 * 1024
    settings.WEB_FORM_RATE_LIMIT = 2
    codes = [client.post(URL, {**GOOD, "subject": f"#{i}"}).status_code for i in range(4)]
    assert codes[-1] == 429
    assert Ticket.objects.count() <= 2


def test_without_anyone_to_own_new_contacts_the_form_says_so(client):
    response = client.post(URL, GOOD)
    assert response.status_code == 400
    assert "e-mail" in response.content.decode() or "邮件" in response.content.decode()
    assert not Ticket.objects.exists()
