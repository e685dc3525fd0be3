"""`seed_demo` spreads customers with their people, history and purchases over the demo's sales
teams, shares a few across teams, leaves a duplicate to review, and `--if-empty` keeps them."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import translation

from customers.models import Company, CompanyGroupObjectPermission, Contact, Interaction, MergeRecord, Transaction


@pytest.fixture
def demo_output(db, monkeypatch):
    monkeypatch.setenv("DEMO_ADMIN_PASSWORD", "demo-admin-password-for-tests")
    out = StringIO()
    with translation.override("en"):
        call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_demo_spreads_customers_over_the_owners(demo_output):
    assert 100 <= Company.objects.count() <= 400
    assert Company.objects.values("owner").distinct().count() >= 8
    assert Company.objects.filter(name__endswith="有限公司").exists()
    assert Company.objects.exclude(name__endswith="有限公司").exists()
    # Each with its people, its history and its purchases.
    with_contacts = Company.objects.filter(contacts__isnull=False).distinct().count()
    assert with_contacts >= Company.objects.count() * 0.9
    assert Contact.objects.filter(company__isnull=True, email_opt_in=True).exists()  # met at a trade show
    kinds = set(Interaction.objects.values_list("kind", flat=True))
    assert {"call", "meeting", "visit", "note", "order", "opportunity"} <= kinds
    assert Transaction.objects.filter(status=Transaction.Status.PAID).count() >= 50
    # Entered twice: one pair to review on the duplicates page, one already merged.
    assert Company.objects.filter(name__contains="永泰贸易").count() == 2
    assert MergeRecord.objects.filter(model="customers.company").exists()
    # Support and marketing see the key accounts shared with their teams.
    shared_with = set(CompanyGroupObjectPermission.objects.values_list("group__name", flat=True))
    assert {"team:客服部", "team:市场部"} <= shared_with


def test_if_empty_leaves_loaded_data_alone(demo_output):
    companies = Company.objects.count()
    out = StringIO()
    with translation.override("en"):
        call_command("seed_demo", "--if-empty", stdout=out)

    assert Company.objects.count() == companies
    assert "changepassword admin" in out.getvalue()
