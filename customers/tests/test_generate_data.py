"""`generate_data` (crm.datagen) loads companies and the customer tables in proportion, fast and
without audit entries, the same rows for the same seed."""

from collections import Counter

import pytest
from auditlog.models import LogEntry
from django.core.management import call_command

from crm.datagen import generate, generators
from crm.fields import blind_index_for, blind_lookup, normalize_email
from customers.models import Company, Contact, Interaction, Transaction


def _clear():
    """Delete the generated rows, later tables first (an opportunity protects its company)."""
    for generator in reversed(generators()):
        generator.model._default_manager.all().delete()


def _snapshot():
    return list(
        Company.objects.order_by("id").values_list("name", "city", "lifecycle", "owner__username", "created_at")
    )


@pytest.mark.django_db
def test_loads_companies_spread_over_reps_without_audit_entries():
    call_command("generate_data", companies=2000, seed=7, batch_size=500)

    assert Company.objects.count() == 2000
    per_owner = Counter(Company.objects.values_list("owner_id", flat=True))
    assert len(per_owner) >= 50
    assert max(per_owner.values()) < 2000 / 50 * 2  # about 1/50 each, none dominating
    assert not Company.objects.filter(team__isnull=True).exists()
    # The people it adds go through the services and are audited; the bulk rows are not.
    assert not LogEntry.objects.filter(content_type__model="company").exists()


@pytest.mark.django_db
def test_same_seed_gives_same_rows():
    generate(companies=300, seed=11, batch_size=100)
    first = _snapshot()
    _clear()

    generate(companies=300, seed=11, batch_size=100)

    assert _snapshot() == first
    _clear()
    generate(companies=300, seed=12, batch_size=100)
    assert _snapshot() != first


@pytest.mark.django_db
def test_encrypted_fields_read_back_and_are_found_by_blind_index():
    generate(companies=200, seed=3, batch_size=1000)

    company = Company.objects.exclude(phone="").order_by("id").first()
    assert company.phone.startswith("+")
    assert Company.objects.filter(**blind_lookup(Company, "phone", company.phone)).filter(pk=company.pk).exists()


@pytest.mark.django_db
def test_without_encrypted_values_leaves_them_empty():
    generate(companies=50, seed=3, encrypt=False)

    assert set(Company.objects.values_list("phone", flat=True)) == {""}


@pytest.mark.django_db
def test_customer_tables_grow_in_proportion_and_stay_consistent():
    generate(companies=200, seed=5, batch_size=500)

    assert Contact.objects.count() == 400
    assert Interaction.objects.count() == 1000
    assert Transaction.objects.count() == 600
    contact = Contact.objects.exclude(email="").order_by("id").first()
    assert contact.email_bidx == blind_index_for(normalize_email, contact.email)
    assert contact.mobile.startswith("1") and len(contact.mobile) == 11
    assert set(Interaction.objects.values_list("company_id", flat=True)) <= set(
        Company.objects.values_list("pk", flat=True)
    )
