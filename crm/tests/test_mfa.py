"""The second factor at sign-in: who must use one, enrolment, codes at sign-in, recovery codes,
throttling, turning it off, an administrator's reset, remembered browsers."""

import re
import time
from datetime import timedelta

import pytest
from auditlog.models import LogEntry
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from freezegun import freeze_time

from crm import mfa, roles
from crm.audit import EVENT_MFA_ENROLLED, EVENT_MFA_FAILED, EVENT_MFA_RESET
from crm.models import RecoveryCode, RoleSecurity, User
from crm.testing import make_user

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-passphrase-42"
SHOWN_CODE = r"<code[^>]*>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</code>"


@pytest.fixture
def client(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def require_mfa(role: str, required: bool = True) -> RoleSecurity:
    rule, _created = RoleSecurity.objects.update_or_create(
        role=Group.objects.get(name=role), defaults={"require_mfa": required}
    )
    return rule


def code_for(device: TOTPDevice) -> str:
    """The code the user's app shows: the current one, or the next one when the current one was
    just used (a code works once)."""
    device.refresh_from_db()
    now_t = int((time.time() - device.t0) // device.step)
    t = max(now_t, device.last_t + 1)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits)
    totp.time = device.t0 + t * device.step
    return f"{totp.token():0{device.digits}d}"


def wrong_code(device: TOTPDevice) -> str:
    return f"{(int(code_for(device)) + 1) % 10**6:06d}"


def enrolled(user: User) -> tuple[TOTPDevice, list[str]]:
    device = TOTPDevice.objects.create(user=user, name=mfa.DEVICE_NAME, confirmed=True)
    return device, mfa.recovery_codes_regenerate(user=user)


def events(user: User, event: str) -> list[LogEntry]:
    return list(LogEntry.objects.filter(object_pk=str(user.pk), additional_data__event=event))


@pytest.fixture
def admin_user():
    return make_user(role=roles.ADMINISTRATOR, username="zhang.admin", password=PASSWORD, is_staff=True)


@pytest.fixture
def rep():
    return make_user(role=roles.SALES_REP, username="li.rep", password=PASSWORD)


# --- Who must use a second factor ---------------------------------------------------------------


def test_the_role_rule_decides_who_must_enrol(admin_user, rep):
    auditor = make_user(role=roles.AUDITOR)
    assert mfa.second_factor_state(admin_user) == mfa.STATE_NONE

    require_mfa(roles.ADMINISTRATOR)
    require_mfa(roles.AUDITOR)

    assert mfa.second_factor_state(admin_user) == mfa.STATE_ENROL
    assert mfa.second_factor_state(auditor) == mfa.STATE_ENROL
    assert mfa.second_factor_state(rep) == mfa.STATE_NONE
    enrolled(rep)  # set up by choice: asked for at every sign-in too
    assert mfa.second_factor_state(rep) == mfa.STATE_VERIFY


def test_joining_or_leaving_a_role_that_requires_it_changes_the_answer_at_once(rep):
    require_mfa(roles.AUDITOR)
    assert mfa.second_factor_state(rep) == mfa.STATE_NONE  # now cached
    rep.groups.add(Group.objects.get(name=roles.AUDITOR))
    assert mfa.second_factor_state(rep) == mfa.STATE_ENROL
    Group.objects.get(name=roles.AUDITOR).user_set.remove(rep)
    assert mfa.second_factor_state(rep) == mfa.STATE_NONE
    require_mfa(roles.SALES_REP)
    assert mfa.second_factor_state(rep) == mfa.STATE_ENROL
    require_mfa(roles.SALES_REP, False)
    assert mfa.second_factor_state(rep) == mfa.STATE_NONE


def test_a_user_who_needs_no_second_factor_costs_no_query_for_it(client, rep):
    client.force_login(rep)
    client.get("/accounts/profile/")
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/accounts/profile/").status_code == 200
    sql = [query["sql"] for query in captured.captured_queries]
    assert not [q for q in sql if "otp_totp" in q or ("crm_rolesecurity" in q and "crm_user_groups" in q)]


# --- Enforcement ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/admin/", "/admin/crm/user/", "/customers/companies/", "/accounts/profile/"])
def test_an_unverified_session_is_sent_to_enrolment_from_every_page(client, admin_user, path):
    require_mfa(roles.ADMINISTRATOR)
    client.force_login(admin_user)

    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/two-factor/enrol/")
    if path != "/":
        assert f"next={path.replace('/', '%2F')}" in response["Location"]


@pytest.mark.parametrize("path", ["/", "/admin/", "/search/?q=x"])
def test_a_user_with_an_app_is_sent_to_verification(client, rep, path):
    enrolled(rep)
    client.force_login(rep)

    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/two-factor/verify/")


def test_htmx_requests_get_a_whole_page_redirect(client, rep):
    enrolled(rep)
    client.force_login(rep)

    response = client.get(
        "/search/?q=x", headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/customers/companies/"}
    )

    assert response.status_code == 200
    assert response["HX-Redirect"] == "/accounts/two-factor/verify/?next=%2Fcustomers%2Fcompanies%2F"


def test_a_form_post_is_not_served_and_leads_back_to_the_start_page(client, rep):
    enrolled(rep)
    client.force_login(rep)

    response = client.post("/accounts/profile/", {"first_name": "X"})

    assert response["Location"] == "/accounts/two-factor/verify/"
    rep.refresh_from_db()
    assert rep.first_name != "X"


def test_sign_out_health_static_and_language_pages_stay_open(client, rep):
    enrolled(rep)
    client.force_login(rep)
    assert client.get("/jsi18n/").status_code == 200
    assert client.get("/static/css/crm.css").status_code == 200
    assert client.post("/i18n/setlang/", {"language": "en", "next": "/"}).status_code == 302
    assert client.get("/healthz").status_code in (200, 503)
    assert client.post("/accounts/logout/").status_code in (200, 302)
    assert client.get("/").status_code == 302  # signed out: the sign-in page now
    assert "/accounts/login/" in client.get("/")["Location"]


def test_sign_in_with_password_then_the_app_code(client, rep):
    device, _codes = enrolled(rep)

    response = client.post("/accounts/login/", {"username": "li.rep", "password": PASSWORD, "next": "/customers/"})
    assert response["Location"] == "/customers/"
    response = client.get("/customers/")
    assert response["Location"] == "/accounts/two-factor/verify/?next=%2Fcustomers%2F"

    page = client.get(response["Location"])
    body = page.content.decode()
    assert 'autocomplete="one-time-code"' in body and 'inputmode="numeric"' in body
    assert "Use a recovery code instead" in body

    response = client.post("/accounts/two-factor/verify/", {"code": code_for(device), "next": "/customers/"})
    assert response["Location"] == "/customers/"
    assert client.get("/").status_code == 200
    assert client.get("/admin/").status_code in (200, 302)  # a rep is no staff: admin's own sign-in


def test_a_verified_administrator_opens_the_admin_site(client, admin_user):
    require_mfa(roles.ADMINISTRATOR)
    device, _codes = enrolled(admin_user)
    client.force_login(admin_user)
    client.post("/accounts/two-factor/verify/", {"code": code_for(device)})

    assert client.get("/admin/").status_code == 200


def test_a_wrong_code_is_refused_and_audited(client, rep):
    device, _codes = enrolled(rep)
    client.force_login(rep)

    response = client.post("/accounts/two-factor/verify/", {"code": wrong_code(device)})

    assert response.status_code == 200
    assert "That code is not right" in response.content.decode()
    assert 'aria-invalid="true"' in response.content.decode()
    assert client.get("/")["Location"].startswith("/accounts/two-factor/verify/")
    [entry] = events(rep, EVENT_MFA_FAILED)
    assert entry.actor == rep and entry.remote_addr == "127.0.0.1"


def test_something_that_is_no_code_gets_a_clear_message(client, rep):
    enrolled(rep)
    client.force_login(rep)

    response = client.post("/accounts/two-factor/verify/", {"code": "abc"})

    assert response.status_code == 200
    assert "Enter the 6 digits your authenticator app shows." in response.content.decode()


def test_wrong_codes_slow_down_further_attempts(client, rep):
    device, _codes = enrolled(rep)
    client.force_login(rep)
    start = timezone.now()
    with freeze_time(start) as frozen:
        client.post("/accounts/two-factor/verify/", {"code": wrong_code(device)})
        frozen.tick(timedelta(seconds=1.5))
        client.post("/accounts/two-factor/verify/", {"code": wrong_code(device)})
        # Even the right code waits now (1 s, then 2 s, 4 s … after each wrong one).
        response = client.post("/accounts/two-factor/verify/", {"code": code_for(device)})
        assert "Too many wrong codes. Wait 2 seconds" in response.content.decode()
        assert client.get("/")["Location"].startswith("/accounts/two-factor/verify/")
        frozen.tick(timedelta(seconds=3))
        response = client.post("/accounts/two-factor/verify/", {"code": code_for(device)})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_a_code_works_only_once(client, rep):
    device, _codes = enrolled(rep)
    code = code_for(device)
    client.force_login(rep)
    client.post("/accounts/two-factor/verify/", {"code": code})
    other = client.__class__(HTTP_ACCEPT_LANGUAGE="en")
    other.force_login(rep)

    response = other.post("/accounts/two-factor/verify/", {"code": code})

    assert "That code is not right" in response.content.decode()


# --- Enrolment -----------------------------------------------------------------------------------


def test_enrolment_shows_a_qr_code_and_the_key_then_confirms_with_a_first_code(client, admin_user):
    require_mfa(roles.ADMINISTRATOR)
    client.force_login(admin_user)

    page = client.get("/accounts/two-factor/enrol/?next=/admin/").content.decode()
    device = TOTPDevice.objects.get(user=admin_user)
    assert not device.confirmed
    assert "<svg" in page and 'role="img"' in page and "<script" not in page.split("<main", 1)[1]
    secret = re.search(r'id="mfa-secret"[^>]*>([A-Z2-7 ]+)<', page).group(1)
    assert re.fullmatch(r"([A-Z2-7]{4} )*[A-Z2-7]{1,4}", secret)
    assert client.get("/accounts/two-factor/enrol/").content.decode().count(secret) == 1  # same key on reload

    response = client.post("/accounts/two-factor/enrol/", {"code": wrong_code(device), "next": "/admin/"})
    assert "That code is not right" in response.content.decode()
    assert not TOTPDevice.objects.get(pk=device.pk).confirmed

    with freeze_time(timezone.now() + timedelta(seconds=2)):  # past the throttle of the wrong code
        response = client.post("/accounts/two-factor/enrol/", {"code": code_for(device), "next": "/admin/"})
    assert response["Location"] == "/accounts/two-factor/codes/?next=%2Fadmin%2F"
    assert TOTPDevice.objects.get(pk=device.pk).confirmed
    assert len(events(admin_user, EVENT_MFA_ENROLLED)) == 1
    assert len(events(admin_user, EVENT_MFA_FAILED)) == 1

    codes_page = client.get(response["Location"]).content.decode()
    codes = re.findall(SHOWN_CODE, codes_page)
    assert len(codes) == 10 == len(set(codes))
    assert 'href="/admin/"' in codes_page
    stored = list(RecoveryCode.objects.filter(user=admin_user).values_list("code_hash", flat=True))
    assert len(stored) == 10
    assert not any(code in h or code.replace("-", "") in h for code in codes for h in stored)
    assert "shown only once" in client.get("/accounts/two-factor/codes/").content.decode()
    assert not re.findall(SHOWN_CODE, client.get("/accounts/two-factor/codes/").content.decode())
    assert client.get("/admin/").status_code == 200  # the session is verified


def test_a_user_with_an_app_cannot_enrol_a_new_one_without_its_code(client, rep):
    enrolled(rep)
    client.force_login(rep)

    assert client.get("/accounts/two-factor/enrol/")["Location"].startswith("/accounts/two-factor/verify/")


def test_moving_to_another_app_replaces_the_old_one(client, rep):
    old, old_codes = enrolled(rep)
    client.force_login(rep)
    client.post("/accounts/two-factor/verify/", {"code": code_for(old)})
    client.get("/accounts/two-factor/enrol/")
    new = TOTPDevice.objects.get(user=rep, confirmed=False)

    client.post("/accounts/two-factor/enrol/", {"code": code_for(new)})

    assert list(TOTPDevice.objects.filter(user=rep)) == [new]
    assert client.get("/").status_code == 200
    other = client.__class__(HTTP_ACCEPT_LANGUAGE="en")
    other.force_login(rep)
    assert "not valid" in other.post("/accounts/two-factor/recovery/", {"code": old_codes[0]}).content.decode()


# --- Recovery codes ------------------------------------------------------------------------------


def test_a_recovery_code_works_once(client, rep):
    _device, codes = enrolled(rep)
    client.force_login(rep)

    response = client.post("/accounts/two-factor/recovery/", {"code": codes[3].upper().replace("-", " "), "next": "/"})

    assert response["Location"] == "/"
    assert client.get("/").status_code == 200
    assert RecoveryCode.objects.filter(user=rep, used_at__isnull=False).count() == 1
    assert mfa.recovery_codes_left(rep) == 9
    again = client.__class__(HTTP_ACCEPT_LANGUAGE="en")
    again.force_login(rep)
    response = again.post("/accounts/two-factor/recovery/", {"code": codes[3]})
    assert "not valid, or it was used already" in response.content.decode()
    assert again.get("/")["Location"].startswith("/accounts/two-factor/verify/")
    assert len(events(rep, EVENT_MFA_FAILED)) == 1


def test_new_recovery_codes_replace_the_old_ones(client, rep):
    device, old_codes = enrolled(rep)
    client.force_login(rep)
    client.post("/accounts/two-factor/verify/", {"code": code_for(device)})

    response = client.post("/accounts/two-factor/codes/new/")

    assert response["Location"] == "/accounts/two-factor/codes/"
    new_codes = re.findall(SHOWN_CODE, client.get("/accounts/two-factor/codes/").content.decode())
    assert len(set(new_codes)) == 10 and not set(new_codes) & set(old_codes)
    other = client.__class__(HTTP_ACCEPT_LANGUAGE="en")
    other.force_login(rep)
    assert "not valid" in other.post("/accounts/two-factor/recovery/", {"code": old_codes[0]}).content.decode()
    with freeze_time(timezone.now() + timedelta(seconds=2)):  # past the throttle of the wrong code
        assert other.post("/accounts/two-factor/recovery/", {"code": new_codes[0]}).status_code == 302


# --- Turning off and resetting -------------------------------------------------------------------


def test_a_user_turns_their_second_factor_off_with_a_current_code(client, rep):
    device, _codes = enrolled(rep)
    client.force_login(rep)
    client.post("/accounts/two-factor/verify/", {"code": code_for(device)})

    refused = client.post("/accounts/two-factor/off/", {"code": wrong_code(device)})
    assert "That code is not right" in refused.content.decode()
    with freeze_time(timezone.now() + timedelta(seconds=2)):
        response = client.post("/accounts/two-factor/off/", {"code": code_for(device)})

    assert response["Location"] == "/accounts/two-factor/"
    assert not TOTPDevice.objects.filter(user=rep).exists()
    assert not RecoveryCode.objects.filter(user=rep).exists()
    [entry] = events(rep, EVENT_MFA_RESET)
    assert entry.actor == rep
    assert "Off" in client.get("/accounts/two-factor/").content.decode()


def test_it_cannot_be_turned_off_when_the_role_requires_it(client, admin_user):
    require_mfa(roles.ADMINISTRATOR)
    device, _codes = enrolled(admin_user)
    client.force_login(admin_user)
    client.post("/accounts/two-factor/verify/", {"code": code_for(device)})

    assert "cannot be turned off" in client.get("/accounts/two-factor/").content.decode()
    response = client.post("/accounts/two-factor/off/", {"code": code_for(device)})

    assert "cannot be turned off" in response.content.decode()
    assert TOTPDevice.objects.filter(user=admin_user, confirmed=True).exists()


def _admin_request(actor: User):
    request = RequestFactory().post("/admin/crm/user/", REMOTE_ADDR="10.0.0.8")
    request.user = actor
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    return request


def test_an_administrator_resets_a_users_second_factor(client, admin_user):
    require_mfa(roles.AUDITOR)
    auditor = make_user(role=roles.AUDITOR, username="wang.auditor")
    device, codes = enrolled(auditor)
    client.force_login(auditor)
    client.post("/accounts/two-factor/verify/", {"code": code_for(device)})
    assert client.get("/").status_code == 200

    request = _admin_request(admin_user)
    mfa.reset_second_factor_action(admin.site._registry[User], request, User.objects.filter(pk=auditor.pk))

    assert not TOTPDevice.objects.filter(user=auditor).exists()
    assert not RecoveryCode.objects.filter(user=auditor).exists()
    [entry] = events(auditor, EVENT_MFA_RESET)
    assert entry.actor == admin_user and entry.remote_addr == "10.0.0.8"
    assert [str(m) for m in request._messages] == [
        "Second factor reset for 1 user. They set it up again at their next sign-in."
    ]
    # The session verified with the removed app is no longer: the role sends them to set one up.
    assert client.get("/")["Location"].startswith("/accounts/two-factor/enrol/")


def test_resetting_a_user_without_a_second_factor_changes_nothing(admin_user, rep):
    request = _admin_request(admin_user)
    mfa.reset_second_factor_action(admin.site._registry[User], request, User.objects.filter(pk=rep.pk))

    assert events(rep, EVENT_MFA_RESET) == []
    assert [str(m) for m in request._messages] == [
        "Second factor reset for 0 users. They set it up again at their next sign-in."
    ]


# --- Remembered browsers -------------------------------------------------------------------------


def test_a_remembered_browser_skips_the_code_until_a_reset(client, rep, admin_user):
    device, _codes = enrolled(rep)
    client.force_login(rep)
    response = client.post("/accounts/two-factor/verify/", {"code": code_for(device), "remember": "on"})
    cookie = response.cookies[mfa.REMEMBER_COOKIE]
    assert cookie["httponly"] and cookie["max-age"] == 30 * 24 * 60 * 60

    client.logout()  # forgets every cookie: keep the browser's one
    client.cookies[mfa.REMEMBER_COOKIE] = cookie.value
    client.force_login(rep)
    assert client.get("/").status_code == 200  # no code asked

    someone_else = make_user(role=roles.SALES_REP)
    enrolled(someone_else)
    client.force_login(someone_else)
    assert client.get("/")["Location"].startswith("/accounts/two-factor/verify/")  # bound to the user

    mfa.mfa_reset(user=rep, actor=admin_user)
    enrolled(rep)
    client.force_login(rep)
    assert client.get("/")["Location"].startswith("/accounts/two-factor/verify/")  # bound to the device


def test_a_forged_remember_cookie_is_ignored(client, rep):
    enrolled(rep)
    client.cookies[mfa.REMEMBER_COOKIE] = "eyJ1IjoxfQ:forged:signature"
    client.force_login(rep)

    assert client.get("/")["Location"].startswith("/accounts/two-factor/verify/")


# --- Pages ---------------------------------------------------------------------------------------


def test_the_security_page_offers_to_set_up_a_second_factor(client, rep):
    client.force_login(rep)

    page = client.get("/accounts/two-factor/").content.decode()

    assert "Set up two-step verification" in page
    assert 'href="/accounts/two-factor/enrol/?next=/accounts/two-factor/"' in page


def test_the_pages_speak_chinese(client, rep):
    enrolled(rep)
    client.force_login(rep)

    response = client.get("/accounts/two-factor/verify/", HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert response.status_code == 200
    assert '<html lang="zh-hans"' in response.content.decode()
