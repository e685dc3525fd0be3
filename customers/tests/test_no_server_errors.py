"""No customer page answers 500, whatever a request carries: every route of the customers
namespace, as every person of the cast and anonymously, GET and POST, with malformed path
arguments, parameters and uploads (crm/tests/walk.py)."""

import pytest

from crm.tests.factories import JobFactory
from crm.tests.walk import check_no_server_errors
from customers.tests.factories import (
    CompanyFactory,
    ContactFactory,
    ImportBatchFactory,
    InteractionFactory,
    MergeRecordFactory,
    TransactionFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_no_customer_page_answers_500(cast):
    company = CompanyFactory(owner=cast.owner, team=cast.team, with_identifiers=True)
    ContactFactory(owner=cast.owner, team=cast.team, company=company)
    InteractionFactory(company=company)
    TransactionFactory(company=company)
    MergeRecordFactory(survivor=company)
    batch = ImportBatchFactory(owner=cast.admin)  # import pages are their uploader's alone
    job = JobFactory(owner=cast.admin, completed=True)
    check_no_server_errors(
        cast,
        namespaces={"customers"},
        path_values={
            "pk": [str(batch.pk), str(job.pk)],
            "what": ["companies", "contacts"],
            "field": ["phone", "tax_id", "mobile"],
        },
    )
