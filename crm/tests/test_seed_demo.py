import pytest
from django.core.management import call_command
from django.utils import translation

from crm import roles
from crm.models import Team, TeamMembership, User
from customers.models import Company


@pytest.fixture
def demo_output(db, monkeypatch):
    from io import StringIO

    monkeypatch.setenv("DEMO_ADMIN_PASSWORD", "demo-admin-password-for-tests")
    out = StringIO()
    with translation.override("en"):
        call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_demo_has_every_role_teams_with_managers_and_spread_customers(demo_output):
    for role in roles.ROLES:
        assert User.objects.filter(groups__name=role).exists(), role
    assert Team.objects.filter(name="华东销售部").exists()
    for team in Team.objects.all():
        assert team.memberships.filter(role=TeamMembership.Role.MANAGER).exists(), team
    assert 200 <= Company.objects.count() <= 1000
    assert Company.objects.values("owner").distinct().count() >= 8
    assert Company.objects.filter(name__endswith="有限公司").exists()
    assert Company.objects.exclude(name__endswith="有限公司").exists()


def test_prints_the_sign_in_and_both_passwords_work(demo_output):
    assert "Sign in at http://127.0.0.1:8000 as admin / demo-admin-password-for-tests" in demo_output
    shared = demo_output.split("share the password: ")[1].split()[0]
    assert User.objects.get(username="admin").check_password("demo-admin-password-for-tests")
    assert User.objects.get(username="li.wei").check_password(shared)


def test_if_empty_leaves_loaded_data_alone(demo_output):
    from io import StringIO

    companies = Company.objects.count()
    out = StringIO()
    with translation.override("en"):
        call_command("seed_demo", "--if-empty", stdout=out)

    assert Company.objects.count() == companies
    assert "changepassword admin" in out.getvalue()
