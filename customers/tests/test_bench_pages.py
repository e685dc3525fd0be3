"""`make bench` counts the companies already loaded through the customers' bench_pages."""

import pytest

from crm import benchmark
from customers.tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db


def test_the_bench_counts_the_companies_already_loaded(cast):
    CompanyFactory.create_batch(3, owner=cast.owner, team=cast.team)

    assert benchmark.loaded_size() == 3
