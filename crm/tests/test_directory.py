"""Signing in with the company directory, against a real OpenLDAP server (crm/tests/slapd.py)."""

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import ldap
import pytest
from auditlog.models import LogEntry
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model

from crm import roles
from crm.directory import SESSION_CHECKED_AT, refused_as_disabled
from crm.models import Team, TeamMembership
from crm.testing import make_user
from crm.tests.slapd import PEOPLE, directory_settings_fixture, slapd_directory_fixture  # noqa: F401

pytestmark = pytest.mark.django_db

User = get_user_model()
LOCAL_PASSWORD = "a local password 42"


@pytest.fixture
def client(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def _sign_in(client, username, password):
    return client.post("/accounts/login/", {"username": username, "password": password})


def _roles(user) -> set[str]:
    return set(user.groups.filter(name__in=roles.ROLES).values_list("name", flat=True))


def _teams(user) -> dict[str, str]:
    return {m.team.name: m.role for m in TeamMembership.objects.filter(user=user).select_related("team")}


def _signed_in(client) -> bool:
    return client.get("/").status_code == 200


def test_a_sales_rep_signs_in_with_the_directory_password_and_gets_role_and_team(
    client, directory_settings, slapd_directory
):
    response = _sign_in(client, "wang.fang", slapd_directory.passwords["wang.fang"])

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert _signed_in(client)
    user = User.objects.get(username="wang.fang")
    assert user.directory_dn == f"uid=wang.fang,{PEOPLE}"
    assert (user.first_name, user.last_name, user.email) == ("芳", "王", "wang.fang@example.com")
    assert str(user) == "王芳"
    assert user.is_active and not user.is_staff and not user.is_superuser
    assert not user.has_usable_password()  # no local password to reset or guess
    assert _roles(user) == {roles.SALES_REP}
    assert _teams(user) == {"East": TeamMembership.Role.MEMBER}
    assert Team.objects.get(name="East").group.user_set.filter(pk=user.pk).exists()


def test_signing_in_over_starttls_checks_the_certificate(client, directory_settings, slapd_directory):
    directory_settings.LDAP_START_TLS = True
    directory_settings.LDAP_CA_FILE = str(slapd_directory.ca_file)

    assert _sign_in(client, "wang.fang", slapd_directory.passwords["wang.fang"]).status_code == 302
    assert _signed_in(client)  # the check after sign-in goes over StartTLS too


def test_a_directory_certificate_from_another_ca_is_refused(client, directory_settings, slapd_directory, tmp_path):
    other_ca = tmp_path / "other-ca.pem"
    other_ca.write_text(Path("/etc/ssl/certs/ca-certificates.crt").read_text())
    directory_settings.LDAP_START_TLS = True
    directory_settings.LDAP_CA_FILE = str(other_ca)

    response = _sign_in(client, "wang.fang", slapd_directory.passwords["wang.fang"])

    assert response.status_code == 200
    assert "The company directory is not answering" in response.content.decode()
    assert not User.objects.filter(username="wang.fang").exists()


def test_a_manager_manages_the_team_their_directory_groups_say(client, directory_settings, slapd_directory):
    assert _sign_in(client, "li.lei", slapd_directory.passwords["li.lei"]).status_code == 302

    user = User.objects.get(username="li.lei")
    assert _roles(user) == {roles.SALES_MANAGER}
    assert _teams(user) == {"East": TeamMembership.Role.MANAGER}


def test_the_login_name_is_not_case_sensitive(client, directory_settings, slapd_directory):
    _sign_in(client, "wang.fang", slapd_directory.passwords["wang.fang"])
    client.post("/accounts/logout/")

    assert _sign_in(client, "Wang.Fang", slapd_directory.passwords["wang.fang"]).status_code == 302
    assert User.objects.filter(username__iexact="wang.fang").count() == 1


def test_a_wrong_password_is_refused_and_counts_towards_the_lockout(client, directory_settings, slapd_directory):
    directory_settings.AXES_FAILURE_LIMIT = 3

    wrong = _sign_in(client, "wang.fang", "not the password")
    assert wrong.status_code == 200
    assert "Please enter a correct username and password" in wrong.content.decode()
    assert not _signed_in(client)
    _sign_in(client, "wang.fang", "still not it")
    _sign_in(client, "wang.fang", "nor this")

    locked = _sign_in(client, "wang.fang", slapd_directory.passwords["wang.fang"])

    assert locked.status_code in (403, 429)
    assert "Too many failed sign-in attempts" in locked.content.decode()
    assert not _signed_in(client)


def test_a_user_disabled_in_the_directory_is_refused_with_a_clear_message(client, directory_settings, slapd_directory):
    response = _sign_in(client, "zhao.min", slapd_directory.passwords["zhao.min"])

    assert response.status_code == 200
    assert "Your account is disabled in the company directory" in response.content.decode()
    assert not _signed_in(client)
    assert User.objects.get(username="zhao.min").is_active is False


def test_a_disabled_user_with_a_wrong_password_learns_nothing_more(client, directory_settings, slapd_directory):
    response = _sign_in(client, "zhao.min", "a guess")

    assert "Please enter a correct username and password" in response.content.decode()
    assert "disabled" not in response.content.decode()


def test_a_user_disabled_after_signing_in_is_signed_out_at_the_next_request(
    client, directory_settings, slapd_directory
):
    _sign_in(client, "wang.fang", slapd_directory.passwords["wang.fang"])
    assert client.get("/accounts/profile/").status_code == 200

    slapd_directory.lock("wang.fang")
    response = client.get("/accounts/profile/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/accounts/profile/"
    login_page = client.get(response["Location"])
    assert "Your directory account is no longer active, so you were signed out." in login_page.content.decode()
    assert not _signed_in(client)
    assert User.objects.get(username="wang.fang").is_active is False
    # Signing in again is refused too, with the reason.
    again = _sign_in(client, "wang.fang", slapd_directory.passwords["wang.fang"])
    assert "Your account is disabled in the company directory" in again.content.decode()


def test_a_user_removed_from_the_directory_is_signed_out(client, directory_settings, slapd_directory):
    _sign_in(client, "wang.fang", slapd_directory.passwords["wang.fang"])

    slapd_directory.delete("wang.fang")

    assert client.get("/").status_code == 302
    assert not _signed_in(client)


def test_htmx_requests_of_a_disabled_user_are_sent_to_the_sign_in_page(client, directory_settings, slapd_directory):
    _sign_in(client, "wang.fang", slapd_directory.passwords["wang.fang"])
    slapd_directory.lock("wang.fang")

    response = client.get("/", headers={"HX-Request": "true"})

    assert response["HX-Redirect"].startswith("/accounts/login/")


def test_the_directory_is_asked_again_only_after_the_recheck_interval(client, directory_settings, slapd_directory):
    directory_settings.LDAP_RECHECK_SECONDS = 60
    _sign_in(client, "wang.fang", slapd_directory.passwords["wang.fang"])
    slapd_directory.lock("wang.fang")

    assert _signed_in(client)  # checked at sign-in, less than a minute ago

    session = client.session
    session[SESSION_CHECKED_AT] = time.time() - 61
    session.save()
    assert client.get("/").status_code == 302
    assert not _signed_in(client)


def test_an_unreachable_directory_keeps_signed_in_users_and_logs_a_warning(
    client, directory_settings, slapd_directory, caplog
):
    _sign_in(client, "wang.fang", slapd_directory.passwords["wang.fang"])
    slapd_directory.stop()

    with caplog.at_level(logging.WARNING, logger="crm.directory"):
        assert _signed_in(client)

    assert "keeping the session" in caplog.text
    assert User.objects.get(username="wang.fang").is_active


def test_an_unreachable_directory_at_sign_in_says_so_and_locks_nobody_out(client, directory_settings, slapd_directory):
    directory_settings.AXES_FAILURE_LIMIT = 2
    slapd_directory.stop()

    for _ in range(3):
        response = _sign_in(client, "wang.fang", slapd_directory.passwords["wang.fang"])
        assert response.status_code == 200
        assert "The company directory is not answering" in response.content.decode()


def test_a_group_change_in_the_directory_changes_roles_and_teams_at_the_next_sign_in(
    client, directory_settings, slapd_directory
):
    password = slapd_directory.passwords["wang.fang"]
    _sign_in(client, "wang.fang", password)
    client.post("/accounts/logout/")
    user = User.objects.get(username="wang.fang")

    slapd_directory.remove_from_group("wang.fang", "crm-sales-reps")
    slapd_directory.remove_from_group("wang.fang", "sales-east")
    slapd_directory.add_to_group("wang.fang", "crm-marketing")
    assert _sign_in(client, "wang.fang", password).status_code == 302

    assert _roles(user) == {roles.MARKETING}
    assert _teams(user) == {}
    # The change is in the audit trail, as any change of roles is.
    entries = LogEntry.objects.get_for_object(user).filter(changes__has_key="groups")
    changes = [entry.changes["groups"] for entry in entries]
    assert {"type": "m2m", "operation": "delete", "objects": [roles.SALES_REP]} in changes
    assert {"type": "m2m", "operation": "add", "objects": [roles.MARKETING]} in changes


def test_roles_given_by_hand_to_a_directory_user_are_taken_back(client, directory_settings, slapd_directory):
    password = slapd_directory.passwords["wang.fang"]
    _sign_in(client, "wang.fang", password)
    client.post("/accounts/logout/")
    user = User.objects.get(username="wang.fang")
    user.groups.add(user.groups.model.objects.get(name=roles.AUDITOR))

    _sign_in(client, "wang.fang", password)

    assert _roles(user) == {roles.SALES_REP}


def test_without_mappings_roles_and_teams_are_managed_by_hand(client, directory_settings, slapd_directory):
    directory_settings.LDAP_ROLE_GROUPS = []
    directory_settings.LDAP_TEAM_GROUPS = []
    password = slapd_directory.passwords["wang.fang"]
    _sign_in(client, "wang.fang", password)
    client.post("/accounts/logout/")
    user = User.objects.get(username="wang.fang")
    assert _roles(user) == set() and _teams(user) == {}
    user.groups.add(user.groups.model.objects.get(name=roles.SUPPORT_AGENT))

    assert _sign_in(client, "wang.fang", password).status_code == 302

    assert _roles(user) == {roles.SUPPORT_AGENT}


def test_a_local_administrator_still_signs_in(client, directory_settings, slapd_directory):
    make_user(username="admin", password=LOCAL_PASSWORD, role=roles.ADMINISTRATOR, is_staff=True)

    assert _sign_in(client, "admin", LOCAL_PASSWORD).status_code == 302
    assert _signed_in(client)


def test_a_local_administrator_signs_in_while_the_directory_is_down(client, directory_settings, slapd_directory):
    make_user(username="admin", password=LOCAL_PASSWORD, role=roles.ADMINISTRATOR, is_staff=True)
    slapd_directory.stop()

    assert _sign_in(client, "admin", LOCAL_PASSWORD).status_code == 302
    assert _signed_in(client)  # the middleware leaves local accounts alone


def test_a_local_account_is_never_taken_over_by_a_directory_entry_of_the_same_name(
    client, directory_settings, slapd_directory
):
    local = make_user(username="li.lei", password=LOCAL_PASSWORD, role=roles.SUPPORT_AGENT)

    refused = _sign_in(client, "li.lei", slapd_directory.passwords["li.lei"])
    assert "Please enter a correct username and password" in refused.content.decode()
    assert _sign_in(client, "li.lei", LOCAL_PASSWORD).status_code == 302

    local.refresh_from_db()
    assert local.directory_dn == ""
    assert _roles(local) == {roles.SUPPORT_AGENT}
    assert _teams(local) == {}


def test_without_ldap_server_uri_nothing_changes(client, directory_settings, slapd_directory):
    directory_settings.LDAP_SERVER_URI = ""
    make_user(username="admin", password=LOCAL_PASSWORD, role=roles.ADMINISTRATOR)

    refused = _sign_in(client, "wang.fang", slapd_directory.passwords["wang.fang"])
    assert "Please enter a correct username and password" in refused.content.decode()
    assert not User.objects.filter(username="wang.fang").exists()
    assert _sign_in(client, "admin", LOCAL_PASSWORD).status_code == 302
    assert _signed_in(client)


def test_the_directory_is_off_by_default():
    assert "crm.directory.DirectoryBackend" not in django_settings.AUTHENTICATION_BACKENDS


def _settings_from(environment: dict) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "crm.settings", "DEBUG": "false", "SECRET_KEY": "x" * 50}
    env.update(environment)
    code = (
        "import django; from django.conf import settings; django.setup();"
        "print(settings.AUTHENTICATION_BACKENDS[1]); print(settings.LDAP_ROLE_GROUPS); print(settings.LDAP_TEAM_GROUPS)"
    )
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=django_settings.BASE_DIR
    )


def test_settings_are_read_from_the_environment():
    result = _settings_from(
        {
            "LDAP_SERVER_URI": "ldaps://dc1.example.com",
            "LDAP_USER_BASE": "ou=Staff,dc=example,dc=com",
            "LDAP_ROLE_GROUPS": "Sales rep=CN=CRM Sales,OU=Groups,DC=example,DC=com;"
            "administrator=CN=CRM Admins,OU=Groups,DC=example,DC=com",
            "LDAP_TEAM_GROUPS": "East=CN=Sales East,OU=Groups,DC=example,DC=com\n"
            "East:manager=CN=Sales East Leads,OU=Groups,DC=example,DC=com",
        }
    )

    assert result.returncode == 0, result.stderr
    backend, role_groups, team_groups = result.stdout.splitlines()
    assert backend == "crm.directory.DirectoryBackend"
    assert role_groups == str(
        [
            ("Sales rep", "CN=CRM Sales,OU=Groups,DC=example,DC=com"),
            ("Administrator", "CN=CRM Admins,OU=Groups,DC=example,DC=com"),
        ]
    )
    assert team_groups == str(
        [
            ("East", "member", "CN=Sales East,OU=Groups,DC=example,DC=com"),
            ("East", "manager", "CN=Sales East Leads,OU=Groups,DC=example,DC=com"),
        ]
    )


@pytest.mark.parametrize(
    ("environment", "complaint"),
    [
        ({"LDAP_ROLE_GROUPS": "Boss=cn=bosses,dc=example,dc=com"}, "'Boss' is not a role"),
        ({"LDAP_ROLE_GROUPS": "Sales rep"}, "is not of the form"),
        ({"LDAP_SERVER_URI": "ldap://dc1.example.com"}, "unencrypted"),
        ({"LDAP_SERVER_URI": "dc1.example.com"}, "must start with ldap://"),
        ({"LDAP_SERVER_URI": "ldaps://dc1.example.com", "LDAP_USER_BASE": ""}, "LDAP_USER_BASE is required"),
    ],
)
def test_bad_settings_fail_loudly(environment, complaint):
    result = _settings_from({"LDAP_USER_BASE": "dc=example,dc=com", **environment})

    assert result.returncode != 0
    assert complaint in result.stderr


def test_active_directory_refusing_a_disabled_account_is_told_apart_from_a_wrong_password():
    def refusal(info):
        return ldap.INVALID_CREDENTIALS({"result": 49, "desc": "Invalid credentials", "info": info})

    disabled = "80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 533, v4563"
    wrong = "80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 52e, v4563"

    assert refused_as_disabled(refusal(disabled))
    assert not refused_as_disabled(refusal(wrong))
    assert not refused_as_disabled(ldap.SERVER_DOWN({"desc": "Can't contact LDAP server"}))
