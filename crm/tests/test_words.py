"""Words a Chinese user reads where English keys used to show: role names, shared recipients,
encrypted values in the history (the share dialog and the timeline: customers/tests/test_words.py)."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import translation

from crm import roles
from crm.fields import MASKED
from crm.selectors import _display_value, _share_value

pytestmark = pytest.mark.django_db
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


def test_role_names_are_shown_in_the_users_language():
    with translation.override("zh-hans"):
        assert roles.role_label(roles.SALES_REP) == "销售代表"
        assert roles.role_label("team:华东销售部") == "华东销售部"
        assert _share_value("group:Sales rep (change)") == "销售代表（可查看和编辑）"
        assert _share_value("user:li.wei") == "li.wei"


def test_the_admin_lists_roles_in_chinese(client, cast):
    cast.admin.is_staff = True
    cast.admin.save()
    client.force_login(cast.admin)
    response = client.get(reverse("admin:auth_group_changelist"), **ZH)
    assert response.status_code == 200
    page = response.content.decode()
    assert Group.objects.filter(name=roles.AUDITOR).exists()
    with translation.override("zh-hans"):
        assert str(roles.ROLE_LABELS[roles.AUDITOR]) in page
    assert ">Auditor<" not in page


def test_an_encrypted_value_in_the_history_is_named_in_the_users_language():
    with translation.override("zh-hans"):
        assert _display_value(None, MASKED, {}) == "［已加密］"
