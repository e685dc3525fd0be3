"""Who sees and changes which company: the scoping layer (crm.permissions) every module relies on."""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from crm import roles
from crm.permissions import can, get_object_for_user
from crm.services import ShareLevel, record_share, record_unshare, team_set_member
from crm.testing import make_user
from customers.models import Company
from customers.tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db

EXPECTED_VIEW = {"owner": True, "teammate": False, "manager": True, "outsider": False, "auditor": True, "admin": True}
EXPECTED_CHANGE = {
    "owner": True,
    "teammate": False,
    "manager": True,
    "outsider": False,
    "auditor": False,
    "admin": True,
}


@pytest.fixture
def company(cast):
    return CompanyFactory(owner=cast.owner, team=cast.team)


@pytest.mark.parametrize("who", EXPECTED_VIEW)
def test_visibility_matrix(cast, company, who):
    user = cast.as_dict()[who]
    assert Company.objects.visible_to(user).filter(pk=company.pk).exists() is EXPECTED_VIEW[who]
    assert can(user, company, "view") is EXPECTED_VIEW[who]
    assert Company.objects.restrict(user, "change").filter(pk=company.pk).exists() is EXPECTED_CHANGE[who]
    assert can(user, company, "change") is EXPECTED_CHANGE[who]


@pytest.mark.parametrize("who", EXPECTED_VIEW)
def test_lookup_answers_404_when_invisible_and_403_when_not_permitted(cast, company, who):
    user = cast.as_dict()[who]
    if not EXPECTED_VIEW[who]:
        with pytest.raises(Http404):
            get_object_for_user(user, Company, company.pk)
        return
    assert get_object_for_user(user, Company, company.pk) == company
    if EXPECTED_CHANGE[who]:
        assert get_object_for_user(user, Company, company.pk, "change") == company
    else:
        with pytest.raises(PermissionDenied):
            get_object_for_user(user, Company, company.pk, "change")


def test_inactive_and_anonymous_users_see_nothing(cast, company):
    from django.contrib.auth.models import AnonymousUser

    cast.owner.is_active = False
    assert not Company.objects.visible_to(cast.owner).exists()
    assert not Company.objects.visible_to(AnonymousUser()).exists()


def test_share_with_user_grants_view_then_edit_and_unshare_revokes(cast, company):
    outsider = cast.outsider
    record_share(obj=company, recipient=outsider, level=ShareLevel.VIEW, actor=cast.owner)
    assert can(outsider, company, "view")
    assert not can(outsider, company, "change")

    record_share(obj=company, recipient=outsider, level=ShareLevel.CHANGE, actor=cast.owner)
    assert can(outsider, company, "change")

    record_share(obj=company, recipient=outsider, level=ShareLevel.VIEW, actor=cast.owner)
    assert not can(outsider, company, "change")

    record_unshare(obj=company, recipient=outsider, actor=cast.owner)
    assert not Company.objects.visible_to(outsider).filter(pk=company.pk).exists()


def test_share_with_team_reaches_every_member_and_new_members(cast, company):
    record_share(obj=company, recipient=cast.other_team.group, level=ShareLevel.VIEW, actor=cast.owner)
    assert can(cast.outsider, company, "view")
    newcomer = make_user(role=roles.SALES_REP)
    assert not can(newcomer, company, "view")
    team_set_member(team=cast.other_team, user=newcomer)
    newcomer.refresh_from_db()
    fresh = type(newcomer).objects.get(pk=newcomer.pk)
    assert can(fresh, company, "view")


def test_share_with_role_group(cast, company):
    from django.contrib.auth.models import Group

    support = make_user(role=roles.SUPPORT_AGENT)
    record_share(obj=company, recipient=Group.objects.get(name=roles.SUPPORT_AGENT), level="view", actor=cast.owner)
    assert can(support, company, "view")


def test_only_someone_who_may_change_may_share(cast, company):
    with pytest.raises(PermissionDenied):
        record_share(obj=company, recipient=cast.outsider, level="view", actor=cast.teammate)
    with pytest.raises(PermissionDenied):
        record_share(obj=company, recipient=cast.outsider, level="view", actor=cast.auditor)
    assert not can(cast.outsider, company, "view")


def test_share_is_audited(cast, company):
    from auditlog.models import LogEntry

    record_share(obj=company, recipient=cast.outsider, level="view", actor=cast.owner)
    entry = LogEntry.objects.get_for_object(company).filter(additional_data__event="share").get()
    assert entry.actor == cast.owner
    assert entry.changes["shared_with"][1].startswith(f"user:{cast.outsider.username}")


def test_list_shows_only_visible_rows_in_fixed_queries(cast, client, django_assert_max_num_queries):
    for i in range(30):
        CompanyFactory(owner=cast.owner if i % 2 else cast.outsider, team=cast.team if i % 2 else cast.other_team)
    client.force_login(cast.owner)
    response = client.get("/customers/companies/")
    assert response.status_code == 200
    assert len(response.context["page"].items) == 15
    client.force_login(cast.manager)
    client.get("/customers/companies/")  # the session's first request records when it was last seen
    with django_assert_max_num_queries(18):  # fixed: user, perms, scope, rows, capped count, dropdowns
        response = client.get("/customers/companies/")
    assert len(response.context["page"].items) == 15
