"""A customer's timeline shows only entries whose contact and subject the viewer may see.

Entries typed on the company itself stay visible to whoever sees the company; an entry about an
owned record (here a contact, the owned model this module knows) follows that record's
visibility, through the same `restrict` every list uses. The sales module's deals and tasks are
covered in pipeline/tests/test_company_page_visibility.py.
"""

from datetime import date
from importlib import import_module
from types import SimpleNamespace

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connection

from crm import roles
from crm.services import record_share
from crm.testing import make_user
from customers.models import Contact, Interaction
from customers.selectors import timeline
from customers.services import record_interaction, transaction_record
from customers.tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(cast):
    """The team's company, shared for viewing with the teammate, the outsider and a Marketing user."""
    company = CompanyFactory(name="星河科技有限公司", owner=cast.owner, team=cast.team)
    marketing = make_user(role=roles.MARKETING)
    for viewer in (cast.teammate, cast.outsider, marketing):
        record_share(obj=company, recipient=viewer, level="view", actor=cast.owner)
    team_contact = Contact.objects.create(
        family_name="王", given_name="小明", owner=cast.owner, team=cast.team, company=company
    )
    outsider_contact = Contact.objects.create(
        family_name="赵", given_name="秘密", owner=cast.outsider, team=cast.other_team, company=company
    )
    return SimpleNamespace(
        company=company, team_contact=team_contact, outsider_contact=outsider_contact, marketing=marketing
    )


def _summaries(user, **customer) -> set[str]:
    return set(timeline(user=user, **customer).values_list("summary", flat=True))


def test_entries_on_a_contact_the_viewer_may_not_see_are_hidden(cast, customer):
    record_interaction(kind="call", summary="Called Wang", actor=cast.owner, contact=customer.team_contact)
    record_interaction(kind="note", summary="Zhao's secret", actor=cast.outsider, contact=customer.outsider_contact)
    record_interaction(kind="note", summary="On the company", actor=cast.owner, company=customer.company)

    assert _summaries(cast.owner, company=customer.company) == {"Called Wang", "On the company"}
    assert _summaries(cast.manager, company=customer.company) == {"Called Wang", "On the company"}
    assert _summaries(cast.outsider, company=customer.company) == {"Zhao's secret", "On the company"}
    assert _summaries(cast.teammate, company=customer.company) == {"On the company"}
    assert _summaries(customer.marketing, company=customer.company) == {"On the company"}
    everything = {"Called Wang", "Zhao's secret", "On the company"}
    assert _summaries(cast.auditor, company=customer.company) == everything
    assert _summaries(cast.admin, company=customer.company) == everything


def test_an_entry_about_an_owned_record_follows_that_record(cast, customer):
    """The subject decides, not the customer the entry sits on: generic over owned models."""
    record_interaction(
        kind="note",
        summary="About Zhao",
        actor=cast.outsider,
        company=customer.company,
        subject=customer.outsider_contact,
    )
    assert _summaries(cast.owner, company=customer.company) == set()
    assert _summaries(cast.outsider, company=customer.company) == {"About Zhao"}
    assert _summaries(cast.auditor, company=customer.company) == {"About Zhao"}


def test_a_company_note_is_read_by_everyone_who_sees_the_company(cast, customer, client):
    record_interaction(kind="note", summary="Visited the plant", actor=cast.owner, company=customer.company)
    for user in (cast.owner, cast.teammate, cast.manager, cast.outsider, cast.auditor, cast.admin, customer.marketing):
        client.force_login(user)
        assert "Visited the plant" in client.get(customer.company.get_absolute_url()).content.decode()


def test_a_transaction_belongs_to_the_company_and_so_does_its_entry(cast, customer, client):
    """Decision: purchases are the company's own facts (grade and lifetime value come from them):
    whoever sees the company reads them and their timeline entry."""
    sale = transaction_record(
        actor=cast.owner, company=customer.company, date=date(2026, 3, 1), amount=1200, reference="PO-7"
    )
    entry = Interaction.objects.get(source_ref=f"customers.transaction:{sale.pk}")
    assert entry.subject == sale
    for user in (cast.teammate, cast.outsider, customer.marketing):
        client.force_login(user)
        html = client.get(customer.company.get_absolute_url()).content.decode()
        assert "PO-7" in html and entry.summary in html


def test_the_contact_page_timeline_hides_entries_about_records_the_viewer_may_not_see(cast, customer):
    record_share(obj=customer.team_contact, recipient=cast.outsider, level="view", actor=cast.owner)
    record_interaction(kind="call", summary="Called Wang", actor=cast.owner, contact=customer.team_contact)
    hidden_subject = Contact.objects.create(family_name="钱", given_name="多", owner=cast.owner, team=cast.team)
    record_interaction(
        kind="note", summary="Referral", actor=cast.owner, contact=customer.team_contact, subject=hidden_subject
    )
    assert _summaries(cast.outsider, contact=customer.team_contact) == {"Called Wang"}
    assert _summaries(cast.owner, contact=customer.team_contact) == {"Called Wang", "Referral"}


def test_nobody_signed_out_reads_a_timeline(cast, customer):
    from django.contrib.auth.models import AnonymousUser

    record_interaction(kind="note", summary="On the company", actor=cast.owner, company=customer.company)
    assert _summaries(AnonymousUser(), company=customer.company) == set()


def test_the_timeline_costs_the_same_queries_however_many_entries(cast, customer, django_assert_num_queries):
    def read():
        return list(timeline(user=cast.owner, company=customer.company).order_by("-occurred_at", "-id")[:26])

    read()  # warm the caches (permission ids, content types, the rep's roles and shares)
    # One page: what is shared with the rep, for every model the timeline scopes by, comes from
    # the cache (crm.permissions).
    with django_assert_num_queries(1) as captured:
        read()
    for i in range(30):
        contact = customer.team_contact if i % 2 else customer.outsider_contact
        record_interaction(kind="note", summary=f"Note {i}", actor=cast.owner, contact=contact, subject=contact)
    with django_assert_num_queries(len(captured.captured_queries)):
        assert len(read()) == 15  # the team contact's notes; none of the outsider's


def test_record_interaction_stores_the_subject_and_names_it_in_source_ref(cast, customer):
    entry = record_interaction(
        kind="note", summary="About Wang", actor=cast.owner, company=customer.company, subject=customer.team_contact
    )
    entry.refresh_from_db()
    assert entry.subject == customer.team_contact
    assert entry.subject_type == ContentType.objects.get_for_model(Contact)
    assert entry.source_ref == f"customers.contact:{customer.team_contact.pk}"


def test_record_interaction_refuses_an_unsaved_subject(cast, customer):
    with pytest.raises(ValidationError):
        record_interaction(
            kind="note", summary="About nobody", actor=cast.owner, company=customer.company, subject=Contact()
        )


def test_the_backfill_reads_the_subject_from_source_ref(cast, customer):
    from django.apps import apps

    migration = import_module("customers.migrations.0008_interaction_subject_backfill")
    sale = transaction_record(actor=cast.owner, company=customer.company, date=date(2026, 3, 1), amount=10)
    about_contact = record_interaction(
        kind="note", summary="About Zhao", actor=cast.owner, company=customer.company, subject=customer.outsider_contact
    )
    unknown = record_interaction(
        kind="note", summary="Imported", actor=cast.owner, company=customer.company, source_ref="customers.import:3"
    )
    malformed = record_interaction(
        kind="note", summary="Odd", actor=cast.owner, company=customer.company, source_ref="customers.contact:x1"
    )
    plain = record_interaction(kind="note", summary="Plain", actor=cast.owner, company=customer.company)
    Interaction.objects.update(subject_type=None, subject_id=None)  # as before the new columns

    migration.fill_subjects(apps, SimpleNamespace(connection=connection))
    migration.fill_subjects(apps, SimpleNamespace(connection=connection))  # a second run changes nothing

    assert Interaction.objects.get(source_ref=f"customers.transaction:{sale.pk}").subject == sale
    assert Interaction.objects.get(pk=about_contact.pk).subject == customer.outsider_contact
    for entry in (unknown, malformed, plain):
        entry.refresh_from_db()
        assert (entry.subject_type_id, entry.subject_id) == (None, None)
    assert Interaction.objects.get(pk=unknown.pk).source_ref == "customers.import:3"
