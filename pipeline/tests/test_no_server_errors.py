"""No pipeline page answers 500, whatever a request carries: every route of the pipeline
namespace (leads, deals, the board, tasks, the calendar, the forecast, web forms), as every
person of the cast and anonymously, GET and POST, with malformed path arguments and parameters
(crm/tests/walk.py)."""

import pytest

from crm.tests.walk import check_no_server_errors
from customers.tests.factories import CompanyFactory
from pipeline.models import Stage
from pipeline.tests.factories import (
    CalendarFeedFactory,
    LeadFactory,
    OpportunityFactory,
    QuotaFactory,
    TaskFactory,
    WebFormFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_no_pipeline_page_answers_500(cast):
    company = CompanyFactory(owner=cast.owner, team=cast.team)
    deal = OpportunityFactory(owner=cast.owner, team=cast.team, company=company)
    LeadFactory(owner=cast.owner, team=cast.team, qualified=True)
    TaskFactory(owner=cast.owner, team=cast.team, company=company)
    QuotaFactory(user=cast.owner)
    web_form = WebFormFactory()
    CalendarFeedFactory(user=cast.owner, token="calendar-token-of-the-owner")
    check_no_server_errors(
        cast,
        namespaces={"pipeline"},
        path_values={
            "pipeline_id": [str(deal.pipeline_id)],
            "stage_id": [str(pk) for pk in Stage.objects.filter(pipeline=deal.pipeline).values_list("pk", flat=True)],
            "field": ["phone", "mobile"],
            "slug": [web_form.slug],
            "token": ["calendar-token-of-the-owner"],
        },
    )
