"""`record_url` gives what `reverse` gives, for every record URL the lists link to."""

import pytest
from django.urls import clear_script_prefix, reverse, set_script_prefix

from crm.record_urls import record_url

NAMES = [
    "customers:company_detail",
    "customers:contact_detail",
    "pipeline:opportunity_detail",
    "pipeline:lead_detail",
    "pipeline:task_detail",
    "tickets:ticket_detail",
    "campaigns:campaign_detail",
]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("pk", [1, 42, 9_876_543_210])
def test_it_matches_reverse(name, pk):
    assert record_url(name, pk) == reverse(name, args=[pk])


def test_it_follows_the_script_prefix():
    record_url("customers:company_detail", 1)
    set_script_prefix("/crm/")
    try:
        url = record_url("customers:company_detail", 7)
        assert url.startswith("/crm/") and url == reverse("customers:company_detail", args=[7])
    finally:
        clear_script_prefix()
    assert record_url("customers:company_detail", 7) == reverse("customers:company_detail", args=[7])


def test_anything_but_an_int_goes_through_reverse():
    assert record_url("customers:company_detail", "12") == reverse("customers:company_detail", args=["12"])
