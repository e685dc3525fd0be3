"""What the audit trail records: changes with their actor and address, sign-in events, masking."""

import pytest
from auditlog.models import LogEntry
from django.urls import reverse

from crm.audit import EVENT_LOGIN, EVENT_LOGIN_FAILED, EVENT_LOGOUT
from crm.models import User
from crm.testing import make_user

pytestmark = pytest.mark.django_db


def entries_for(obj):
    return LogEntry.objects.get_for_object(obj).order_by("timestamp", "id")


def test_profile_change_through_a_request_records_the_user_and_peer_address(client):
    user = make_user(first_name="San")
    client.force_login(user)
    response = client.post(
        reverse("profile"),
        {"first_name": "Si", "last_name": "Li", "email": "li@example.com", "language": ""},
        REMOTE_ADDR="203.0.113.7",
        HTTP_X_FORWARDED_FOR="198.51.100.99",  # a header anyone can forge: never believed
    )
    assert response.status_code == 302
    entry = entries_for(user).filter(action=LogEntry.Action.UPDATE).last()
    assert entry.actor == user
    assert entry.remote_addr == "203.0.113.7"
    assert entry.changes["first_name"] == ["San", "Si"]


def test_password_is_never_in_the_log():
    user = make_user()
    user.set_password("a-new-secret-password-1")
    user.first_name = "Wei"
    user.save()
    for entry in entries_for(user):
        assert "password" not in (entry.changes or {})
        assert "a-new-secret" not in str(entry.changes)


def test_sign_in_sign_out_and_failures_are_recorded(client):
    user = make_user(username="zhangsan", password="right-password-1")
    login = reverse("login")

    client.post(login, {"username": "zhangsan", "password": "wrong-password-1"}, REMOTE_ADDR="203.0.113.1")
    client.post(login, {"username": "nobody", "password": "guess-password-1"}, REMOTE_ADDR="203.0.113.2")
    response = client.post(login, {"username": "zhangsan", "password": "right-password-1"}, REMOTE_ADDR="203.0.113.3")
    assert response.status_code == 302
    client.post(reverse("logout"), REMOTE_ADDR="203.0.113.4")

    events = [
        (e.additional_data["event"], e.object_pk, e.object_repr, e.actor_id, e.remote_addr)
        for e in LogEntry.objects.filter(action=LogEntry.Action.ACCESS).order_by("id")
    ]
    assert events == [
        (EVENT_LOGIN_FAILED, str(user.pk), "zhangsan", None, "203.0.113.1"),
        (EVENT_LOGIN_FAILED, "", "nobody", None, "203.0.113.2"),
        (EVENT_LOGIN, str(user.pk), str(user), user.pk, "203.0.113.3"),
        (EVENT_LOGOUT, str(user.pk), str(user), user.pk, "203.0.113.4"),
    ]
    for entry in LogEntry.objects.all():
        assert "password" not in str(entry.changes) + str(entry.additional_data) + entry.object_repr


def test_user_registration_excludes_the_password():
    from auditlog.registry import auditlog

    assert "password" in auditlog.get_model_fields(User)["exclude_fields"]
