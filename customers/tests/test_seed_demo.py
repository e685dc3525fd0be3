"""`seed_demo` spreads a few hundred customers over the demo's people, and `--if-empty` keeps them."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import translation

from customers.models import Company


@pytest.fixture
def demo_output(db, monkeypatch):
    monkeypatch.setenv("DEMO_ADMIN_PASSWORD", "demo-admin-password-for-tests")
    out = StringIO()
    with translation.override("en"):
        call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_demo_spreads_customers_over_the_owners(demo_output):
    assert 200 <= Company.objects.count() <= 1000
    assert Company.objects.values("owner").distinct().count() >= 8
    assert Company.objects.filter(name__endswith="有限公司").exists()
    assert Company.objects.exclude(name__endswith="有限公司").exists()


def test_if_empty_leaves_loaded_data_alone(demo_output):
    companies = Company.objects.count()
    out = StringIO()
    with translation.override("en"):
        call_command("seed_demo", "--if-empty", stdout=out)

    assert Company.objects.count() == companies
    assert "changepassword admin" in out.getvalue()
