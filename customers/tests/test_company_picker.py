"""Company and contact pickers (crm.pickers over customers' search): a user is offered only the
customers they may see, found by one or two Chinese characters as in the top bar's search, in a
fixed number of queries; names are escaped; a form names only a company its user may see."""

import re

import pytest
from django import forms
from django.urls import reverse

from crm import pickers
from crm.pickers import RecordPicker, bind_pickers, register_record_source
from customers.models import Company, Contact

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
OPTION = re.compile(r'<li [^>]*role="option"[^>]*data-value="(\d+)">([^<]*)</li>')


def pick(client, source, q):
    return client.get(reverse("crm:pick", args=[source]), {"q": q}, **HTMX)


def options(response) -> list[tuple[int, str]]:
    assert response.status_code == 200, response.status_code
    return [(int(pk), label) for pk, label in OPTION.findall(response.content.decode())]


@pytest.fixture
def companies(cast):
    """One company of `team` (owned by its rep) and one of the other team, both found by 华为."""
    ours = Company.objects.create(name="华为技术有限公司", owner=cast.owner, team=cast.team)
    theirs = Company.objects.create(name="华为终端有限公司", owner=cast.outsider, team=cast.other_team)
    return ours, theirs


@pytest.mark.parametrize(
    "who, expected",
    [
        ("owner", {"ours"}),
        ("manager", {"ours"}),
        ("teammate", set()),
        ("outsider", {"theirs"}),
        ("auditor", {"ours", "theirs"}),
        ("admin", {"ours", "theirs"}),
    ],
)
def test_company_options_are_the_companies_the_user_may_see(client, cast, companies, who, expected):
    ours, theirs = companies
    client.force_login(cast.as_dict()[who])
    found = {pk for pk, _label in options(pick(client, "customers.company", "华为"))}
    assert found == {{"ours": ours.pk, "theirs": theirs.pk}[name] for name in expected}


@pytest.mark.parametrize("query", ["华", "为技", "华为技术", "HUAWEI", "ｈｕａ"])
def test_one_or_two_chinese_characters_and_latin_prefixes_find_a_company(client, cast, query):
    company = Company.objects.create(
        name="华为技术有限公司", legal_name="Huawei Technologies", owner=cast.owner, team=cast.team
    )
    client.force_login(cast.owner)
    assert options(pick(client, "customers.company", query)) == [(company.pk, "华为技术有限公司")]


def test_contact_options_are_the_contacts_the_user_may_see(client, cast):
    mine = Contact.objects.create(family_name="王", given_name="小明", owner=cast.owner, team=cast.team)
    Contact.objects.create(family_name="王", given_name="小红", owner=cast.outsider, team=cast.other_team)
    client.force_login(cast.owner)
    assert options(pick(client, "customers.contact", "王")) == [(mine.pk, str(mine))]


@pytest.mark.parametrize("query", ["华为\x00", "a" * 20000, "华" * 5000, "' OR 1=1 --", "a & b | !c:*", "13800138000"])
def test_odd_queries_never_fail(client, cast, companies, query):
    client.force_login(cast.owner)
    for source in ("customers.company", "customers.contact"):
        assert pick(client, source, query).status_code == 200


def test_at_most_twenty_options_in_name_order_and_a_note_that_there_are_more(client, cast):
    for i in reversed(range(pickers.MAX_OPTIONS + 5)):
        Company.objects.create(name=f"华为分公司 {i:02}", owner=cast.owner, team=cast.team)
    client.force_login(cast.owner)
    response = pick(client, "customers.company", "华为")
    assert [label for _, label in options(response)] == [f"华为分公司 {i:02}" for i in range(pickers.MAX_OPTIONS)]
    assert "More than 20 matches" in response.content.decode()


def test_company_names_are_escaped(client, cast):
    Company.objects.create(name='华为 <img src=x onerror="alert(1)"> & Co', owner=cast.owner, team=cast.team)
    client.force_login(cast.owner)
    body = pick(client, "customers.company", "华为").content.decode()
    assert "<img" not in body
    assert "华为 &lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; Co" in body


def test_options_cost_a_fixed_number_of_queries(client, cast, django_assert_num_queries):
    Company.objects.create(name="华为技术有限公司", owner=cast.owner, team=cast.team)
    client.force_login(cast.owner)
    pick(client, "customers.company", "华为")  # warm per-process caches (permission ids)
    # user, options: roles, teams, permissions and shared ids come from the cache
    with django_assert_num_queries(2):
        assert len(options(pick(client, "customers.company", "华为"))) == 1
    for i in range(30):
        Company.objects.create(name=f"华为分公司 {i}", owner=cast.owner, team=cast.team)
    with django_assert_num_queries(2):
        assert len(options(pick(client, "customers.company", "华为"))) == pickers.MAX_OPTIONS


@pytest.fixture
def default_company_source():
    source = register_record_source(Company, name="tests.company_default")
    yield source
    pickers._sources.pop(source.name, None)


def test_a_record_source_searches_its_search_text_by_default(cast, default_company_source):
    company = Company.objects.create(name="阿里巴巴", owner=cast.owner, team=cast.team)
    Company.objects.create(name="阿里巴巴", owner=cast.outsider, team=cast.other_team)
    found, more = default_company_source.options(cast.owner, "阿里")
    assert [o.value for o in found] == [company.pk] and not more


class DealForm(forms.Form):
    company = forms.ModelChoiceField(queryset=Company.objects.all(), widget=RecordPicker(source="customers.company"))


def test_the_form_names_the_current_company(cast, companies, django_assert_num_queries):
    form = DealForm(initial={"company": companies[0].pk})
    bind_pickers(form, cast.owner)
    html = str(form["company"])
    assert 'value="华为技术有限公司"' in re.search(r'<input [^>]*role="combobox"[^>]*>', html).group(0)
    # The user's scope and shared ids come from the cache; then the company itself.
    with django_assert_num_queries(1):
        str(form["company"])


def test_the_form_does_not_name_a_company_the_user_may_not_see(cast, companies):
    form = DealForm(initial={"company": companies[1].pk})
    bind_pickers(form, cast.owner)
    html = str(form["company"])
    assert "华为终端" not in html
    assert f'value="{companies[1].pk}"' in html  # the value stays: saving unchanged must not drop it
