"""Customer services: history, purchases, grades, and who may change what."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from customers.models import Company, Contact, Interaction
from customers.services import (
    company_create,
    company_update,
    contact_create,
    interaction_add,
    record_interaction,
    transaction_record,
)
from customers.tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db


def test_company_create_fills_derived_fields(cast):
    company = company_create(
        actor=cast.owner, team=cast.team, name="华为技术有限公司", website="https://www.Huawei.com/cn"
    )
    assert company.owner == cast.owner
    assert company.website_domain == "huawei.com"
    assert "华为" in company.search_text.split()


def test_assigning_to_a_foreign_team_is_refused(cast):
    with pytest.raises(ValidationError):
        company_create(actor=cast.owner, team=cast.other_team, name="X")
    assert not Company.objects.exists()


def test_edit_that_moves_a_record_out_of_reach_is_refused_and_rolled_back(cast):
    company = CompanyFactory(owner=cast.owner, team=cast.team)
    # A rep cannot hand a record to someone outside the teams they manage at all…
    with pytest.raises(ValidationError):
        company_update(company=company, actor=cast.owner, owner=cast.outsider, name="Moved")
    # …and a manager's legal hand-over that would leave the manager blind is rolled back.
    with pytest.raises(PermissionDenied):
        company_update(company=company, actor=cast.manager, owner=cast.teammate, team=None, name="Moved")
    company.refresh_from_db()
    assert (company.owner, company.team) == (cast.owner, cast.team) and company.name != "Moved"


def test_contact_display_name_for_chinese_and_western_names(cast):
    zh = contact_create(actor=cast.owner, family_name="王", given_name="小明")
    en = contact_create(actor=cast.owner, family_name="Smith", given_name="Anna", email="Anna@Example.com")
    assert str(zh) == "王小明"
    assert str(en) == "Anna Smith"
    assert en.email_bidx and Contact.objects.get(pk=en.pk).email_bidx == en.email_bidx


def test_consent_is_stamped_when_given(cast):
    contact = contact_create(actor=cast.owner, given_name="Li", email_opt_in=True, email_opt_in_source="trade show")
    assert contact.email_opt_in_at is not None


def test_record_interaction_moves_last_activity_forward_only(cast):
    company = CompanyFactory(owner=cast.owner, team=cast.team)
    later = timezone.now() + timedelta(hours=1)
    record_interaction(kind="call", summary="Called", actor=cast.owner, company=company, occurred_at=later)
    record_interaction(
        kind="note", summary="Backdated", actor=cast.owner, company=company, occurred_at=later - timedelta(days=30)
    )
    company.refresh_from_db()
    assert company.last_activity_at == later
    assert company.interactions.count() == 2


def test_interaction_needs_a_customer(cast):
    with pytest.raises(ValidationError):
        record_interaction(kind="note", summary="Nobody", actor=cast.owner)


def test_contact_interaction_also_shows_on_its_company(cast):
    company = CompanyFactory(owner=cast.owner, team=cast.team)
    contact = contact_create(actor=cast.owner, given_name="Anna", company=company)
    record_interaction(kind="email", summary="Sent quote", actor=cast.owner, contact=contact)
    assert Interaction.objects.get().company == company


def test_only_those_who_may_change_add_notes(cast):
    company = CompanyFactory(owner=cast.owner, team=cast.team)
    with pytest.raises(PermissionDenied):
        interaction_add(actor=cast.auditor, kind="note", summary="x", company=company)
    with pytest.raises(PermissionDenied):
        interaction_add(actor=cast.outsider, kind="note", summary="x", company=company)
    interaction_add(actor=cast.manager, kind="note", summary="ok", company=company)
    assert company.interactions.count() == 1


def test_transaction_updates_value_history_and_grade(cast, django_capture_on_commit_callbacks):
    company = CompanyFactory(owner=cast.owner, team=cast.team)
    with django_capture_on_commit_callbacks(execute=True):
        for i in range(5):
            transaction_record(
                actor=cast.owner,
                company=company,
                date=date.today() - timedelta(days=i),
                amount=Decimal("60000"),
                reference=f"SO-{i}",
            )
    company.refresh_from_db()
    assert company.lifetime_value == Decimal("300000")
    # Bought yesterday (R=5), 5 purchases (F=3), 300k (M=4): score 12 -> grade A by default.
    assert company.grade == "A"
    assert company.grade_reason["score"] == 12
    assert company.interactions.filter(kind="order").count() == 5


def test_duplicate_transaction_reference_is_refused(cast):
    company = CompanyFactory(owner=cast.owner, team=cast.team)
    transaction_record(actor=cast.owner, company=company, date=date.today(), amount=Decimal("1"), reference="SO-1")
    with pytest.raises(ValidationError):
        transaction_record(actor=cast.owner, company=company, date=date.today(), amount=Decimal("1"), reference="SO-1")
