"""The audit page: who may open it, and sign-in failures in it (company history: customers/tests)."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

AUDIT_URL = reverse("crm:audit_log")
EXPECTED = {"owner": 403, "teammate": 403, "manager": 403, "outsider": 403, "auditor": 200, "admin": 200}


@pytest.mark.parametrize("who", EXPECTED)
def test_only_audit_viewers_open_the_audit_page(client, cast, who):
    client.force_login(cast.as_dict()[who])
    assert client.get(AUDIT_URL).status_code == EXPECTED[who]


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(AUDIT_URL)
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_sign_in_failures_can_be_filtered(client, cast):
    client.post(reverse("login"), {"username": "ghost", "password": "not-it-at-all"})
    client.force_login(cast.auditor)
    rows = client.get(AUDIT_URL, {"action": "login_failed"}).context["rows"]
    assert [row.entry.object_repr for row in rows] == ["ghost"]
    assert "ghost" in client.get(AUDIT_URL, {"action": "login_failed"}).content.decode()
