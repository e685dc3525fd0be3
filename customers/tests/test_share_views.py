"""The share dialog on a company: who may open it, who may change it, and what a refused POST leaves behind."""

import pytest
from django.urls import reverse

from crm.permissions import can
from customers.tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db

DIALOG = {"owner": 200, "teammate": 404, "manager": 200, "outsider": 404, "auditor": 200, "admin": 200}
ADD = {"owner": 302, "teammate": 404, "manager": 302, "outsider": 404, "auditor": 403, "admin": 302}


@pytest.fixture
def company(cast):
    return CompanyFactory(owner=cast.owner, team=cast.team)


def _urls(company):
    args = ["customers.company", company.pk]
    return reverse("crm:share", args=args), reverse("crm:share_add", args=args), reverse("crm:share_remove", args=args)


@pytest.mark.parametrize("who", DIALOG)
def test_share_dialog_matrix(client, cast, company, who):
    dialog, add, _remove = _urls(company)
    client.force_login(cast.as_dict()[who])
    assert client.get(dialog).status_code == DIALOG[who]
    recipient = cast.other_team.members.first()
    response = client.post(add, {"user": recipient.pk, "level": "view"})
    assert response.status_code == ADD[who]
    assert can(type(recipient).objects.get(pk=recipient.pk), company, "view") is (ADD[who] == 302)


def test_share_and_remove_through_the_dialog(client, cast, company):
    dialog, add, remove = _urls(company)
    client.force_login(cast.owner)
    client.post(add, {"team": cast.other_team.pk, "level": "change"})
    page = client.get(dialog)
    assert cast.other_team.name in page.content.decode()
    assert can(cast.outsider, company, "change")
    client.post(remove, {"kind": "group", "recipient_id": cast.other_team.group_id})
    outsider = type(cast.outsider).objects.get(pk=cast.outsider.pk)
    assert not can(outsider, company, "view")


def test_share_form_needs_exactly_one_recipient(client, cast, company):
    _dialog, add, _remove = _urls(company)
    client.force_login(cast.owner)
    response = client.post(add, {"user": cast.outsider.pk, "team": cast.other_team.pk, "level": "view"})
    assert response.status_code == 400
    assert not can(cast.outsider, company, "view")


def test_htmx_share_returns_the_dialog_fragment(client, cast, company):
    _dialog, add, _remove = _urls(company)
    client.force_login(cast.owner)
    response = client.post(add, {"user": cast.outsider.pk, "level": "view"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="share-dialog"' in body and "<html" not in body
