"""No campaigns page answers 500, whatever a request carries: every route of the campaigns
namespace (the public tracking, click and unsubscribe links included), as every person of the
cast and anonymously, GET and POST, with malformed path arguments and parameters (crm/tests/walk.py)."""

import pytest

from campaigns.models import Campaign, Delivery, Segment
from campaigns.tracking import token_for
from crm.tests.walk import check_no_server_errors
from customers.tests.factories import ContactFactory

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_no_campaigns_page_answers_500(cast, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    segment = Segment.objects.create(owner=cast.owner, team=cast.team, name="全部", criteria={})
    campaign = Campaign.objects.create(
        owner=cast.owner,
        team=cast.team,
        name="春季",
        segment=segment,
        subject="您好",
        html_body='<a href="https://example.com/">x</a>',
        links=["https://example.com/"],
        status=Campaign.Status.SENT,
    )
    contact = ContactFactory(owner=cast.owner, team=cast.team, email="a@example.com")
    delivery = Delivery.objects.create(
        campaign=campaign,
        contact=contact,
        email=contact.email,
        status=Delivery.Status.SENT,
        sent_at=campaign.created_at,
    )
    check_no_server_errors(
        cast,
        namespaces={"campaigns"},
        path_values={
            "pk": [str(campaign.pk), str(segment.pk)],
            "contact_pk": [str(contact.pk)],
            "token": [
                token_for(delivery.pk, purpose="open"),
                token_for(delivery.pk, purpose="unsubscribe"),
                token_for(delivery.pk, 0),
                token_for(delivery.pk, 7),
            ],
        },
    )
