"""Sign-in rules: the networks a role may sign in from (behind a proxy too), the absolute session
lifetime, "where you are signed in", and the sessions that end with a new password, a lost role
or a deactivated account."""

import time

import pytest
from auditlog.models import LogEntry
from django.contrib.auth.models import Group
from django.test import Client, override_settings

from crm import roles
from crm.audit import EVENT_SESSION_ENDED, EVENT_SIGN_IN_REFUSED
from crm.models import RoleSecurity, UserSession
from crm.signin import SESSION_STARTED, browser_name
from crm.testing import make_user

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery 42"
OFFICE = "10.20.0.0/16\n# the branch office\n192.168.7.0/24"
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0 Safari/537.36"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"


def browser(address="10.20.1.5", agent=CHROME) -> Client:
    client = Client(REMOTE_ADDR=address, HTTP_USER_AGENT=agent, HTTP_ACCEPT_LANGUAGE="en")
    return client


def sign_in(client, username, password=PASSWORD):
    return client.post("/accounts/login/", {"username": username, "password": password})


def signed_in(client) -> bool:
    return client.get("/").status_code == 200


@pytest.fixture
def office_admin():
    user = make_user(role=roles.ADMINISTRATOR, username="admin.wang", password=PASSWORD)
    RoleSecurity.objects.create(role=Group.objects.get(name=roles.ADMINISTRATOR), networks=OFFICE)
    return user


def test_an_administrator_signs_in_only_from_the_office_network(office_admin):
    outside = browser("203.0.113.9")
    response = sign_in(outside, "admin.wang")
    page = response.content.decode()
    assert response.status_code == 200 and "203.0.113.9 is not one of them" in page
    assert not signed_in(outside)
    [refused] = LogEntry.objects.filter(additional_data__event=EVENT_SIGN_IN_REFUSED)
    assert (refused.remote_addr, refused.object_id) == ("203.0.113.9", office_admin.pk)

    for address in ("10.20.200.1", "192.168.7.44"):
        inside = browser(address)
        assert sign_in(inside, "admin.wang").status_code == 302 and signed_in(inside)


def test_the_admin_sites_own_sign_in_keeps_the_network_rule(office_admin):
    office_admin.is_staff = True
    office_admin.save()
    outside = browser("203.0.113.9")
    response = outside.post("/admin/login/", {"username": "admin.wang", "password": PASSWORD})
    assert response.status_code == 200 and "203.0.113.9 is not one of them" in response.content.decode()
    inside = browser("10.20.1.5")
    assert inside.post("/admin/login/", {"username": "admin.wang", "password": PASSWORD}).status_code == 302


def test_a_rep_without_a_rule_signs_in_from_anywhere(office_admin):
    make_user(role=roles.SALES_REP, username="rep.li", password=PASSWORD)
    anywhere = browser("203.0.113.9")
    assert sign_in(anywhere, "rep.li").status_code == 302 and signed_in(anywhere)


@override_settings(PROXY_COUNT=1)
def test_behind_the_proxy_the_forwarded_address_decides(office_admin):
    proxy = "10.20.0.1"  # the reverse proxy itself sits in the office network
    home = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="198.51.100.7", HTTP_ACCEPT_LANGUAGE="en")
    assert "198.51.100.7 is not one of them" in sign_in(home, "admin.wang").content.decode()
    office = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="10.20.9.9", HTTP_ACCEPT_LANGUAGE="en")
    assert sign_in(office, "admin.wang").status_code == 302


def test_a_session_that_leaves_the_office_is_signed_out_at_its_next_request(office_admin):
    client = browser("10.20.1.5")
    sign_in(client, "admin.wang")
    assert signed_in(client)
    client.defaults["REMOTE_ADDR"] = "203.0.113.50"
    response = client.get("/customers/companies/")
    assert response.status_code == 302 and "/accounts/login/" in response.url
    assert "203.0.113.50 is not one of them" in client.get(response.url).content.decode()
    assert not signed_in(client) and not UserSession.objects.exists()
    # An htmx request is told to go to the sign-in page instead.
    client.defaults["REMOTE_ADDR"] = "10.20.1.5"
    sign_in(client, "admin.wang")
    client.defaults["REMOTE_ADDR"] = "203.0.113.50"
    fragment = client.get("/customers/companies/", HTTP_HX_REQUEST="true")
    assert "/accounts/login/" in fragment["HX-Redirect"]


def test_a_user_with_two_restricted_roles_must_satisfy_both(office_admin):
    auditors = Group.objects.get(name=roles.AUDITOR)
    RoleSecurity.objects.create(role=auditors, networks="10.20.5.0/24")
    office_admin.groups.add(auditors)
    assert "is not one of them" in sign_in(browser("10.20.1.5"), "admin.wang").content.decode()
    assert sign_in(browser("10.20.5.5"), "admin.wang").status_code == 302


def test_a_rule_that_cannot_be_read_refuses_rather_than_lets_in(office_admin):
    RoleSecurity.objects.filter(role__name=roles.ADMINISTRATOR).update(networks="office lan")
    assert sign_in(browser("10.20.1.5"), "admin.wang").status_code == 200


def test_the_admin_site_refuses_a_range_that_is_no_range(admin_client):
    group = Group.objects.get(name=roles.AUDITOR)
    form = {
        "name": group.name,
        "security-TOTAL_FORMS": "1",
        "security-INITIAL_FORMS": "0",
        "security-MIN_NUM_FORMS": "0",
        "security-MAX_NUM_FORMS": "1",
        "security-0-require_mfa": "on",
        "security-0-networks": "10.20.0.0/16\nthe office",
    }
    response = admin_client.post(f"/admin/auth/group/{group.pk}/change/", form)
    assert response.status_code == 200 and "Not an address or range: the office" in response.content.decode()
    assert not RoleSecurity.objects.exists()
    form["security-0-networks"] = "10.20.0.0/16"
    assert admin_client.post(f"/admin/auth/group/{group.pk}/change/", form).status_code == 302
    assert RoleSecurity.objects.get(role=group).require_mfa


@override_settings(SESSION_ABSOLUTE_TIMEOUT=3600, SESSION_IDLE_TIMEOUT=7200)
def test_a_session_ends_at_its_absolute_lifetime_however_active():
    make_user(role=roles.SALES_REP, username="rep.li", password=PASSWORD)
    client = browser()
    sign_in(client, "rep.li")
    session = client.session
    session[SESSION_STARTED] = int(time.time()) - 3601
    session.save()
    response = client.get("/customers/companies/")
    assert response.status_code == 302 and "/accounts/login/" in response.url
    assert "a session lasts at most 1 hour" in client.get(response.url).content.decode()


def test_where_you_are_signed_in_lists_each_browser_and_signs_out_the_others():
    user = make_user(role=roles.SALES_REP, username="rep.li", password=PASSWORD)
    laptop, phone, tablet = browser("10.0.0.1", CHROME), browser("10.0.0.2", FIREFOX), browser("10.0.0.3")
    for client in (laptop, phone, tablet):
        sign_in(client, "rep.li")
    page = laptop.get("/accounts/sessions/").content.decode()
    assert "Chrome on Windows" in page and "Firefox on Linux" in page and "10.0.0.2" in page
    assert "This browser" in page

    other = UserSession.objects.get(user=user, ip_address="10.0.0.2")
    response = laptop.post("/accounts/sessions/", {"session": other.pk})
    assert response.status_code == 302
    assert not signed_in(phone) and signed_in(laptop) and signed_in(tablet)
    # Someone else's session, or garbage, is refused without a 500.
    assert laptop.post("/accounts/sessions/", {"session": "x"}).status_code == 302
    laptop.post("/accounts/sessions/", {"session": "others"})
    assert not signed_in(tablet) and signed_in(laptop)
    assert UserSession.objects.filter(user=user).count() == 1
    assert LogEntry.objects.filter(additional_data__event=EVENT_SESSION_ENDED, object_id=user.pk).count() == 2


def test_nobody_ends_another_users_session():
    make_user(role=roles.SALES_REP, username="rep.li", password=PASSWORD)
    make_user(role=roles.SALES_REP, username="rep.zhao", password=PASSWORD)
    li, zhao = browser(), browser()
    sign_in(li, "rep.li")
    sign_in(zhao, "rep.zhao")
    theirs = UserSession.objects.get(user__username="rep.zhao")
    li.post("/accounts/sessions/", {"session": theirs.pk})
    assert signed_in(zhao)


def test_a_new_password_signs_out_everywhere_else():
    make_user(role=roles.SALES_REP, username="rep.li", password=PASSWORD)
    here, there = browser(), browser("10.0.0.9", FIREFOX)
    sign_in(here, "rep.li")
    sign_in(there, "rep.li")
    form = {
        "old_password": PASSWORD,
        "new_password1": "a brand new passphrase 7",
        "new_password2": "a brand new passphrase 7",
    }
    assert here.post("/accounts/password/change/", form).status_code == 302
    assert signed_in(here) and not signed_in(there)
    [record] = UserSession.objects.all()
    assert record.session_key == here.session.session_key


def test_losing_a_role_or_the_account_ends_the_sessions(admin_client):
    user = make_user(role=roles.SALES_REP, username="rep.li", password=PASSWORD)
    client = browser()
    sign_in(client, "rep.li")
    user.groups.remove(Group.objects.get(name=roles.SALES_REP))
    assert not signed_in(client)

    user.groups.add(Group.objects.get(name=roles.SALES_REP))
    sign_in(client, "rep.li")
    assert signed_in(client)
    user.is_active = False
    user.save()
    assert not signed_in(client) and not UserSession.objects.filter(user=user).exists()


@pytest.mark.parametrize(
    ("password", "problem"),
    [("short 1", "at least 12 characters"), ("qwerty123456", "too common"), ("12345678901234", "entirely numeric")],
)
def test_the_password_policy_refuses_short_and_breached_passwords(password, problem):
    make_user(role=roles.SALES_REP, username="rep.li", password=PASSWORD)
    client = browser()
    sign_in(client, "rep.li")
    form = {"old_password": PASSWORD, "new_password1": password, "new_password2": password}
    response = client.post("/accounts/password/change/", form)
    assert response.status_code == 200 and problem in response.content.decode()


def test_the_admin_signs_out_a_session_from_the_admin_site(admin_client):
    make_user(role=roles.SALES_REP, username="rep.li", password=PASSWORD)
    client = browser()
    sign_in(client, "rep.li")
    record = UserSession.objects.get(user__username="rep.li")
    page = admin_client.get("/admin/crm/usersession/")
    assert page.status_code == 200 and "Chrome on Windows" in page.content.decode()
    admin_client.post("/admin/crm/usersession/", {"action": "sign_out", "_selected_action": [record.pk]})
    assert not signed_in(client)


@pytest.mark.parametrize(
    ("agent", "name"),
    [(CHROME, "Chrome on Windows"), (FIREFOX, "Firefox on Linux"), ("", "Unknown browser"), ("curl/8.0", "curl/8.0")],
)
def test_browser_names(agent, name):
    assert browser_name(agent) == name


def test_the_admin_site_shows_no_authenticator_keys_and_lists_waiting_tasks(admin_client):
    """django-otp's device admin (which can draw anyone's key as a QR code) is not offered; the
    tasks waiting for the broker are listed read-only."""
    from crm.models import PendingTask

    assert admin_client.get("/admin/otp_totp/totpdevice/").status_code == 404
    task = PendingTask.objects.create(task="customers.import_tasks.run_import", args=[7])
    page = admin_client.get("/admin/crm/pendingtask/")
    assert page.status_code == 200 and "customers.import_tasks.run_import" in page.content.decode()
    assert admin_client.post(f"/admin/crm/pendingtask/{task.pk}/delete/", {"post": "yes"}).status_code == 403
    assert PendingTask.objects.filter(pk=task.pk).exists()


def test_sessions_ended_by_time_are_not_listed_and_go_with_the_nightly_purge():
    from datetime import timedelta

    from django.utils import timezone

    from crm.tasks import purge_expired_sessions

    user = make_user(role=roles.SALES_REP, username="rep.li", password=PASSWORD)
    here, gone = browser(), browser("10.0.0.7", FIREFOX)
    sign_in(here, "rep.li")
    sign_in(gone, "rep.li")
    UserSession.objects.filter(ip_address="10.0.0.7").update(last_seen=timezone.now() - timedelta(hours=3))
    page = here.get("/accounts/sessions/").content.decode()
    assert "Firefox on Linux" not in page and "Chrome on Windows" in page
    purge_expired_sessions()
    assert list(UserSession.objects.filter(user=user).values_list("ip_address", flat=True)) == ["10.20.1.5"]
