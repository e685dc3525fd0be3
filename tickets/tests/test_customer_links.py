"""The customer's signed links: the status page shows one ticket's public conversation and takes a
reply; the rating page takes one rating. An altered, expired or foreign link opens nothing."""

from datetime import timedelta

import pytest
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from crm import roles
from crm.testing import build_cast
from tickets import intake, services
from tickets.models import Message, Ticket
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db
Status = Ticket.Status


@pytest.fixture
def cast(db):
    return build_cast(rep_role=roles.SUPPORT_AGENT, manager_role=roles.SUPPORT_MANAGER)


@pytest.fixture
def ticket(cast):
    ticket = TicketFactory(owner=cast.owner, team=cast.team, subject="发票抬头错误")
    Message.objects.create(
        ticket=ticket, kind=Message.Kind.REPLY, author=cast.owner, author_name="客服小王", body="已重开"
    )
    Message.objects.create(ticket=ticket, kind=Message.Kind.NOTE, author=cast.owner, body="内部：客户催了三次")
    return ticket


def _path(url: str) -> str:
    return url.split("://", 1)[-1].partition("/")[2].join(["/", ""])


def test_the_status_page_shows_the_public_conversation_only(client, ticket):
    response = client.get(_path(intake.status_url(ticket)))
    assert response.status_code == 200
    page = response.content.decode()
    assert ticket.number in page and "已重开" in page and "客服小王" in page
    assert "内部：客户催了三次" not in page
    assert response["Cache-Control"].startswith("no-store") or "no-store" in response["Cache-Control"]
    assert response["Referrer-Policy"] == "same-origin"


def test_a_reply_through_the_status_page_threads_onto_the_ticket_and_restarts_the_clock(client, cast, ticket):
    services.ticket_set_status(ticket=ticket, actor=cast.owner, status=Status.PENDING)
    url = _path(intake.status_url(ticket))
    assert client.post(url, {"body": "   "}).status_code == 400
    response = client.post(url, {"body": "抬头是：星河科技有限公司"})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    assert ticket.messages.filter(kind=Message.Kind.CUSTOMER, body="抬头是：星河科技有限公司").exists()
    assert "抬头是" in client.get(response["Location"]).content.decode()


def test_a_link_opens_its_own_ticket_only(client, cast, ticket):
    other = TicketFactory(owner=cast.owner, team=cast.team)
    token = intake.status_token(ticket)
    assert client.get(reverse("tickets:status", args=[token])).status_code == 200
    forged = f"{other.pk}.{other.number}:{token.split(':', 1)[1]}"
    for bad in (token[:-1] + ("A" if token[-1] != "A" else "B"), forged, "garbage", f"{other.pk}.{other.number}"):
        assert client.get(reverse("tickets:status", args=[bad])).status_code == 404
        assert client.post(reverse("tickets:status", args=[bad]), {"body": "x"}).status_code == 404
    # A feedback link is no status link, and the other way round.
    assert client.get(reverse("tickets:status", args=[intake.feedback_token(ticket)])).status_code == 404
    assert client.get(reverse("tickets:feedback", args=[token])).status_code == 404
    assert not other.messages.exists()


def test_an_expired_link_opens_nothing(client, ticket, settings):
    settings.TICKET_STATUS_LINK_DAYS = 30
    signer = signing.TimestampSigner(salt=intake.STATUS_SALT)
    token = signer.sign(intake._link_value(ticket))
    old = timezone.now() - timedelta(days=31)
    signer.timestamp = lambda: signing.b62_encode(int(old.timestamp()))
    expired = signer.sign(intake._link_value(ticket))
    assert client.get(reverse("tickets:status", args=[token])).status_code == 200
    assert client.get(reverse("tickets:status", args=[expired])).status_code == 404


def test_a_closed_ticket_takes_no_more_replies(client, cast, ticket):
    services.ticket_set_status(ticket=ticket, actor=cast.owner, status=Status.CLOSED)
    url = _path(intake.status_url(ticket))
    assert client.post(url, {"body": "还有问题"}).status_code == 400
    assert not ticket.messages.filter(kind=Message.Kind.CUSTOMER).exists()


def test_the_rating_is_taken_once_and_shown_to_the_agent(
    client, cast, ticket, smtp_inbox, django_capture_on_commit_callbacks
):
    ticket.contact.email = "li@customer.example"
    ticket.contact.save()
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_set_status(ticket=ticket, actor=cast.owner, status=Status.RESOLVED)
    (request,) = smtp_inbox.messages
    body = smtp_inbox.body(request)
    url = next(line for line in body.splitlines() if "/service/feedback/" in line).strip()
    path = _path(url)
    assert client.get(path).status_code == 200
    assert client.post(path, {"score": "9"}).status_code == 400
    assert client.post(path, {"score": "4", "comment": "很快"}).status_code == 200
    client.post(path, {"score": "1", "comment": "改主意了"})
    ticket.refresh_from_db()
    assert (ticket.csat_score, ticket.csat_comment) == (4, "很快")
    client.force_login(cast.owner)
    assert "4 / 5" in client.get(ticket.get_absolute_url()).content.decode()
