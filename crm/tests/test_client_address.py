"""The client's address behind a reverse proxy: forwarded addresses are believed only as far as
PROXY_COUNT proxies vouch for them, and lockouts and audit entries use the real client's address.

The proxy tests put a real HTTP proxy (crm.tests.proxy) in front of the live server and reach it
from two loopback addresses, so the two clients differ only in what the proxy reports.
"""

import pytest
from auditlog.models import LogEntry
from django.conf import settings
from django.test import RequestFactory, override_settings

from crm.audit import EVENT_LOGIN, EVENT_LOGIN_FAILED
from crm.network import client_address
from crm.testing import make_user
from crm.tests.proxy import ForwardingProxy, Visitor

PASSWORD = "a-long-proxy-test-passphrase"


def request(remote="10.0.0.2", forwarded=None):
    headers = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **headers)


@pytest.mark.parametrize(
    ("proxies", "remote", "forwarded", "expected"),
    [
        (0, "10.0.0.2", None, "10.0.0.2"),
        (0, "10.0.0.2", "203.0.113.5", "10.0.0.2"),  # no proxy: the header is the client's word
        (1, "10.0.0.2", "203.0.113.5", "203.0.113.5"),
        (1, "10.0.0.2", "198.51.100.66, 203.0.113.5", "203.0.113.5"),  # the left part is forgeable
        (2, "10.0.0.2", "198.51.100.66, 203.0.113.5, 10.0.0.9", "203.0.113.5"),
        (2, "10.0.0.2", "203.0.113.5", "10.0.0.2"),  # fewer hops than proxies: only the peer is sure
        (1, "10.0.0.2", "not-an-address", "10.0.0.2"),
        (1, "10.0.0.2", "", "10.0.0.2"),
        (1, "10.0.0.2", "203.0.113.5:51234", "203.0.113.5"),
        (1, "10.0.0.2", "[2001:db8::7]:443", "2001:db8::7"),
        (1, "10.0.0.2", "2001:db8::7", "2001:db8::7"),
        (0, "garbage", None, None),
    ],
)
def test_client_address_believes_only_what_the_proxies_vouch_for(proxies, remote, forwarded, expected):
    with override_settings(PROXY_COUNT=proxies):
        assert client_address(request(remote, forwarded)) == expected


def sign_in(visitor, username, password):
    visitor.get("/accounts/login/")
    return visitor.post("/accounts/login/", {"username": username, "password": password})


@pytest.fixture
def proxied(live_server):
    with ForwardingProxy(live_server.url) as proxy:
        yield proxy


@pytest.mark.django_db(transaction=True)
@override_settings(PROXY_COUNT=1)
def test_behind_one_proxy_two_clients_are_locked_out_and_audited_separately(proxied):
    make_user(username="li.lei", password=PASSWORD)
    alice, bob = Visitor(proxied.url, "127.0.0.2"), Visitor(proxied.url, "127.0.0.3")

    for _ in range(settings.AXES_FAILURE_LIMIT):
        # Alice also forges a header: the proxy appends her real address after it.
        alice.get("/accounts/login/", headers={"X-Forwarded-For": "198.51.100.66"})
        alice.post(
            "/accounts/login/",
            {"username": "li.lei", "password": "guess"},
            headers={"X-Forwarded-For": "198.51.100.66"},
        )
    locked = sign_in(alice, "li.lei", PASSWORD)
    assert "Too many failed sign-in attempts" in locked.text

    signed_in = sign_in(bob, "li.lei", PASSWORD)
    assert signed_in.status == 302, "a lockout of one client behind the proxy must not lock out the others"

    addresses = {
        (entry.additional_data["event"], entry.remote_addr)
        for entry in LogEntry.objects.filter(action=LogEntry.Action.ACCESS)
    }
    assert (EVENT_LOGIN_FAILED, "127.0.0.2") in addresses
    assert (EVENT_LOGIN, "127.0.0.3") in addresses
    assert not any(address in ("127.0.0.1", "198.51.100.66") for _event, address in addresses)


@pytest.mark.django_db(transaction=True)
@override_settings(PROXY_COUNT=0)
def test_without_a_trusted_proxy_the_forwarded_header_is_ignored(proxied):
    make_user(username="li.lei", password=PASSWORD)
    alice = Visitor(proxied.url, "127.0.0.2")

    sign_in(alice, "li.lei", "guess")

    entry = LogEntry.objects.get(action=LogEntry.Action.ACCESS)
    assert entry.remote_addr == "127.0.0.1"  # the proxy itself: nobody vouched for the header
