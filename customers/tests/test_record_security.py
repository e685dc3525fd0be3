"""The record-level rules the screen and write kits make structural, on companies and contacts:
forms never carry decrypted values, a share never grants owner/team changes, onward sharing or
deleting, and every screen answers each person of the cast as the matrix says."""

import pytest
from auditlog.models import LogEntry
from django.urls import reverse

from crm.services import record_share
from crm.testing import check_permission_matrix
from customers import services
from customers.models import Company, Contact

PHONE = "13800138000"
TAX_ID = "91310000MA1K000000"


def make_company(cast, **fields):
    return Company.objects.create(
        name=fields.pop("name", "华为技术有限公司"),
        owner=fields.pop("owner", cast.owner),
        team=fields.pop("team", cast.team),
        phone=PHONE,
        tax_id=TAX_ID,
        **fields,
    )


def company_post(company, **changes) -> dict:
    data = {"name": company.name, "country": "CN", "lifecycle": company.lifecycle}
    data.update(changes)
    return data


# --- Encrypted values never travel in a form -----------------------------------------------------


@pytest.mark.django_db
def test_edit_forms_show_no_decrypted_value_to_anyone(client, cast):
    company = make_company(cast)
    contact = Contact.objects.create(
        family_name="李", given_name="娜", owner=cast.owner, team=cast.team, phone=PHONE, mobile="13900139000"
    )
    for user in (cast.owner, cast.manager, cast.admin):
        client.force_login(user)
        for url in (
            reverse("customers:company_edit", args=[company.pk]),
            reverse("customers:contact_edit", args=[contact.pk]),
        ):
            body = client.get(url).content.decode()
            assert PHONE not in body and TAX_ID not in body and "13900139000" not in body, (user, url)
            assert "stored" in body  # the form says a value is there without showing it
    assert not LogEntry.objects.filter(action=LogEntry.Action.ACCESS, additional_data__event="reveal").exists()


@pytest.mark.django_db
def test_an_empty_secret_keeps_the_value_a_typed_one_replaces_it_remove_clears_it(client, cast):
    company = make_company(cast)
    client.force_login(cast.owner)
    url = reverse("customers:company_edit", args=[company.pk])
    assert client.post(url, company_post(company, legal_name="华为")).status_code == 302
    company.refresh_from_db()
    assert (company.phone, company.tax_id, company.legal_name) == (PHONE, TAX_ID, "华为")
    assert client.post(url, company_post(company, phone="13911112222")).status_code == 302
    company.refresh_from_db()
    assert (company.phone, company.tax_id) == ("13911112222", TAX_ID)
    assert client.post(url, company_post(company, tax_id__clear="on")).status_code == 302
    company.refresh_from_db()
    assert (company.phone, company.tax_id) == ("13911112222", "")


@pytest.mark.django_db
def test_reveal_is_audited_naming_the_field(client, cast):
    company = make_company(cast)
    client.force_login(cast.manager)
    response = client.post(reverse("customers:company_reveal", args=[company.pk, "tax_id"]), HTTP_HX_REQUEST="true")
    assert TAX_ID in response.content.decode()
    entry = LogEntry.objects.get(action=LogEntry.Action.ACCESS, object_id=company.pk)
    assert entry.actor == cast.manager and list(entry.changes) == ["tax_id"]


# --- A share never grants ownership, onward sharing or deleting ------------------------------------


@pytest.mark.django_db
def test_an_edit_share_changes_fields_but_not_owner_or_team(client, cast):
    company = make_company(cast)
    record_share(obj=company, recipient=cast.share_editor, level="change", actor=cast.owner)
    client.force_login(cast.share_editor)
    url = reverse("customers:company_edit", args=[company.pk])
    form = client.get(url).context["form"]
    assert "owner" not in form.fields and "team" not in form.fields
    # Saving the form unchanged works and keeps the team (it used to answer 500 and clear it).
    response = client.post(url, company_post(company))
    assert response.status_code == 302
    # Owner and team smuggled into the post are ignored.
    response = client.post(url, company_post(company, name="改名", owner=cast.share_editor.pk, team=cast.other_team.pk))
    assert response.status_code == 302
    company.refresh_from_db()
    assert (company.name, company.owner, company.team) == ("改名", cast.owner, cast.team)


@pytest.mark.django_db
def test_the_service_refuses_an_ownership_change_through_a_share(cast):
    company = make_company(cast)
    record_share(obj=company, recipient=cast.share_editor, level="change", actor=cast.owner)
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.company_update(company=company, actor=cast.share_editor, owner=cast.share_editor)
    with pytest.raises(PermissionDenied):
        services.company_update(company=company, actor=cast.share_editor, team=cast.other_team)
    with pytest.raises(PermissionDenied):
        record_share(obj=company, recipient=cast.outsider, level="view", actor=cast.share_editor)
    with pytest.raises(PermissionDenied):
        services.company_delete(company=company, actor=cast.share_editor)
    company.refresh_from_db()
    assert (company.owner, company.team) == (cast.owner, cast.team)


# --- The matrix: every screen, every person ------------------------------------------------------

DETAIL = {
    "owner": 200, "teammate": 404, "manager": 200, "outsider": 404, "share_viewer": 200, "share_editor": 200,
    "marketer": 404, "support_agent": 404, "support_manager": 404, "auditor": 200, "admin": 200, "anonymous": 302,
}  # fmt: skip
EDIT_PAGE = {**DETAIL, "share_viewer": 403, "auditor": 403}
DELETE = {
    **DETAIL,
    "owner": 403,
    "share_viewer": 403,
    "share_editor": 403,
    "auditor": 403,
    "manager": 302,
    "admin": 302,
}
SHARE = {**DETAIL, "share_viewer": 403, "share_editor": 403, "auditor": 403, "owner": 302, "manager": 302, "admin": 302}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("page", "method", "expect"),
    [
        ("customers:company_detail", "get", DETAIL),
        ("customers:company_edit", "get", EDIT_PAGE),
        ("customers:company_delete", "post", DELETE),
    ],
)
def test_company_screens_matrix(client, cast, page, method, expect):
    check_permission_matrix(
        client, cast, url=lambda c: reverse(page, args=[c.pk]), make_record=make_company, expect=expect, method=method
    )


@pytest.mark.django_db
def test_company_share_matrix(client, cast):
    check_permission_matrix(
        client,
        cast,
        url=lambda c: reverse("crm:share_add", args=["customers.company", c.pk]),
        make_record=make_company,
        expect=SHARE,
        method="post",
        data=lambda c: {"team": cast.other_team.pk, "level": "view"},
    )


@pytest.mark.django_db
def test_contact_screens_matrix(client, cast):
    def make_contact(cast):
        return Contact.objects.create(family_name="王", given_name="芳", owner=cast.owner, team=cast.team)

    check_permission_matrix(
        client,
        cast,
        url=lambda c: reverse("customers:contact_detail", args=[c.pk]),
        make_record=make_contact,
        expect=DETAIL,
    )
    check_permission_matrix(
        client,
        cast,
        url=lambda c: reverse("customers:contact_edit", args=[c.pk]),
        make_record=make_contact,
        expect={**EDIT_PAGE, "owner": 302, "manager": 302, "share_editor": 302, "admin": 302},
        method="post",
        data=lambda c: {"family_name": "王", "given_name": "芳芳", "owner": c.owner_id, "team": c.team_id},
    )


@pytest.mark.django_db
def test_bulk_assign_and_share_are_offered_to_assigners_and_skip_edit_shares(client, cast):
    company = make_company(cast)
    record_share(obj=company, recipient=cast.share_editor, level="change", actor=cast.owner)
    client.force_login(cast.manager)
    offered = {action.name for action in client.get(reverse("customers:company_list")).context["bulk_actions"]}
    assert {"assign_owner", "share", "delete"} <= offered
    client.force_login(cast.share_editor)
    response = client.post(
        reverse("customers:company_list"),
        {"action": "assign_owner", "ids": [company.pk], "owner": cast.share_editor.pk},
    )
    assert response.status_code == 302
    company.refresh_from_db()
    assert company.owner == cast.owner


@pytest.mark.django_db
def test_an_edit_share_cannot_merge_a_record_away_or_take_its_owner(client, cast):
    from django.core.exceptions import PermissionDenied

    from customers.merge import MERGED, company_merge

    theirs = make_company(cast, name="华为技术")
    mine = make_company(cast, name="华为", owner=cast.share_editor, team=cast.other_team)
    record_share(obj=theirs, recipient=cast.share_editor, level="change", actor=cast.owner)
    with pytest.raises(PermissionDenied):
        company_merge(survivor=mine, merged=theirs, field_choices={}, actor=cast.share_editor)
    client.force_login(cast.share_editor)
    url = reverse("customers:company_merge", args=[mine.pk])
    assert client.get(url, {"other": theirs.pk}).status_code == 403
    # Merging into a record shared for editing, the owner cannot be taken along.
    with pytest.raises(PermissionDenied):
        company_merge(survivor=theirs, merged=mine, field_choices={"owner": MERGED}, actor=cast.share_editor)
    assert Company.objects.filter(pk__in=[theirs.pk, mine.pk]).count() == 2
    theirs.refresh_from_db()
    assert theirs.owner == cast.owner


@pytest.mark.django_db
@pytest.mark.parametrize("target", ["//evil.example", "/\t/evil.example", "/\\evil.example", "https://evil.example/"])
def test_next_never_leaves_the_site(client, cast, target):
    company = make_company(cast)
    client.force_login(cast.owner)
    response = client.post(
        reverse("customers:company_edit", args=[company.pk]), {**company_post(company), "next": target}
    )
    assert response.status_code == 302 and response.url == company.get_absolute_url()


@pytest.mark.django_db
def test_a_reveal_without_javascript_shows_the_value_on_a_page_not_in_a_cookie(client, cast):
    company = make_company(cast)
    client.force_login(cast.manager)
    response = client.post(reverse("customers:company_reveal", args=[company.pk, "tax_id"]))
    assert response.status_code == 200 and TAX_ID in response.content.decode()
    assert "messages" not in response.cookies
    assert "no-store" in response["Cache-Control"]
