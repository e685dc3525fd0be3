"""The rows of every list (Jinja2 templates, crm/jinja.py) escape what people typed, label their
checkboxes in the reader's language, and show the same values the pages always showed."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.tests.factories import CompanyFactory, ContactFactory
from pipeline.tests.factories import LeadFactory, OpportunityFactory

pytestmark = pytest.mark.django_db

PAYLOAD = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def typed(cast):
    company = CompanyFactory(name=PAYLOAD, city=PAYLOAD, owner=cast.owner, team=cast.team)
    ContactFactory(family_name=PAYLOAD, given_name="", title=PAYLOAD, company=company, owner=cast.owner, team=cast.team)
    deal = OpportunityFactory(name=PAYLOAD, company=company, owner=cast.owner, team=cast.team, amount="1234567.5")
    deal.stage.stale_after_days = 1
    deal.stage.save()
    type(deal).objects.filter(pk=deal.pk).update(
        stage_changed_at=timezone.now() - timedelta(days=30), last_activity_at=timezone.now() - timedelta(days=30)
    )
    LeadFactory(family_name=PAYLOAD, given_name="", company_name=PAYLOAD, owner=cast.owner, team=cast.team)
    return cast


LISTS = [
    "customers:company_list",
    "customers:contact_list",
    "pipeline:opportunity_list",
    "pipeline:lead_list",
    "pipeline:attention",
]


@pytest.mark.parametrize("name", LISTS)
def test_typed_markup_is_shown_as_text(client, typed, name):
    client.force_login(typed.owner)
    body = client.get(reverse(name)).content.decode()
    rows = body[body.index('<tbody id="list-rows">') : body.index("</tbody>")]
    assert "<script>" not in rows and "<img" not in rows
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in rows or "&lt;script&gt;alert(&#34;x&#34;)" in rows


def test_rows_read_in_chinese_and_numbers_as_before(client, typed):
    client.force_login(typed.owner)
    body = client.get(reverse("pipeline:opportunity_list"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'aria-label="选择&lt;script&gt;' in body
    empty = client.get(
        reverse("pipeline:opportunity_list") + "?q=nothing-matches-this", HTTP_ACCEPT_LANGUAGE="zh-hans"
    ).content.decode()
    assert "暂无数据。" in empty
    english = client.get(reverse("pipeline:opportunity_list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "1234568 CNY" in body and "1,234,568 CNY" in english  # floatformat:"0g", grouped as each language does


def test_the_rows_alone_for_htmx(client, typed):
    client.force_login(typed.owner)
    response = client.get(reverse("customers:company_list"), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="list-rows")
    body = response.content.decode()
    assert body.lstrip().startswith("<tr>") and "<html" not in body
