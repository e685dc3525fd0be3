"""The duplicates page, the merge page and the merge record, for owner/teammate/manager/outsider/auditor."""

import pytest
from auditlog.models import LogEntry
from django.urls import reverse

from crm.testing import make_user
from customers.models import Company, Contact, MergeRecord
from customers.services import company_create, contact_create

pytestmark = pytest.mark.django_db

GET_EXPECTED = {"owner": 200, "teammate": 404, "manager": 200, "outsider": 404, "auditor": 403, "admin": 200}


@pytest.fixture
def pair(cast):
    kept = company_create(actor=cast.owner, team=cast.team, name="华为技术有限公司", city="深圳", phone="13800138000")
    other = company_create(
        actor=cast.owner, team=cast.team, name="华为技术", city="深圳", phone="13800138000", industry="Telecom"
    )
    return kept, other


def merge_url(kept, other=None):
    url = reverse("customers:company_merge", args=[kept.pk])
    return f"{url}?other={other.pk}" if other else url


def snapshot():
    return (
        sorted(Company.objects.values_list("pk", "name", "industry")),
        MergeRecord.objects.count(),
        LogEntry.objects.filter(additional_data__event="merge").count(),
    )


@pytest.mark.parametrize(("who", "expected"), GET_EXPECTED.items())
def test_compare_page_matrix(client, cast, pair, who, expected):
    kept, other = pair
    client.force_login(getattr(cast, who))
    response = client.get(merge_url(kept, other))
    assert response.status_code == expected
    if expected == 200:
        html = response.content.decode()
        assert "Telecom" in html and f"Kept record #{kept.pk}" in html
        assert "13800138000" not in html and "•••• 8000" in html  # secrets only by their last digits


@pytest.mark.parametrize(("who", "expected"), [(w, 302 if e == 200 else e) for w, e in GET_EXPECTED.items()])
def test_merge_post_matrix_and_refusals_change_nothing(client, cast, pair, who, expected):
    kept, other = pair
    before = snapshot()
    client.force_login(getattr(cast, who))
    response = client.post(merge_url(kept), {"other": other.pk, "industry": "merged", "name": "survivor"})
    assert response.status_code == expected
    if expected == 302:
        record = MergeRecord.objects.get()
        assert response["Location"] == reverse("customers:merge_record", args=[record.pk])
        kept.refresh_from_db()
        assert kept.industry == "Telecom" and not Company.objects.filter(pk=other.pk).exists()
    else:
        assert snapshot() == before


def test_htmx_post_is_refused_the_same_way(client, cast, pair):
    kept, other = pair
    before = snapshot()
    client.force_login(cast.outsider)
    response = client.post(merge_url(kept), {"other": other.pk}, HTTP_HX_REQUEST="true")
    assert response.status_code == 404 and snapshot() == before


def test_a_record_of_another_team_cannot_be_the_other_one(client, cast, pair):
    kept, _other = pair
    foreign = company_create(actor=cast.outsider, team=cast.other_team, name="华为")
    before = snapshot()
    client.force_login(cast.owner)
    assert client.get(merge_url(kept, foreign)).status_code == 404
    assert client.post(merge_url(kept), {"other": foreign.pk}).status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize(
    "data", [{"industry": "both"}, {"industry": ""}, {"other": "abc"}, {"other": ""}, {"other": "999999999"}]
)
def test_bad_input_is_a_form_error_or_404_never_a_500(client, cast, pair, data):
    kept, other = pair
    before = snapshot()
    client.force_login(cast.owner)
    response = client.post(merge_url(kept), {"other": other.pk, **data})
    assert response.status_code in (200, 400, 404)
    assert snapshot() == before


def test_merging_with_itself_is_refused_with_a_message(client, cast, pair):
    kept, _other = pair
    client.force_login(cast.owner)
    response = client.post(merge_url(kept), {"other": kept.pk}, follow=True)
    assert "Choose another record" in response.content.decode()
    assert Company.objects.filter(pk=kept.pk).exists()


def test_the_picker_suggests_duplicates_and_searches(client, cast, pair):
    kept, other = pair
    client.force_login(cast.owner)
    html = client.get(merge_url(kept)).content.decode()
    assert f"?other={other.pk}" in html and "Same phone" in html
    html = client.get(merge_url(kept) + "?q=华为技术").content.decode()
    assert f"?other={other.pk}" in html
    client.force_login(cast.outsider)
    assert client.get(merge_url(kept)).status_code == 404


def test_merge_record_page_only_for_those_who_see_the_survivor(client, cast, pair):
    kept, other = pair
    client.force_login(cast.owner)
    client.post(merge_url(kept), {"other": other.pk, "industry": "merged", "name": "survivor"})
    url = reverse("customers:merge_record", args=[MergeRecord.objects.get().pk])
    html = client.get(url).content.decode()
    assert "华为技术" in html and "[encrypted]" in html and "13800138000" not in html
    for who, expected in {"manager": 200, "auditor": 200, "teammate": 404, "outsider": 404}.items():
        client.force_login(getattr(cast, who))
        assert client.get(url).status_code == expected, who


def test_another_team_sees_none_of_a_merge(client, cast, pair):
    kept, other = pair
    client.force_login(cast.owner)
    client.post(merge_url(kept), {"other": other.pk, "name": "survivor", "industry": "merged"})
    record = MergeRecord.objects.get()
    client.force_login(cast.outsider)
    assert client.get(reverse("customers:merge_record", args=[record.pk])).status_code == 404
    assert client.get(reverse("customers:company_detail", args=[kept.pk])).status_code == 404
    assert "华为" not in client.get(reverse("customers:duplicates")).content.decode()


def test_contacts_merge_through_the_page(client, cast):
    kept = contact_create(actor=cast.owner, team=cast.team, given_name="Anna", email="anna@acme.test")
    other = contact_create(actor=cast.owner, team=cast.team, given_name="Anna", mobile="13800138000")
    client.force_login(cast.owner)
    url = reverse("customers:contact_merge", args=[kept.pk])
    assert client.get(f"{url}?other={other.pk}").status_code == 200
    response = client.post(url, {"other": other.pk, "mobile": "merged", "email": "survivor"})
    assert response.status_code == 302
    kept.refresh_from_db()
    assert kept.mobile == "13800138000" and not Contact.objects.filter(pk=other.pk).exists()
    client.force_login(cast.outsider)
    assert client.get(f"{url}?other={other.pk}").status_code == 404


# --- The duplicates page ------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["owner", "manager", "auditor", "admin"])
def test_duplicates_page_lists_visible_pairs(client, cast, pair, who):
    kept, other = pair
    client.force_login(getattr(cast, who))
    html = client.get(reverse("customers:duplicates")).content.decode()
    assert "Same phone" in html and f"#{other.pk}" in html
    can_merge = who != "auditor"
    assert (f"?other={other.pk}" in html) is can_merge


@pytest.mark.parametrize("who", ["teammate", "outsider"])
def test_duplicates_page_hides_what_the_user_cannot_see(client, cast, pair, who):
    client.force_login(getattr(cast, who))
    response = client.get(reverse("customers:duplicates"))
    assert response.status_code == 200 and "No possible duplicates found" in response.content.decode()


@pytest.mark.parametrize("postgres", [True, False])
def test_similar_names_say_plainly_when_they_need_postgresql(client, cast, pair, monkeypatch, postgres):
    monkeypatch.setattr("customers.merge_views.similar_names_available", lambda: postgres)
    monkeypatch.setattr("customers.duplicates.similar_names_available", lambda: postgres)
    client.force_login(cast.owner)

    html = client.get(reverse("customers:duplicates") + "?kind=likely").content.decode()

    assert ("needs PostgreSQL" in html) is not postgres
    assert ("No possible duplicates found" in html) is not postgres  # pg_trgm finds the pair


def test_duplicates_page_needs_a_customer_role(client, cast):
    client.force_login(make_user(role=None))
    assert client.get(reverse("customers:duplicates")).status_code == 403


@pytest.mark.parametrize("kind", ["exact", "likely"])
@pytest.mark.parametrize("type_key", ["company", "contact"])
def test_duplicates_page_runs_a_fixed_number_of_queries(client, cast, type_key, kind, django_assert_max_num_queries):
    acme = company_create(actor=cast.owner, team=cast.team, name="Acme")
    for i in range(12):
        company_create(
            actor=cast.owner, team=cast.team, name=f"Twin {i % 6} Ltd", city="上海", phone=f"1380000000{i % 6}"
        )
        contact_create(
            actor=cast.owner, team=cast.team, given_name=f"Twin{i % 6}", email=f"twin{i % 6}@x.test", company=acme
        )
    client.force_login(cast.owner)
    url = reverse("customers:duplicates") + f"?type={type_key}&kind={kind}"
    client.get(url)  # warm the per-process permission cache
    with django_assert_max_num_queries(16):
        response = client.get(url)
    assert response.status_code == 200
    assert "Twin" in response.content.decode()


def test_duplicates_page_htmx_returns_the_list_only(client, cast, pair):
    client.force_login(cast.owner)
    response = client.get(reverse("customers:duplicates"), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert 'id="duplicate-pairs"' in html and "<html" not in html
    assert "HX-Request" in response["Vary"]
