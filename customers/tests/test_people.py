"""Contacts as people: derived names and consent from `crm.people.Person`, found by `find_people`."""

import pytest

from crm.people import find_people
from crm.permissions import restrict
from crm.testing import make_user
from customers.models import Contact
from customers.tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


def found(queryset, **lookup) -> set[int]:
    return set(find_people(queryset, **lookup).values_list("pk", flat=True))


def test_contact_is_a_person_with_consent_defaults():
    contact = ContactFactory(family_name="王", given_name="小明", company=None)
    contact.refresh_from_db()
    assert contact.display_name == "王小明" and str(contact) == "王小明"
    assert (contact.sms_opt_in, contact.do_not_contact, contact.sms_opt_in_source) == (False, False, "")
    latin = ContactFactory(family_name="Smith", given_name="Anna", company=None)
    assert latin.display_name == "Anna Smith"


def test_partial_save_keeps_derived_fields_in_step():
    contact = ContactFactory(family_name="王", given_name="小明", email="old@example.com", company=None)
    contact.given_name, contact.email = "大明", "New@Example.com"
    contact.save(update_fields=["given_name", "email"])
    stored = Contact.objects.get(pk=contact.pk)
    assert stored.display_name == "王大明" and "大明" in stored.search_text.split()
    assert stored.pk in found(Contact.objects.all(), email="new@example.com")


def test_email_is_case_and_width_insensitive():
    contact = ContactFactory(email="Anna.Li@Example.com", company=None)
    ContactFactory(email="someone@example.com", company=None)
    assert found(Contact.objects.all(), email="anna.li@example.com") == {contact.pk}
    assert found(Contact.objects.all(), email=" ＡＮＮＡ.ＬＩ＠ｅｘａｍｐｌｅ.ｃｏｍ ") == {contact.pk}


@pytest.mark.parametrize("typed", ["+86 138 0013 8000", "0086 13800138000", "138 0013 8000", "+86-138-0013-8000"])
def test_phone_in_any_form_matches_mobile_or_phone(typed):
    on_mobile = ContactFactory(mobile="13800138000", phone="", company=None)
    on_phone = ContactFactory(mobile="", phone="+86 13800138000", company=None)
    ContactFactory(mobile="13900139000", company=None)
    assert found(Contact.objects.all(), phone=typed) == {on_mobile.pk, on_phone.pk}


def test_name_prefix_and_exact():
    wang = ContactFactory(family_name="王", given_name="小明", company=None)
    anna = ContactFactory(family_name="Smith", given_name="Anna", company=None)
    ContactFactory(family_name="李", given_name="王", company=None)  # 李王: 王 inside, not at the start
    assert found(Contact.objects.all(), name="王") == {wang.pk}
    assert found(Contact.objects.all(), name="王小明") == {wang.pk}
    assert found(Contact.objects.all(), name="anna s") == {anna.pk}
    assert found(Contact.objects.all(), name="%") == set()  # wildcards are literal


def test_any_given_identifier_matches_and_nothing_given_finds_nothing():
    by_email = ContactFactory(email="a@example.com", mobile="", company=None)
    by_phone = ContactFactory(email="b@example.com", mobile="13800138000", company=None)
    assert found(Contact.objects.all(), email="A@example.com", phone="13800138000") == {by_email.pk, by_phone.pk}
    assert found(Contact.objects.all()) == set()
    assert found(Contact.objects.all(), email="  ", phone="--", name=" ") == set()


def test_a_scoped_queryset_is_not_widened():
    rep, other = make_user(), make_user()
    mine = ContactFactory(owner=rep, email="same@example.com", mobile="13800138000", family_name="王", company=None)
    theirs = ContactFactory(owner=other, email="same@example.com", mobile="13800138000", family_name="王", company=None)
    visible = restrict(Contact.objects.all(), rep)
    for lookup in ({"email": "same@example.com"}, {"phone": "+86 138 0013 8000"}, {"name": "王"}):
        assert found(visible, **lookup) == {mine.pk}
        assert found(Contact.objects.all(), **lookup) == {mine.pk, theirs.pk}
    assert found(visible.filter(pk=theirs.pk), email="same@example.com", name="王") == set()
