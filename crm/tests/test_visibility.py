"""The roles exist with their permissions (who sees which record: customers/tests/test_visibility.py)."""

import pytest

from crm import roles

pytestmark = pytest.mark.django_db


def test_roles_exist_with_permissions():
    from django.contrib.auth.models import Group

    groups = {g.name: g for g in Group.objects.filter(name__in=roles.ROLES)}
    assert set(groups) == set(roles.ROLES)
    rep = set(groups[roles.SALES_REP].permissions.values_list("codename", flat=True))
    assert {"view_company", "add_company", "change_company"} <= rep
    assert "delete_company" not in rep
    auditor = set(groups[roles.AUDITOR].permissions.values_list("codename", flat=True))
    assert "view_company" in auditor and "view_logentry" in auditor
    assert not {c for c in auditor if not c.startswith("view_")} - {"reveal_sensitive", "export_records"}
    admin = groups[roles.ADMINISTRATOR].permissions.count()
    from django.contrib.auth.models import Permission

    assert admin == Permission.objects.count()
