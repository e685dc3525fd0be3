"""Finding duplicates: exact identifiers, similar names nearby, only among what the user may see."""

import pytest

from customers.duplicates import (
    duplicate_warnings,
    exact_duplicates_for,
    exact_pairs,
    likely_duplicates_for,
    likely_pairs,
    normalize_name,
)
from customers.models import Company, Contact
from customers.services import company_create, contact_create

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("华为技术有限公司", "华为技术"),
        ("上海浦东发展银行股份有限公司", "上海浦东发展银行"),
        ("万达集团", "万达"),
        ("ACME Co., Ltd.", "acme"),
        ("Acme Inc", "acme"),
        ("ＡＣＭＥ　LLC", "acme"),
        ("有限公司", "有限"),  # never stripped to nothing
    ],
)
def test_names_are_compared_without_legal_forms(name, expected):
    assert normalize_name(name) == expected


def test_exact_duplicates_by_phone_tax_id_and_external_id(cast):
    a = company_create(actor=cast.owner, team=cast.team, name="Alpha", phone="+86 138 0013 8000")
    b = company_create(actor=cast.owner, team=cast.team, name="Beta", tax_id="9131 0000 MA1K")
    c = company_create(actor=cast.owner, team=cast.team, name="Gamma", external_id="ERP-1")
    company_create(actor=cast.owner, team=cast.team, name="Delta", phone="13900000000")
    found = exact_duplicates_for(
        model=Company,
        user=cast.owner,
        data={"name": "New", "phone": "0086 13800138000", "tax_id": "91310000ma1k", "external_id": "ERP-1"},
    )
    reasons = {cand.record.pk: cand.reasons for cand in found}
    assert reasons == {a.pk: ["Same phone"], b.pk: ["Same tax ID"], c.pk: ["Same external ID"]}
    assert exact_duplicates_for(model=Company, user=cast.owner, instance=a) == []


def test_contact_phone_matches_another_contacts_mobile_and_email_ignores_case(cast):
    a = contact_create(actor=cast.owner, given_name="Anna", mobile="13800138000")
    b = contact_create(actor=cast.owner, given_name="Bo", email="Bo@Example.com")
    found = exact_duplicates_for(
        model=Contact, user=cast.owner, data={"phone": "+86 138-0013-8000", "email": "bo@example.COM"}
    )
    assert {c.record.pk for c in found} == {a.pk, b.pk}


def test_likely_duplicates_need_a_similar_name_in_the_same_city_or_domain(cast):
    same_city = company_create(actor=cast.owner, team=cast.team, name="华为技术有限公司", city="深圳")
    company_create(actor=cast.owner, team=cast.team, name="华为技术有限公司", city="北京")
    same_domain = company_create(
        actor=cast.owner, team=cast.team, name="Huawei Technologies Co., Ltd.", website="https://huawei.com"
    )
    company_create(actor=cast.owner, team=cast.team, name="中兴通讯股份有限公司", city="深圳")
    found = likely_duplicates_for(model=Company, user=cast.owner, data={"name": "华为技术", "city": "深圳市"})
    assert [c.record.pk for c in found] == [same_city.pk]
    assert found[0].score == 100 and found[0].reasons == ["Similar name"]
    found = likely_duplicates_for(
        model=Company, user=cast.owner, data={"name": "Huawei Technologies Inc.", "website": "www.huawei.com"}
    )
    assert [c.record.pk for c in found] == [same_domain.pk]


def test_likely_contact_duplicates_at_the_same_company(cast):
    acme = company_create(actor=cast.owner, team=cast.team, name="Acme")
    anna = contact_create(actor=cast.owner, given_name="Anna", family_name="Smith", company=acme)
    contact_create(actor=cast.owner, given_name="Anna", family_name="Smith")  # elsewhere
    found = likely_duplicates_for(
        model=Contact, user=cast.owner, data={"given_name": "Anna", "family_name": "Smyth", "company": acme}
    )
    assert [c.record.pk for c in found] == [anna.pk]


def test_nothing_outside_the_users_reach_is_revealed(cast):
    company_create(actor=cast.outsider, team=cast.other_team, name="华为技术有限公司", city="深圳", phone="13800138000")
    data = {"name": "华为技术", "city": "深圳", "phone": "13800138000"}
    assert duplicate_warnings(Company, data, cast.owner) == []
    assert len(duplicate_warnings(Company, data, cast.outsider)) == 1
    assert len(duplicate_warnings(Company, data, cast.auditor)) == 1


def test_warnings_merge_reasons_and_are_fast(cast, django_assert_max_num_queries):
    mine = company_create(actor=cast.owner, team=cast.team, name="华为技术有限公司", city="深圳", phone="13800138000")
    data = {"name": "华为技术", "city": "深圳", "phone": "138 0013 8000", "tax_id": ""}
    with django_assert_max_num_queries(8):
        warnings = duplicate_warnings(Company, data, cast.owner)
    assert len(warnings) == 1
    assert warnings[0].record == mine and warnings[0].reasons == ["Same phone", "Similar name"]
    assert duplicate_warnings(Company, data, cast.owner, exclude_pk=mine.pk) == []


def test_exact_pairs_are_grouped_and_paged(cast):
    made = [
        company_create(actor=cast.owner, team=cast.team, name=f"Phone twin {i}", phone=f"1380013800{i // 2}")
        for i in range(6)
    ]
    page = exact_pairs(model=Company, user=cast.owner, size=2)
    assert len(page.pairs) == 2 and page.next_cursor
    rest = exact_pairs(model=Company, user=cast.owner, after=page.next_cursor, size=2)
    pairs = {(p.first.pk, p.second.pk) for p in page.pairs + rest.pairs}
    assert pairs == {(made[i].pk, made[i + 1].pk) for i in (0, 2, 4)}
    assert rest.next_cursor is None
    assert all(p.reason == "Same phone" and p.can_merge for p in page.pairs)
    assert exact_pairs(model=Company, user=cast.outsider).pairs == []
    assert exact_pairs(model=Company, user=cast.owner, after="garbage!").pairs  # a bad cursor starts over


def test_likely_pairs_around_recent_records(cast):
    old = company_create(actor=cast.owner, team=cast.team, name="阿里巴巴（中国）有限公司", city="杭州")
    new = company_create(actor=cast.owner, team=cast.team, name="阿里巴巴中国", city="杭州")
    company_create(actor=cast.owner, team=cast.team, name="腾讯科技", city="杭州")
    page = likely_pairs(model=Company, user=cast.owner)
    assert [(p.first.pk, p.second.pk) for p in page.pairs] == [(old.pk, new.pk)]
    assert page.pairs[0].can_merge
    assert likely_pairs(model=Company, user=cast.auditor).pairs[0].can_merge is False
    assert likely_pairs(model=Company, user=cast.outsider).pairs == []


def test_the_create_form_says_why_a_customer_looks_like_one_we_have(client, cast):
    from django.urls import reverse

    company_create(actor=cast.owner, owner=cast.owner, team=cast.team, name="远山贸易有限公司", phone="13800138000")
    client.force_login(cast.owner)
    response = client.post(
        reverse("customers:company_create"),
        {"name": "远山贸易", "phone": "+86 138 0013 8000", "lifecycle": "potential"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    page = response.content.decode()
    assert "Possible duplicates" in page
    warning = page[page.index("Possible duplicates") :]
    warning = warning[: warning.index("</ul>")]
    assert "远山贸易有限公司" in warning and "Same phone" in warning, warning
    assert not Company.objects.filter(name="远山贸易").exists()
