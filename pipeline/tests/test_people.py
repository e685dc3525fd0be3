"""Leads as people: the consent columns they gained, their derived name, and `find_people`."""

import pytest

from crm.people import find_people
from crm.permissions import restrict
from crm.testing import make_user
from pipeline.models import Lead
from pipeline.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def found(queryset, **lookup) -> set[int]:
    return set(find_people(queryset, **lookup).values_list("pk", flat=True))


def test_lead_is_a_person_named_after_its_company_when_nameless():
    lead = LeadFactory(family_name="李", given_name="雷")
    assert lead.display_name == "李雷" and "星河" in lead.search_text.split()
    nameless = LeadFactory(family_name="", given_name="", company_name="星河科技有限公司")
    assert nameless.display_name == "星河科技有限公司"
    lead.refresh_from_db()
    assert (lead.email_opt_in, lead.sms_opt_in, lead.unsubscribed, lead.do_not_contact) == (False,) * 4
    assert (lead.preferred_language, lead.email_opt_in_source) == ("", "")


def test_email_is_case_and_width_insensitive():
    lead = LeadFactory(email="Lei.Li@Example.com")
    LeadFactory(email="other@example.com")
    assert found(Lead.objects.all(), email="LEI.LI@example.COM") == {lead.pk}
    assert found(Lead.objects.all(), email="ｌｅｉ.ｌｉ＠ｅｘａｍｐｌｅ.ｃｏｍ") == {lead.pk}


@pytest.mark.parametrize("typed", ["+86 138 0013 8000", "0086 138 0013 8000", "13800138000", "86 138 0013 8000"])
def test_phone_in_any_form_matches_mobile_or_phone(typed):
    on_mobile = LeadFactory(mobile="+86 138-0013-8000", phone="")
    on_phone = LeadFactory(mobile="", phone="13800138000")
    LeadFactory(mobile="13900139000")
    assert found(Lead.objects.all(), phone=typed) == {on_mobile.pk, on_phone.pk}


def test_name_prefix():
    lei = LeadFactory(family_name="李", given_name="雷")
    LeadFactory(family_name="韩", given_name="梅梅")
    assert found(Lead.objects.all(), name="李") == {lei.pk}
    assert found(Lead.objects.all(), name=" 李雷 ") == {lei.pk}


def test_a_scoped_queryset_is_not_widened():
    rep, other = make_user(), make_user()
    mine = LeadFactory(owner=rep, email="same@example.com", mobile="13800138000", family_name="李")
    theirs = LeadFactory(owner=other, email="same@example.com", mobile="13800138000", family_name="李")
    visible = restrict(Lead.objects.all(), rep)
    for lookup in ({"email": "same@example.com"}, {"phone": "0086 13800138000"}, {"name": "李"}):
        assert found(visible, **lookup) == {mine.pk}
        assert found(Lead.objects.all(), **lookup) == {mine.pk, theirs.pk}
