"""The public web-to-lead form: no sign-in, a lead created, scored, assigned and its owner emailed
(through a real SMTP conversation); spam, floods, oversized posts and bad input create nothing and
reveal nothing."""

import email
import email.header
import socket
import time

import pytest
from aiosmtpd.controller import Controller
from django.core.cache import cache
from django.test import override_settings
from django.urls import reverse

from crm import roles
from crm.testing import add_to_team, make_team, make_user
from pipeline.models import Lead, LeadEvent, ScoringRule, WebForm
from pipeline.tests.lead_helpers import source

pytestmark = pytest.mark.django_db


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp():
    inbox = Inbox()
    with socket.socket() as probe:  # a free port: aiosmtpd checks its own port, so 0 will not do
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=port,
            EMAIL_USE_TLS=False,
            EMAIL_HOST_USER="",
            EMAIL_HOST_PASSWORD="",
        ):
            yield inbox
    finally:
        controller.stop()


@pytest.fixture
def form(db):
    cache.clear()
    team = make_team("网站线索")
    rep = make_user(role=roles.SALES_REP, username="webrep", email="webrep@example.com")
    add_to_team(rep, team)
    ScoringRule.objects.create(name="Form", kind="event", event="web_form", points=15)
    ScoringRule.objects.create(name="Has email", kind="field", field="has_email", points=5)
    web_form = WebForm.objects.create(
        name="Contact us",
        slug="contact",
        fields=["family_name", "company_name", "email", "mobile", "notes"],
        required_fields=["family_name", "email"],
        team=team,
        source=source("web_form"),
        title="联系我们",
        thank_you_text="谢谢！我们会尽快联系您。",
    )
    return web_form, rep


GOOD = {"family_name": "周", "company_name": "远山贸易", "email": "zhou@yuanshan.example", "mobile": "13700001111"}


def wait_for(inbox, count=1, timeout=5.0):
    deadline = time.monotonic() + timeout
    while len(inbox.messages) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return inbox.messages


def test_form_is_public_framable_by_self_only_and_sets_csrf(client, form):
    response = client.get("/pipeline/forms/contact/")
    assert response.status_code == 200
    assert "联系我们" in response.content.decode()
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in response["Content-Security-Policy"]
    assert "csrftoken" in response.cookies
    # Every other page still refuses to be framed.
    assert "frame-ancestors 'none'" in client.get(reverse("login"))["Content-Security-Policy"]


@override_settings(WEB_FORM_FRAME_ANCESTORS=["https://www.example.com"])
def test_frame_ancestors_come_from_the_setting(client, form):
    response = client.get("/pipeline/forms/contact/")
    assert "frame-ancestors https://www.example.com" in response["Content-Security-Policy"]
    assert "X-Frame-Options" not in response


def test_submission_creates_a_scored_assigned_lead_and_emails_the_owner(
    client, form, smtp, django_capture_on_commit_callbacks
):
    web_form, rep = form
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/pipeline/forms/contact/", {**GOOD, "notes": "想了解报价"})
    assert response.status_code == 200 and "谢谢！我们会尽快联系您。" in response.content.decode()
    lead = Lead.objects.get()
    assert (lead.owner, lead.team, lead.web_form, lead.source.code) == (rep, web_form.team, web_form, "web_form")
    assert lead.mobile == "13700001111" and lead.notes == "想了解报价"
    assert lead.score == 20 and LeadEvent.objects.filter(lead=lead, event="web_form").count() == 1
    [message] = wait_for(smtp)
    assert message["To"] == "webrep@example.com"
    assert "周" in str(email.header.make_header(email.header.decode_header(message["Subject"])))
    body = message.get_payload(decode=True).decode()
    assert f"http://testserver/pipeline/leads/{lead.pk}/" in body


def test_honeypot_is_thanked_and_dropped(client, form):
    response = client.post("/pipeline/forms/contact/", {**GOOD, "website_url": "http://spam.example"})
    assert response.status_code == 200 and "谢谢" in response.content.decode()
    assert not Lead.objects.exists()


def test_invalid_input_shows_errors_and_creates_nothing(client, form):
    response = client.post("/pipeline/forms/contact/", {"family_name": "", "email": "not-an-email"})
    assert response.status_code == 400
    assert not Lead.objects.exists()
    response = client.post("/pipeline/forms/contact/", {**GOOD, "notes": "x" * 3000})
    assert response.status_code in (400, 413)
    assert not Lead.objects.exists()


@override_settings(WEB_FORM_MAX_BODY_BYTES=1024)
def test_oversized_body_is_refused(client, form):
    response = client.post("/pipeline/forms/contact/", {**GOOD, "notes": "长" * 2000})
    assert response.status_code == 413
    assert not Lead.objects.exists()


@override_settings(WEB_FORM_RATE_LIMIT=3)
def test_rate_limit_per_address(client, form):
    for i in range(3):
        assert client.post("/pipeline/forms/contact/", {**GOOD, "email": f"a{i}@x.example"}).status_code == 200
    response = client.post("/pipeline/forms/contact/", {**GOOD, "email": "late@x.example"})
    assert response.status_code == 429
    assert Lead.objects.count() == 3
    other = client.post("/pipeline/forms/contact/", {**GOOD, "email": "b@x.example"}, REMOTE_ADDR="10.1.2.3")
    assert other.status_code == 200 and Lead.objects.count() == 4


# Nothing listens on port 1: every cache call is refused, as while Redis restarts.
REDIS_AWAY = {"default": {"BACKEND": "crm.cache.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}}


@override_settings(WEB_FORM_RATE_LIMIT=2, CACHES=REDIS_AWAY)
def test_rate_limit_fails_open_while_redis_is_away(client, form):
    # A lost enquiry costs more than a spell of spam; the honeypot and size caps still apply.
    for i in range(4):
        assert client.post("/pipeline/forms/contact/", {**GOOD, "email": f"a{i}@x.example"}).status_code == 200
    assert Lead.objects.count() == 4


def test_unknown_or_inactive_form_is_404_and_reveals_nothing(client, form):
    web_form, _rep = form
    assert client.get("/pipeline/forms/nope/").status_code == 404
    WebForm.objects.filter(pk=web_form.pk).update(active=False)
    assert client.post("/pipeline/forms/contact/", GOOD).status_code == 404
    assert not Lead.objects.exists()


def test_public_form_shows_nothing_of_the_crm(client, form):
    body = client.get("/pipeline/forms/contact/").content.decode()
    assert "Main navigation" not in body and "webrep" not in body and "网站线索" not in body
    # Fields not on the form are ignored even if posted.
    client.post("/pipeline/forms/contact/", {**GOOD, "owner": "1", "score": "999", "status": "qualified"})
    lead = Lead.objects.get()
    assert lead.status == Lead.Status.NEW and lead.score == 20


def test_csrf_is_enforced(form):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/pipeline/forms/contact/", GOOD).status_code == 403
    assert not Lead.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("proxies", "bob_limited"), [(1, False), (0, True)])
def test_behind_a_proxy_each_visitor_has_their_own_limit(live_server, form, proxies, bob_limited):
    """Through a real proxy: with PROXY_COUNT=1 each visitor is counted apart (a forged header does
    not help); with 0 the header is ignored and everyone behind the proxy shares one count."""
    from crm.tests.proxy import ForwardingProxy, Visitor

    with override_settings(PROXY_COUNT=proxies, WEB_FORM_RATE_LIMIT=2), ForwardingProxy(live_server.url) as proxy:
        alice, bob = Visitor(proxy.url, "127.0.0.2"), Visitor(proxy.url, "127.0.0.3")
        alice.get("/pipeline/forms/contact/")
        statuses = [
            alice.post(
                "/pipeline/forms/contact/",
                {**GOOD, "email": f"a{i}@x.example"},
                headers={"X-Forwarded-For": f"10.9.9.{i}"},
            ).status
            for i in range(3)
        ]
        assert statuses == [200, 200, 429]
        bob.get("/pipeline/forms/contact/")
        bob_status = bob.post("/pipeline/forms/contact/", {**GOOD, "email": "b@x.example"}).status
    assert bob_status == (429 if bob_limited else 200)
    assert Lead.objects.count() == (2 if bob_limited else 3)


@pytest.mark.parametrize("field", ["family_name", "company_name", "mobile"])
def test_line_breaks_in_one_line_fields_are_refused_before_anything_is_saved(client, form, field, mailoutbox):
    response = client.post("/pipeline/forms/contact/", {**GOOD, field: "周\r\nBcc: victim@example.com"})
    assert response.status_code == 400
    assert "Line breaks and other control characters are not allowed here." in response.content.decode() or (
        "不允许" in response.content.decode()
    )
    assert not Lead.objects.exists() and not mailoutbox


def test_a_mail_server_that_is_away_does_not_fail_the_visitor(client, form, django_capture_on_commit_callbacks):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with (
        override_settings(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_PORT=port),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post("/pipeline/forms/contact/", GOOD)
    assert response.status_code == 200 and Lead.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_oversized_body_is_refused_before_csrf_or_form_parsing_reads_it(live_server, form):
    from crm.tests.proxy import Visitor

    visitor = Visitor(live_server.url, "127.0.0.1")
    visitor.get("/pipeline/forms/contact/")
    # Over Django's own 2.5 MB parsing cap too: without the early check CSRF's read answered 400.
    response = visitor.post("/pipeline/forms/contact/", {**GOOD, "notes": "x" * 3_000_000})
    assert response.status == 413
    assert "联系我们" in response.text or "Contact us" in response.text
    response = visitor.request(
        "POST", "/pipeline/forms/contact/", headers={"Content-Length": "not-a-number", "Content-Type": "text/plain"}
    )
    assert response.status in (400, 413)
    assert not Lead.objects.exists()
