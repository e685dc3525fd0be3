"""A company's pages in the user's language: the share dialog names roles in Chinese, and timeline
entries read as sentences with the names marked as user data."""

import pytest
from django.urls import reverse

from customers.models import Interaction
from customers.services import record_interaction
from customers.tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


def test_the_share_dialog_offers_roles_in_chinese(client, cast):
    client.force_login(cast.admin)
    company = CompanyFactory(owner=cast.owner, team=cast.team)
    page = client.get(reverse("crm:share", args=["customers.company", company.pk]), **ZH).content.decode()
    assert "销售代表" in page
    assert ">Sales rep<" not in page


def test_a_timeline_entry_reads_as_a_sentence(client, cast):
    client.force_login(cast.owner)
    cast.owner.first_name, cast.owner.last_name = "小明", "王"
    cast.owner.save()
    company = CompanyFactory(owner=cast.owner, team=cast.team, name="华为")
    record_interaction(kind=Interaction.Kind.CALL, summary="续约", actor=cast.owner, company=company)
    zh = client.get(company.get_absolute_url(), **ZH).content.decode()
    en = client.get(company.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<span translate="no">王小明</span>记录了与<span translate="no">华为</span>的通话' in zh
    assert '<span translate="no">王小明</span> logged a call with <span translate="no">华为</span>' in en
