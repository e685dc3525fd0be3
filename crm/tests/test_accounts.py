"""Signing in, brute-force lockout, idle sign-out, and changing or resetting a password."""

import re
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone
from freezegun import freeze_time

from crm.middleware import SESSION_LAST_SEEN
from crm.testing import make_user

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery 42"


@pytest.fixture
def client(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def user():
    return make_user(username="li.lei", password=PASSWORD, email="li.lei@example.com")


def _sign_in(client, username, password, **extra):
    return client.post("/accounts/login/", {"username": username, "password": password, **extra})


def _main(response) -> str:
    """The page's own content, without what differs on every response (CSRF tokens)."""
    main = re.search(r"<main.*?</main>", response.content.decode(), re.S).group(0)
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", main)


# Signing in


def test_sign_in_with_the_right_password_goes_to_the_start_page(client, user):
    response = _sign_in(client, "li.lei", PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_sign_in_returns_to_the_page_asked_for(client, user):
    response = _sign_in(client, "li.lei", PASSWORD, next="/accounts/profile/")

    assert response["Location"] == "/accounts/profile/"


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(client, user):
    wrong_password = _sign_in(client, "li.lei", "not it")
    unknown_user = _sign_in(client, "nobody.here", "not it")

    assert wrong_password.status_code == unknown_user.status_code == 200
    assert "Please enter a correct username and password" in _main(wrong_password)
    assert _main(wrong_password).replace("li.lei", "nobody.here") == _main(unknown_user)


# Brute-force lockout


def _fail_until_locked(client, username):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = _sign_in(client, username, "guess")
    return response


def test_repeated_failures_lock_the_account_even_for_the_right_password(client, user):
    last_failure = _fail_until_locked(client, "li.lei")
    with_right_password = _sign_in(client, "li.lei", PASSWORD)

    for response in (last_failure, with_right_password):
        assert response.status_code in (403, 429)
        assert "Too many failed sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_lockout_does_not_tell_whether_the_username_exists(client, user):
    known = _fail_until_locked(client, "li.lei")
    unknown = _fail_until_locked(client, "nobody.here")

    assert known.status_code == unknown.status_code
    assert _main(known) == _main(unknown)
    assert "li.lei" not in known.content.decode()


def test_the_lockout_ends_after_the_cool_off_time(client, user):
    _fail_until_locked(client, "li.lei")

    with freeze_time(timezone.now() + settings.AXES_COOLOFF_TIME * timedelta(hours=1) + timedelta(minutes=1)):
        response = _sign_in(client, "li.lei", PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_an_administrator_can_lift_the_lockout(client, user):
    from django.core.management import call_command

    _fail_until_locked(client, "li.lei")
    call_command("axes_reset_username", "li.lei", verbosity=0)

    assert _sign_in(client, "li.lei", PASSWORD).status_code == 302


# Idle sign-out


def _go_idle(client):
    session = client.session
    session[SESSION_LAST_SEEN] = int(time.time()) - settings.SESSION_IDLE_TIMEOUT - 5
    session.save()


def test_an_idle_user_is_signed_out_and_comes_back_to_the_page_after_signing_in(client, user):
    client.force_login(user)
    assert client.get("/").status_code == 200
    _go_idle(client)

    response = client.get("/accounts/profile/?tab=a&b=c")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/accounts/profile/%3Ftab%3Da%26b%3Dc"
    login_page = client.get(response["Location"])
    assert "You were signed out after a period of inactivity." in login_page.content.decode()
    assert client.get("/").status_code == 302  # really signed out


def test_an_active_user_stays_signed_in(client, user):
    client.force_login(user)
    client.get("/")
    session = client.session
    session[SESSION_LAST_SEEN] = int(time.time()) - settings.SESSION_IDLE_TIMEOUT + 120
    session.save()

    assert client.get("/accounts/profile/").status_code == 200


def test_an_idle_htmx_request_sends_the_browser_to_sign_in(client, user):
    client.force_login(user)
    client.get("/")
    _go_idle(client)

    response = client.get(
        "/accounts/profile/", headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/customers/"}
    )

    assert response["HX-Redirect"] == "/accounts/login/?next=/customers/"
    assert client.get("/").status_code == 302


def test_an_idle_form_post_is_not_carried_out(client, user):
    client.force_login(user)
    client.get("/")
    _go_idle(client)

    response = client.post(
        "/accounts/profile/", {"first_name": "Changed", "last_name": "", "email": "", "language": ""}
    )

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/"
    user.refresh_from_db()
    assert user.first_name != "Changed"


# Changing and resetting a password


def test_a_user_changes_their_password(client, user):
    client.force_login(user)
    form = client.get("/accounts/password/change/").content.decode()
    for field in ("id_old_password", "id_new_password1", "id_new_password2"):
        assert f'<label for="{field}"' in form

    response = client.post(
        "/accounts/password/change/",
        {
            "old_password": PASSWORD,
            "new_password1": "a new long passphrase 7",
            "new_password2": "a new long passphrase 7",
        },
        follow=True,
    )

    assert response.redirect_chain[-1][0] == "/accounts/password/change/done/"
    assert "Your password was changed." in response.content.decode()
    client.post("/accounts/logout/")
    assert _sign_in(client, "li.lei", "a new long passphrase 7").status_code == 302


def test_a_password_change_needs_the_old_password(client, user):
    client.force_login(user)

    response = client.post(
        "/accounts/password/change/",
        {
            "old_password": "wrong",
            "new_password1": "a new long passphrase 7",
            "new_password2": "a new long passphrase 7",
        },
    )

    assert response.status_code == 200
    assert "Your old password was entered incorrectly" in response.content.decode()


def test_a_forgotten_password_is_reset_through_an_emailed_link(client, user):
    form = client.get("/accounts/password/reset/").content.decode()
    assert '<label for="id_email"' in form

    response = client.post("/accounts/password/reset/", {"email": "li.lei@example.com"})

    assert response["Location"] == "/accounts/password/reset/done/"
    [message] = mail.outbox
    assert message.to == ["li.lei@example.com"]
    assert "\n" not in message.subject
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", message.body).group(1)
    set_password_page = client.get(link, follow=True)
    assert '<label for="id_new_password1"' in set_password_page.content.decode()
    response = client.post(
        set_password_page.redirect_chain[-1][0],
        {"new_password1": "reset long passphrase 9", "new_password2": "reset long passphrase 9"},
    )
    assert response["Location"] == "/accounts/reset/done/"
    assert _sign_in(client, "li.lei", "reset long passphrase 9").status_code == 302


def test_resetting_an_unknown_address_looks_the_same_and_sends_nothing(client, user):
    known = client.post("/accounts/password/reset/", {"email": "li.lei@example.com"}, follow=True)
    unknown = client.post("/accounts/password/reset/", {"email": "nobody@example.com"}, follow=True)

    assert known.redirect_chain == unknown.redirect_chain
    assert _main(known) == _main(unknown)
    assert len(mail.outbox) == 1


def test_a_used_reset_link_no_longer_works(client, user):
    client.post("/accounts/password/reset/", {"email": "li.lei@example.com"})
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    page = client.get(link, follow=True)
    client.post(
        page.redirect_chain[-1][0],
        {"new_password1": "reset long passphrase 9", "new_password2": "reset long passphrase 9"},
    )

    again = client.get(link, follow=True)

    assert "This link no longer works" in again.content.decode()
