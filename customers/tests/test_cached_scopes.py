"""A signed-in user's roles, teams, model permissions and shares come from the cache after the
first request, and every change to them is seen on the next request (crm.permissions,
crm.signals, crm.cache.per_user)."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm import roles
from crm.cache import forget_user, per_user
from crm.models import TeamMembership
from crm.services import ShareLevel, record_share, record_unshare
from crm.testing import add_to_team, make_team, make_user
from customers.models import Company

pytestmark = pytest.mark.django_db

CACHED_TABLES = (
    '"auth_group"',
    '"auth_permission"',
    '"crm_teammembership"',
    '"crm_user_user_permissions"',
    "objectpermission",
    '"crm_savedview"',
)


def _role_queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return [q["sql"] for q in captured.captured_queries if any(t in q["sql"] for t in CACHED_TABLES)]


def test_a_second_request_reads_no_role_share_or_saved_view_table(client):
    rep = make_user()
    client.force_login(rep)
    url = reverse("customers:company_list")
    assert _role_queries(client, url)  # the first request reads them
    assert _role_queries(client, url) == []


def test_a_role_given_is_seen_on_the_next_request(client):
    user = make_user(role=None)
    client.force_login(user)
    url = reverse("customers:company_list")
    assert client.get(url).status_code == 403
    user.groups.add(Group.objects.get(name=roles.SALES_REP))
    assert client.get(url).status_code == 200
    user.groups.remove(Group.objects.get(name=roles.SALES_REP))
    client.force_login(user)  # losing a role ends the user's sessions
    assert client.get(url).status_code == 403


def test_a_permission_given_to_a_role_or_user_is_seen_on_the_next_request(client):
    auditor = make_user(role=roles.AUDITOR)
    client.force_login(auditor)
    url = reverse("customers:company_create")
    assert client.get(url).status_code == 403
    add_company = Permission.objects.get(codename="add_company", content_type__app_label="customers")
    auditors = Group.objects.get(name=roles.AUDITOR)
    auditors.permissions.add(add_company)
    assert client.get(url).status_code == 200
    auditors.permissions.remove(add_company)
    assert client.get(url).status_code == 403
    auditor.user_permissions.add(add_company)
    assert client.get(url).status_code == 200
    auditor.user_permissions.clear()
    assert client.get(url).status_code == 403


def test_a_team_joined_or_left_is_seen_on_the_next_request(client):
    team = make_team()
    owner = make_user()
    add_to_team(owner, team)
    company = Company.objects.create(name="团队客户", owner=owner, team=team)
    manager = make_user(role=roles.SALES_MANAGER)
    client.force_login(manager)
    url = reverse("customers:company_detail", args=[company.pk])
    assert client.get(url).status_code == 404
    add_to_team(manager, team, manager=True)
    assert client.get(url).status_code == 200
    TeamMembership.objects.filter(team=team, user=manager).delete()
    assert client.get(url).status_code == 404


def test_a_role_deleted_is_forgotten_for_everyone(client):
    group = Group.objects.create(name="Temporary role")
    group.permissions.add(Permission.objects.get(codename="view_company", content_type__app_label="customers"))
    user = make_user(role=None)
    user.groups.add(group)
    client.force_login(user)
    url = reverse("customers:company_list")
    assert client.get(url).status_code == 200
    group.delete()
    assert client.get(url).status_code == 403


def test_a_superuser_flag_is_read_from_the_account_each_request(client):
    user = make_user(role=None)
    client.force_login(user)
    url = reverse("customers:company_list")
    assert client.get(url).status_code == 403
    user.is_superuser = True
    user.save()
    assert client.get(url).status_code == 200
    user.is_superuser = False
    user.save()
    assert client.get(url).status_code == 403


def _company_of_another_team():
    owner = make_user()
    add_to_team(owner, make_team())
    return owner, Company.objects.create(name="别队客户", owner=owner, team=owner.memberships.get().team)


def test_a_share_given_or_taken_back_is_seen_on_the_next_request(client):
    owner, company = _company_of_another_team()
    reader = make_user()
    add_to_team(reader, make_team())
    client.force_login(reader)
    url = reverse("customers:company_detail", args=[company.pk])
    listing = reverse("customers:company_list")
    assert client.get(url).status_code == 404
    assert company.name not in client.get(listing).content.decode()
    record_share(obj=company, recipient=reader, level=ShareLevel.VIEW, actor=owner)
    assert client.get(url).status_code == 200
    assert company.name in client.get(listing).content.decode()
    record_unshare(obj=company, recipient=reader, actor=owner)
    assert client.get(url).status_code == 404
    assert company.name not in client.get(listing).content.decode()


def test_a_share_with_a_team_follows_its_members(client):
    owner, company = _company_of_another_team()
    team = make_team()
    reader = make_user()
    add_to_team(reader, team)
    client.force_login(reader)
    url = reverse("customers:company_detail", args=[company.pk])
    assert client.get(url).status_code == 404
    record_share(obj=company, recipient=team.group, level=ShareLevel.VIEW, actor=owner)
    assert client.get(url).status_code == 200
    TeamMembership.objects.filter(team=team, user=reader).delete()
    reader.groups.remove(team.group)
    client.force_login(reader)  # losing a group ends the user's sessions
    assert client.get(url).status_code == 404
    add_to_team(reader, team)
    assert client.get(url).status_code == 200
    record_unshare(obj=company, recipient=team.group, actor=owner)
    assert client.get(url).status_code == 404


def test_a_share_goes_with_its_record(client):
    owner, company = _company_of_another_team()
    reader = make_user()
    client.force_login(reader)
    record_share(obj=company, recipient=reader, level=ShareLevel.VIEW, actor=owner)
    listing = reverse("customers:company_list")
    assert company.name in client.get(listing).content.decode()
    company.delete()
    assert company.name not in client.get(listing).content.decode()


def test_an_answer_computed_while_a_write_forgets_it_is_never_read():
    """A write that lands between reading the stamps and storing the answer leaves that answer
    under a stamp it has replaced."""
    user = make_user()
    answers = iter([1, 2, 3])

    def compute():
        answer = next(answers)
        if answer == 1:
            forget_user([user], "tests:race")  # the write's forgetting, while this answer is computed
        return answer

    ask = lambda: per_user(user, "tests:race", compute, generation="tests:generation", timeout=60)  # noqa: E731
    assert ask() == 1
    assert ask() == 2  # computed again: the first answer was stale
    assert ask() == 2  # and kept
