"""Merging duplicates: chosen values, everything attached moves, shares move, one atomic audited step."""

from datetime import date
from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from guardian.shortcuts import assign_perm

from customers import extensions
from customers.merge import company_merge, contact_merge
from customers.models import (
    Company,
    CompanyGroupObjectPermission,
    CompanyUserObjectPermission,
    Contact,
    Interaction,
    MergeRecord,
    Tag,
)
from customers.services import company_create, contact_create, record_interaction, transaction_record
from customers.tests.factories import TransactionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(cast):
    survivor = company_create(actor=cast.owner, team=cast.team, name="华为技术有限公司", city="深圳", phone="")
    merged = company_create(
        actor=cast.owner,
        team=cast.team,
        name="华为技术",
        city="深圳",
        phone="+86 138 0013 8000",
        tax_id="91440300MA5F",
        industry="Telecom",
        external_id="ERP-7",
    )
    return survivor, merged


def test_chosen_values_are_kept_and_the_merged_record_is_gone(cast, pair):
    survivor, merged = pair
    record = company_merge(
        survivor=survivor,
        merged=merged,
        field_choices={"name": "survivor", "phone": "merged", "industry": "merged", "tax_id": "merged"},
        actor=cast.owner,
    )
    survivor.refresh_from_db()
    assert survivor.name == "华为技术有限公司"
    assert survivor.phone == "+86 138 0013 8000" and survivor.industry == "Telecom"
    assert survivor.phone_bidx and survivor.tax_id == "91440300MA5F"
    assert survivor.external_id == ""  # not chosen: the survivor's (empty) value stays
    assert not Company.objects.filter(pk=merged.pk).exists()
    assert record.survivor_id == survivor.pk and record.merged_id == merged.pk
    assert sorted(record.chosen_fields) == ["industry", "phone", "tax_id"]


def test_merge_record_keeps_the_merged_values_with_secrets_masked(cast, pair):
    survivor, merged = pair
    merged.tags.add(Tag.objects.create(name="VIP"))
    record = company_merge(survivor=survivor, merged=merged, field_choices={}, actor=cast.owner)
    data = MergeRecord.objects.get(pk=record.pk).merged_data
    assert data["name"] == "华为技术" and data["industry"] == "Telecom" and data["external_id"] == "ERP-7"
    assert data["phone"] == "[encrypted]" and data["tax_id"] == "[encrypted]"
    assert "13800138000" not in str(data) and "91440300MA5F" not in str(data)
    assert "phone_bidx" not in data and data["tags"] == ["VIP"]
    assert data["owner"]["id"] == cast.owner.pk
    assert record.actor == cast.owner


def test_everything_attached_moves_to_the_survivor(cast, pair, django_capture_on_commit_callbacks):
    survivor, merged = pair
    contact = contact_create(actor=cast.owner, given_name="Anna", company=merged)
    record_interaction(kind="note", summary="met", actor=cast.owner, company=merged)
    with django_capture_on_commit_callbacks(execute=True):
        transaction_record(
            actor=cast.owner, company=survivor, date=date.today(), amount=Decimal("10"), reference="SO-1"
        )
        transaction_record(
            actor=cast.owner, company=merged, date=date.today(), amount=Decimal("50000"), reference="SO-1"
        )
        transaction_record(actor=cast.owner, company=merged, date=date.today(), amount=Decimal("5"), reference="SO-2")
    vip, key = Tag.objects.create(name="VIP"), Tag.objects.create(name="Key")
    survivor.tags.add(vip)
    merged.tags.add(vip, key)

    record = company_merge(survivor=survivor, merged=merged, field_choices={}, actor=cast.owner)

    contact.refresh_from_db()
    assert contact.company == survivor
    assert Interaction.objects.filter(company=survivor, summary="met").exists()
    assert sorted(survivor.transactions.values_list("reference", flat=True)) == ["SO-1", f"SO-1-M{merged.pk}", "SO-2"]
    assert set(survivor.tags.values_list("name", flat=True)) == {"VIP", "Key"}
    assert record.moved["contacts"] == 1 and record.moved["transactions"] == 2 and record.moved["tags"] == 1
    assert record.moved["interactions"] == 3  # the note and two order entries
    assert record.moved["renamed_references"] == {"SO-1": f"SO-1-M{merged.pk}"}
    survivor.refresh_from_db()
    assert survivor.lifetime_value == Decimal("50015.00")
    assert survivor.grade and survivor.grade_reason["frequency"] == 3


def test_shares_move_without_duplicating_what_the_survivor_has(cast, pair):
    survivor, merged = pair
    assign_perm("customers.view_company", cast.teammate, merged)
    assign_perm("customers.change_company", cast.teammate, merged)
    assign_perm("customers.view_company", cast.teammate, survivor)  # already there
    assign_perm("customers.view_company", cast.other_team.group, merged)
    record = company_merge(survivor=survivor, merged=merged, field_choices={}, actor=cast.owner)
    assert record.moved["shares"] == 2
    perms = set(
        CompanyUserObjectPermission.objects.filter(content_object=survivor).values_list(
            "permission__codename", flat=True
        )
    )
    assert perms == {"view_company", "change_company"}
    assert CompanyGroupObjectPermission.objects.filter(content_object=survivor, group=cast.other_team.group).exists()
    assert not CompanyUserObjectPermission.objects.filter(content_object_id=merged.pk).exists()


def test_the_merge_is_audited(cast, pair):
    survivor, merged = pair
    contact = contact_create(actor=cast.owner, given_name="Anna", company=merged)
    company_merge(survivor=survivor, merged=merged, field_choices={"industry": "merged"}, actor=cast.owner)
    company_type = ContentType.objects.get_for_model(Company)
    event = LogEntry.objects.get(content_type=company_type, object_id=survivor.pk, additional_data__event="merge")
    assert event.actor == cast.owner and event.changes["merged_with"][0].startswith(f"#{merged.pk}")
    assert LogEntry.objects.filter(
        content_type=company_type, object_id=merged.pk, action=LogEntry.Action.DELETE
    ).exists()
    assert LogEntry.objects.filter(
        content_type=company_type, object_id=survivor.pk, action=LogEntry.Action.UPDATE, changes__has_key="industry"
    ).exists()
    moved = LogEntry.objects.get(
        content_type=ContentType.objects.get_for_model(Contact), object_id=contact.pk, additional_data__event="merge"
    )
    assert moved.changes["company"] == [str(merged.pk), str(survivor.pk)]


def test_extension_handlers_are_called_inside_the_merge(cast, pair):
    survivor, merged = pair
    calls = []

    def handler(*, survivor, merged, actor):
        calls.append((survivor.pk, merged.pk, actor.pk, Company.objects.filter(pk=merged.pk).exists()))
        return 4

    extensions.register_merge_handler("company", "tests.opportunities", handler)
    try:
        record = company_merge(survivor=survivor, merged=merged, field_choices={}, actor=cast.owner)
    finally:
        extensions._merge_handlers["company"] = [
            h for h in extensions._merge_handlers["company"] if h[0] != "tests.opportunities"
        ]
    assert calls == [(survivor.pk, merged.pk, cast.owner.pk, True)]
    assert record.moved["tests.opportunities"] == 4


def test_a_failing_handler_rolls_everything_back(cast, pair):
    survivor, merged = pair
    contact = contact_create(actor=cast.owner, given_name="Anna", company=merged)

    def broken(**kwargs):
        raise RuntimeError("module down")

    extensions.register_merge_handler("company", "tests.broken", broken)
    try:
        with pytest.raises(RuntimeError):
            company_merge(survivor=survivor, merged=merged, field_choices={"industry": "merged"}, actor=cast.owner)
    finally:
        extensions._merge_handlers["company"] = [
            h for h in extensions._merge_handlers["company"] if h[0] != "tests.broken"
        ]
    contact.refresh_from_db()
    survivor.refresh_from_db()
    assert Company.objects.filter(pk=merged.pk).exists() and contact.company_id == merged.pk
    assert survivor.industry == "" and not MergeRecord.objects.exists()


@pytest.mark.parametrize("who", ["teammate", "outsider", "auditor"])
def test_only_someone_who_may_change_both_can_merge(cast, pair, who):
    survivor, merged = pair
    with pytest.raises(PermissionDenied):
        company_merge(survivor=survivor, merged=merged, field_choices={}, actor=getattr(cast, who))
    assert Company.objects.filter(pk=merged.pk).exists() and not MergeRecord.objects.exists()


def test_the_manager_can_merge_but_not_a_record_of_another_team(cast, pair):
    survivor, merged = pair
    foreign = company_create(actor=cast.outsider, team=cast.other_team, name="华为")
    with pytest.raises(PermissionDenied):
        company_merge(survivor=survivor, merged=foreign, field_choices={}, actor=cast.manager)
    company_merge(survivor=survivor, merged=merged, field_choices={}, actor=cast.manager)
    assert Company.objects.filter(pk=foreign.pk).exists()


def test_a_merge_that_would_move_the_survivor_out_of_reach_is_refused(cast, pair):
    survivor, _merged = pair
    # The manager sees the survivor through the team; taking "no team" from the other record
    # would leave it owned by the rep alone, out of the manager's sight.
    teamless = company_create(actor=cast.manager, name="华为技术集团")
    with pytest.raises(PermissionDenied):
        company_merge(survivor=survivor, merged=teamless, field_choices={"team": "merged"}, actor=cast.manager)
    survivor.refresh_from_db()
    assert survivor.team == cast.team and Company.objects.filter(pk=teamless.pk).exists()
    assert not MergeRecord.objects.exists()


def test_bad_choices_and_self_merge_are_refused(cast, pair):
    survivor, merged = pair
    with pytest.raises(ValidationError):
        company_merge(survivor=survivor, merged=merged, field_choices={"grade": "merged"}, actor=cast.owner)
    with pytest.raises(ValidationError):
        company_merge(survivor=survivor, merged=merged, field_choices={"name": "both"}, actor=cast.owner)
    with pytest.raises(ValidationError):
        company_merge(survivor=survivor, merged=survivor, field_choices={}, actor=cast.owner)
    assert Company.objects.count() == 2


def test_merging_contacts_moves_history_and_purchases_and_keeps_an_unsubscribe(cast):
    company = company_create(actor=cast.owner, team=cast.team, name="Acme")
    survivor = contact_create(
        actor=cast.owner, team=cast.team, given_name="Anna", email="anna@acme.test", email_opt_in=True
    )
    merged = contact_create(
        actor=cast.owner,
        team=cast.team,
        given_name="Anna",
        family_name="Li",
        mobile="13800138000",
        unsubscribed=True,
        company=company,
    )
    record_interaction(kind="call", summary="called", actor=cast.owner, contact=merged)
    purchase = TransactionFactory(company=company, contact=merged)
    assign_perm("customers.view_contact", cast.teammate, merged)
    record = contact_merge(
        survivor=survivor,
        merged=merged,
        field_choices={"mobile": "merged", "company": "merged", "family_name": "merged"},
        actor=cast.owner,
    )
    survivor.refresh_from_db()
    purchase.refresh_from_db()
    assert survivor.display_name == "Anna Li" and survivor.mobile == "13800138000" and survivor.company == company
    assert survivor.unsubscribed and not survivor.email_opt_in
    assert survivor.interactions.filter(summary="called").exists() and purchase.contact == survivor
    assert record.model == "customers.contact" and record.moved["shares"] == 1
    assert record.merged_data["mobile"] == "[encrypted]"
    assert not Contact.objects.filter(pk=merged.pk).exists()
