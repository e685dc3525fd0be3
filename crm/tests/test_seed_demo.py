"""`seed_demo`: people in every role, teams with managers, and a sign-in that works.

The customers it spreads over them are checked in customers/tests/test_seed_demo.py.
"""

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import translation

from crm import roles
from crm.models import Team, TeamMembership, User


@pytest.fixture
def demo_output(db, monkeypatch):
    monkeypatch.setenv("DEMO_ADMIN_PASSWORD", "demo-admin-password-for-tests")
    out = StringIO()
    with translation.override("en"):
        call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_demo_has_every_role_and_teams_with_managers(demo_output):
    for role in roles.ROLES:
        assert User.objects.filter(groups__name=role).exists(), role
    assert Team.objects.filter(name="华东销售部").exists()
    for team in Team.objects.all():
        assert team.memberships.filter(role=TeamMembership.Role.MANAGER).exists(), team


def test_prints_the_sign_in_and_both_passwords_work(demo_output):
    assert "Sign in at http://127.0.0.1:8000 as admin / demo-admin-password-for-tests" in demo_output
    shared = demo_output.split("share the password: ")[1].split()[0]
    assert User.objects.get(username="admin").check_password("demo-admin-password-for-tests")
    assert User.objects.get(username="li.wei").check_password(shared)
