"""Who may open and change which customer page: every route of the customer centre, for the owner,
a teammate, the team's manager, an outsider, an auditor and an administrator.

What a user may not see answers 404, what they may see but not change 403; a refused POST leaves
the database exactly as it was.
"""

from datetime import date

import pytest
from auditlog.models import LogEntry
from django.urls import reverse

from crm.services import record_share
from customers.models import (
    Company,
    CompanyGroupObjectPermission,
    CompanyUserObjectPermission,
    Contact,
    ContactGroupObjectPermission,
    ContactUserObjectPermission,
    Interaction,
    Tag,
    Transaction,
)
from customers.services import record_interaction
from customers.tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}

# Whom a record of the owner's team is visible to, and who may change or delete it.
SEES = {"owner": 200, "teammate": 404, "manager": 200, "outsider": 404, "auditor": 200, "admin": 200}
CHANGES = {"owner": 200, "teammate": 404, "manager": 200, "outsider": 404, "auditor": 403, "admin": 200}
CHANGES_REDIRECT = {k: 302 if v == 200 else v for k, v in CHANGES.items()}
DELETES = {"owner": 403, "teammate": 404, "manager": 302, "outsider": 404, "auditor": 403, "admin": 302}
REVEALS = {"owner": 403, "teammate": 404, "manager": 200, "outsider": 404, "auditor": 200, "admin": 200}
EVERYONE = dict.fromkeys(SEES, 200)
ADDS = {**EVERYONE, "auditor": 403}
ADDS_REDIRECT = {k: 302 if v == 200 else v for k, v in ADDS.items()}
POST_ONLY = dict.fromkeys(SEES, 405)


@pytest.fixture
def records(cast):
    company = CompanyFactory(
        name="华为技术有限公司", owner=cast.owner, team=cast.team, phone="13800138000", tax_id="91440300MA5D0001X"
    )
    contact = Contact.objects.create(
        family_name="王",
        given_name="小明",
        owner=cast.owner,
        team=cast.team,
        company=company,
        email="wang@example.com",
        phone="02155550000",
        mobile="13900139000",
    )
    # A contact at the team's company that belongs to someone else: the company page must not name it.
    hidden_contact = Contact.objects.create(
        family_name="赵", given_name="秘密", owner=cast.outsider, team=cast.other_team, company=company
    )
    # The outsider's own company, where one of the team's contacts works.
    other_company = CompanyFactory(name="阿里巴巴集团", owner=cast.outsider, team=cast.other_team)
    team_contact_elsewhere = Contact.objects.create(
        family_name="钱", given_name="团队", owner=cast.owner, team=cast.team, company=other_company
    )
    record_interaction(kind="call", summary="First call", actor=cast.owner, company=company, contact=contact)
    tag = Tag.objects.create(name="VIP")
    return {
        "company": company,
        "contact": contact,
        "hidden_contact": hidden_contact,
        "other_company": other_company,
        "team_contact_elsewhere": team_contact_elsewhere,
        "tag": tag,
    }


def snapshot() -> dict:
    """Everything a customer page could change, to compare before and after a refused request."""
    return {
        "companies": list(
            Company.objects.order_by("pk").values_list(
                "pk", "name", "owner_id", "team_id", "lifecycle", "lifetime_value", "updated_at", "last_activity_at"
            )
        ),
        "contacts": list(
            Contact.objects.order_by("pk").values_list(
                "pk", "display_name", "owner_id", "team_id", "company_id", "updated_at", "last_activity_at"
            )
        ),
        "interactions": list(Interaction.objects.order_by("pk").values_list("pk", "summary")),
        "transactions": list(Transaction.objects.order_by("pk").values_list("pk", "amount")),
        "company_tags": list(Company.tags.through.objects.order_by("pk").values_list("company_id", "tag_id")),
        "contact_tags": list(Contact.tags.through.objects.order_by("pk").values_list("contact_id", "tag_id")),
        "shares": [
            m.objects.count()
            for m in (
                CompanyUserObjectPermission,
                CompanyGroupObjectPermission,
                ContactUserObjectPermission,
                ContactGroupObjectPermission,
            )
        ],
        "log_entries": LogEntry.objects.count(),
    }


def _company(records):
    return records["company"].pk


def _contact(records):
    return records["contact"].pk


# name -> (url name, args from the records, extra request headers, expected statuses per role)
GETS = {
    "company list": ("customers:company_list", None, {}, EVERYONE),
    "company list rows (htmx)": (
        "customers:company_list",
        None,
        {**HTMX, "HTTP_HX_TARGET": "list-rows"},
        EVERYONE,
    ),
    "company create form": ("customers:company_create", None, {}, ADDS),
    "company detail": ("customers:company_detail", _company, {}, SEES),
    "company timeline (htmx)": (
        "customers:company_detail",
        _company,
        {**HTMX, "HTTP_HX_TARGET": "timeline"},
        SEES,
    ),
    "company edit form": ("customers:company_edit", _company, {}, CHANGES),
    "company delete": ("customers:company_delete", _company, {}, POST_ONLY),
    "company quick add": ("customers:company_interaction_add", _company, {}, POST_ONLY),
    "company transaction": ("customers:company_transaction_add", _company, {}, POST_ONLY),
    "contact list": ("customers:contact_list", None, {}, EVERYONE),
    "contact list rows (htmx)": (
        "customers:contact_list",
        None,
        {**HTMX, "HTTP_HX_TARGET": "list-rows"},
        EVERYONE,
    ),
    "contact create form": ("customers:contact_create", None, {}, ADDS),
    "contact detail": ("customers:contact_detail", _contact, {}, SEES),
    "contact timeline (htmx)": (
        "customers:contact_detail",
        _contact,
        {**HTMX, "HTTP_HX_TARGET": "timeline"},
        SEES,
    ),
    "contact edit form": ("customers:contact_edit", _contact, {}, CHANGES),
    "contact delete": ("customers:contact_delete", _contact, {}, POST_ONLY),
    "contact quick add": ("customers:contact_interaction_add", _contact, {}, POST_ONLY),
}


@pytest.mark.parametrize("who", SEES)
@pytest.mark.parametrize("page", GETS)
def test_get_matrix(client, cast, records, page, who):
    url_name, args, headers, expected = GETS[page]
    url = reverse(url_name, args=[args(records)] if args else None)
    client.force_login(cast.as_dict()[who])
    response = client.get(url, **headers)
    assert response.status_code == expected[who], f"{page} as {who}"
    if "htmx" in page and response.status_code == 200:
        assert "<html" not in response.content.decode(), "an htmx partial answers with the fragment only"


@pytest.mark.parametrize("who", SEES)
@pytest.mark.parametrize(
    "field,url_name,record",
    [
        ("phone", "customers:company_reveal", "company"),
        ("tax_id", "customers:company_reveal", "company"),
        ("phone", "customers:contact_reveal", "contact"),
        ("mobile", "customers:contact_reveal", "contact"),
    ],
)
def test_reveal_matrix(client, cast, records, field, url_name, record, who):
    obj = records[record]
    client.force_login(cast.as_dict()[who])
    url = reverse(url_name, args=[obj.pk, field])
    assert client.get(url).status_code == 405
    before = snapshot()
    response = client.post(url, **HTMX, HTTP_HX_TARGET=f"reveal-{field}")
    assert response.status_code == REVEALS[who], f"reveal {record}.{field} as {who}"
    if response.status_code == 200:
        assert getattr(obj, field) in response.content.decode()
        assert LogEntry.objects.get_for_object(obj).filter(action=LogEntry.Action.ACCESS, actor=cast.as_dict()[who])
    else:
        assert snapshot() == before
        assert getattr(obj, field) not in response.content.decode()


def _company_form(cast, records):
    return {"name": "新名字科技", "lifecycle": "active", "country": "CN", "owner": cast.owner.pk, "team": cast.team.pk}


def _contact_form(cast, records):
    return {
        "family_name": "王",
        "given_name": "改名",
        "company": records["company"].pk,
        "owner": cast.owner.pk,
        "team": cast.team.pk,
    }


def _interaction(cast, records):
    return {"kind": "call", "summary": "Matrix call", "body": ""}


def _transaction(cast, records):
    return {"date": date.today().isoformat(), "amount": "100.00", "currency": "CNY", "status": "paid"}


def _nothing(cast, records):
    return {}


# name -> (url name, args, form data, extra headers, expected statuses per role)
POSTS = {
    "company create": (
        "customers:company_create",
        None,
        lambda cast, records: {"name": "全新客户公司", "lifecycle": "potential", "country": "CN"},
        {},
        ADDS_REDIRECT,
    ),
    "company edit": ("customers:company_edit", _company, _company_form, {}, CHANGES_REDIRECT),
    "company quick add (htmx)": (
        "customers:company_interaction_add",
        _company,
        _interaction,
        {**HTMX, "HTTP_HX_TARGET": "timeline"},
        CHANGES,
    ),
    "company quick add (plain)": ("customers:company_interaction_add", _company, _interaction, {}, CHANGES_REDIRECT),
    "company transaction": ("customers:company_transaction_add", _company, _transaction, {}, CHANGES_REDIRECT),
    "company delete": ("customers:company_delete", _company, _nothing, {}, DELETES),
    "contact create": (
        "customers:contact_create",
        None,
        lambda cast, records: {"family_name": "李", "given_name": "雷"},
        {},
        ADDS_REDIRECT,
    ),
    "contact edit": ("customers:contact_edit", _contact, _contact_form, {}, CHANGES_REDIRECT),
    "contact quick add (htmx)": (
        "customers:contact_interaction_add",
        _contact,
        _interaction,
        {**HTMX, "HTTP_HX_TARGET": "timeline"},
        CHANGES,
    ),
    "contact quick add (plain)": ("customers:contact_interaction_add", _contact, _interaction, {}, CHANGES_REDIRECT),
    "contact delete": ("customers:contact_delete", _contact, _nothing, {}, DELETES),
}


@pytest.mark.parametrize("who", SEES)
@pytest.mark.parametrize("action", POSTS)
def test_post_matrix(client, cast, records, action, who):
    url_name, args, data, headers, expected = POSTS[action]
    url = reverse(url_name, args=[args(records)] if args else None)
    client.force_login(cast.as_dict()[who])
    before = snapshot()
    response = client.post(url, data(cast, records), **headers)
    assert response.status_code == expected[who], f"{action} as {who}"
    if response.status_code in (403, 404, 405):
        assert snapshot() == before, f"a refused {action} as {who} changed the database"
    else:
        assert snapshot() != before, f"an allowed {action} as {who} changed nothing"


# Bulk actions from the list pages answer with a redirect for everyone who may open the list;
# only rows the user may act on change, the rest are reported as skipped.
BULK_CHANGES = {"owner": True, "teammate": False, "manager": True, "outsider": False, "auditor": False, "admin": True}
BULK_DELETES = {"owner": False, "teammate": False, "manager": True, "outsider": False, "auditor": False, "admin": True}


def _bulk_payload(cast, records, action):
    tag = records["tag"]
    extra = {
        "add_tag": {"tag": tag.pk},
        "assign_owner": {},
        "share": {"share_team": cast.other_team.pk, "level": "view"},
        "delete": {},
    }[action]
    return {"action": action, **extra}


@pytest.mark.parametrize("who", SEES)
@pytest.mark.parametrize("action", ["add_tag", "assign_owner", "share", "delete"])
@pytest.mark.parametrize("model", ["company", "contact"])
def test_bulk_action_matrix(client, cast, records, model, action, who):
    user = cast.as_dict()[who]
    record = records[model]
    url = reverse(f"customers:{model}_list")
    client.force_login(user)
    payload = {**_bulk_payload(cast, records, action), "ids": [record.pk], "next": url}
    if action == "assign_owner":
        payload["owner"] = user.pk  # everyone may take a record they may change
    before = snapshot()
    response = client.post(url, payload)
    assert response.status_code == 302 and response["Location"] == url
    allowed = (BULK_DELETES if action == "delete" else BULK_CHANGES)[who]
    if not allowed:
        assert snapshot() == before, f"bulk {action} on a {model} as {who} changed the database"
        return
    assert snapshot() != before
    if action == "delete":
        assert not type(record).objects.filter(pk=record.pk).exists()
    elif action == "add_tag":
        assert list(type(record).objects.get(pk=record.pk).tags.all()) == [records["tag"]]


def test_bulk_action_is_refused_to_a_user_without_the_role(client, cast, records):
    from crm.testing import make_user

    nobody = make_user(role=None)
    client.force_login(nobody)
    before = snapshot()
    url = reverse("customers:company_list")
    response = client.post(url, {"action": "delete", "ids": [records["company"].pk]})
    assert response.status_code == 403
    assert client.get(url).status_code == 403
    assert snapshot() == before


def test_bulk_action_skips_the_invisible_rows_of_a_mixed_selection(client, cast, records):
    client.force_login(cast.manager)
    url = reverse("customers:company_list")
    before = snapshot()
    response = client.post(
        url,
        {"action": "delete", "ids": [records["company"].pk, records["other_company"].pk], "next": url},
        follow=True,
    )
    assert not Company.objects.filter(pk=records["company"].pk).exists()
    assert Company.objects.filter(pk=records["other_company"].pk).exists()
    assert "1 record was skipped" in response.content.decode()
    assert len(snapshot()["contacts"]) == len(before["contacts"])  # contacts outlive their company


# --- A teammate the record was shared with, read-only: sees it, changes nothing. -------------


@pytest.fixture
def shared_view(cast, records):
    for record in (records["company"], records["contact"]):
        record_share(obj=record, recipient=cast.teammate, level="view", actor=cast.owner)
    return records


@pytest.mark.parametrize(
    "url_name,record,method,expected",
    [
        ("customers:company_detail", "company", "get", 200),
        ("customers:company_edit", "company", "get", 403),
        ("customers:company_edit", "company", "post", 403),
        ("customers:company_interaction_add", "company", "post", 403),
        ("customers:company_transaction_add", "company", "post", 403),
        ("customers:company_delete", "company", "post", 403),
        ("customers:contact_detail", "contact", "get", 200),
        ("customers:contact_edit", "contact", "get", 403),
        ("customers:contact_edit", "contact", "post", 403),
        ("customers:contact_interaction_add", "contact", "post", 403),
        ("customers:contact_delete", "contact", "post", 403),
    ],
)
def test_a_view_share_opens_the_page_but_changes_nothing(client, cast, shared_view, url_name, record, method, expected):
    client.force_login(cast.teammate)
    url = reverse(url_name, args=[shared_view[record].pk])
    before = snapshot()
    data = {"kind": "note", "summary": "Should not land", "name": "X", "lifecycle": "active", "family_name": "X"}
    response = getattr(client, method)(url, data if method == "post" else None, **HTMX)
    assert response.status_code == expected
    assert snapshot() == before


def test_a_view_share_shows_no_edit_controls(client, cast, shared_view):
    client.force_login(cast.teammate)
    body = client.get(shared_view["company"].get_absolute_url()).content.decode()
    assert 'id="interaction-form"' not in body
    assert reverse("customers:company_edit", args=[shared_view["company"].pk]) not in body
    assert reverse("customers:company_delete", args=[shared_view["company"].pk]) not in body


# --- Lists, search and related panels show only what the user may see. ----------------------


def _names(response) -> str:
    return response.content.decode()


def test_outsider_sees_none_of_the_teams_records_anywhere(client, cast, records):
    client.force_login(cast.outsider)
    companies = client.get(reverse("customers:company_list"))
    assert [c.pk for c in companies.context["rows"]] == [records["other_company"].pk]
    assert "华为技术有限公司" not in _names(companies)

    contacts = client.get(reverse("customers:contact_list"))
    assert [c.pk for c in contacts.context["rows"]] == [records["hidden_contact"].pk]
    assert "王小明" not in _names(contacts) and "钱团队" not in _names(contacts)

    for query in ("华为", "为技", "王小明", "钱团队", "wang@example.com", "13800138000"):
        found = _names(client.get(reverse("search"), {"q": query}, **HTMX))
        assert "华为技术有限公司" not in found and "王小明" not in found and "钱团队" not in found, query

    # Their own company's contacts panel does not name the team's contact who works there.
    detail = client.get(records["other_company"].get_absolute_url())
    assert [c.pk for c in detail.context["contacts"]] == []
    assert "钱团队" not in _names(detail)


def test_company_page_does_not_list_an_invisible_contact_of_a_visible_company(client, cast, records):
    company = records["company"]
    for who in ("owner", "manager"):
        client.force_login(cast.as_dict()[who])
        response = client.get(company.get_absolute_url())
        assert [c.pk for c in response.context["contacts"]] == [records["contact"].pk], who
        assert "赵秘密" not in _names(response), who
        listed = client.get(reverse("customers:contact_list"), {"q": "赵秘密"})
        assert list(listed.context["rows"]) == [], who
    for who in ("auditor", "admin"):  # they see everything
        client.force_login(cast.as_dict()[who])
        response = client.get(company.get_absolute_url())
        assert "赵秘密" in _names(response), who


def test_team_members_search_only_their_own_records(client, cast, records):
    client.force_login(cast.teammate)
    found = _names(client.get(reverse("search"), {"q": "华为"}, **HTMX))
    assert "华为技术有限公司" not in found
    client.force_login(cast.manager)
    found = _names(client.get(reverse("search"), {"q": "华为"}, **HTMX))
    assert "华为技术有限公司" in found
    found = _names(client.get(reverse("search"), {"q": "阿里"}, **HTMX))
    assert "阿里巴巴集团" not in found


def test_contact_page_names_an_invisible_company_without_linking_it(client, cast, records):
    client.force_login(cast.owner)
    contact = records["team_contact_elsewhere"]
    body = _names(client.get(contact.get_absolute_url()))
    assert "阿里巴巴集团" in body
    assert records["other_company"].get_absolute_url() not in body


def test_list_filters_cannot_probe_invisible_records(client, cast, records):
    records["company"].tags.add(records["tag"])
    client.force_login(cast.outsider)
    for params in ({"owner": cast.owner.pk}, {"team": cast.team.pk}, {"tag": records["tag"].pk}, {"q": "华为"}):
        response = client.get(reverse("customers:company_list"), params)
        assert list(response.context["rows"]) == [], params
        assert response.context["count"] == 0, params


@pytest.mark.parametrize("page", GETS)
def test_anonymous_visitor_is_sent_to_sign_in(client, records, page):
    url_name, args, headers, _expected = GETS[page]
    url = reverse(url_name, args=[args(records)] if args else None)
    response = client.get(url, **headers)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("action", POSTS)
def test_anonymous_post_changes_nothing(client, cast, records, action):
    url_name, args, data, headers, _expected = POSTS[action]
    url = reverse(url_name, args=[args(records)] if args else None)
    before = snapshot()
    response = client.post(url, data(cast, records), **headers)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert snapshot() == before
