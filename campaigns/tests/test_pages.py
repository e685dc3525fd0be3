"""The campaign and segment screens: who may open, edit, preview and send which record (the
whole cast, over every URL), and the pages in both languages."""

import pytest
from django.urls import reverse

from campaigns.models import Campaign, Segment
from crm import roles
from crm.testing import build_cast, check_permission_matrix

pytestmark = pytest.mark.django_db


@pytest.fixture
def marketing():
    """The cast as a marketing department: marketers in the owner's team and its manager."""
    return build_cast(rep_role=roles.MARKETING, manager_role=roles.MARKETING)


def _segment(cast):
    return Segment.objects.create(
        owner=cast.owner, team=cast.team, name="上海 A 级客户", criteria={"grades": ["A"], "city": "上海"}
    )


def _campaign(cast):
    return Campaign.objects.create(
        owner=cast.owner,
        team=cast.team,
        name="春季新品",
        segment=_segment(cast),
        subject="{{ contact.name }}，您好",
        html_body='<p>{{ contact.name }}</p><a href="https://example.com/a">a</a>',
    )


# Owner, teammates' manager, shares, auditors and administrators see a record; the owner's
# teammates and outsiders do not (records are personal, as customers are), and they get 404.
SEE = {
    "owner": 200,
    "teammate": 404,
    "manager": 200,
    "outsider": 404,
    "share_viewer": 200,
    "share_editor": 200,
    "marketer": 404,
    "support_agent": 404,
    "support_manager": 404,
    "auditor": 200,
    "admin": 200,
    "anonymous": 302,
}
CHANGE = {**SEE, "share_viewer": 403, "auditor": 403}
CHANGE_POST = {role: 302 if status == 200 else status for role, status in CHANGE.items()}
DELETE_POST = {**CHANGE_POST, "share_editor": 403}


@pytest.mark.parametrize(
    ("page", "expect"),
    [("detail", SEE), ("edit", CHANGE), ("preview", SEE)],
)
def test_campaign_pages(client, marketing, page, expect):
    check_permission_matrix(
        client,
        marketing,
        url=lambda c: reverse(f"campaigns:campaign_{page}", args=[c.pk]),
        make_record=_campaign,
        expect=expect,
    )


# Sending reads the owner's audience: not for those the campaign is only shared with.
SEND_POST = {**CHANGE_POST, "share_editor": 403}


@pytest.mark.parametrize(("action", "expect"), [("send", SEND_POST), ("pause", CHANGE_POST), ("cancel", CHANGE_POST)])
def test_campaign_actions(client, marketing, action, expect, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    check_permission_matrix(
        client,
        marketing,
        url=lambda c: reverse(f"campaigns:campaign_{action}", args=[c.pk]),
        make_record=_campaign,
        expect=expect,
        method="post",
    )


def test_campaign_delete(client, marketing):
    check_permission_matrix(
        client,
        marketing,
        url=lambda c: reverse("campaigns:campaign_delete", args=[c.pk]),
        make_record=_campaign,
        expect=DELETE_POST,
        method="post",
    )


@pytest.mark.parametrize(("page", "expect"), [("detail", SEE), ("edit", CHANGE)])
def test_segment_pages(client, marketing, page, expect):
    check_permission_matrix(
        client,
        marketing,
        url=lambda s: reverse(f"campaigns:segment_{page}", args=[s.pk]),
        make_record=_segment,
        expect=expect,
    )


def test_preview_runs_no_script_and_is_framed_only_by_the_crm(client, marketing):
    campaign = _campaign(marketing)
    client.force_login(marketing.owner)
    response = client.get(reverse("campaigns:campaign_preview", args=[campaign.pk]))
    policy = response["Content-Security-Policy"]
    assert "sandbox" in policy and "default-src 'none'" in policy and "frame-ancestors 'self'" in policy
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_lists_and_forms_answer_in_both_languages(client, marketing, language):
    campaign = _campaign(marketing)
    client.force_login(marketing.owner)
    for url in (
        reverse("campaigns:campaign_list"),
        reverse("campaigns:segment_list"),
        reverse("campaigns:campaign_create"),
        reverse("campaigns:segment_create"),
        campaign.get_absolute_url(),
        campaign.segment.get_absolute_url(),
        reverse("campaigns:segment_estimate") + "?c-city=上海",
    ):
        response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200, url
        assert response.headers["Content-Language"] == language


def test_a_segment_is_saved_with_its_conditions_and_counts_only_visible_contacts(client, marketing):
    from customers.tests.factories import CompanyFactory, ContactFactory

    shanghai = CompanyFactory(owner=marketing.owner, team=marketing.team, city="上海", grade="A")
    ContactFactory(owner=marketing.owner, team=marketing.team, company=shanghai)
    hidden = CompanyFactory(owner=marketing.outsider, team=marketing.other_team, city="上海", grade="A")
    ContactFactory(owner=marketing.outsider, team=marketing.other_team, company=hidden)
    client.force_login(marketing.owner)
    response = client.post(
        reverse("campaigns:segment_create"),
        {"name": "上海 A", "kind": "dynamic", "c-city": "上海", "c-grades": ["A"]},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    segment = Segment.objects.get(name="上海 A")
    assert segment.criteria == {"city": "上海", "grades": ["A"]}
    estimate = client.get(reverse("campaigns:segment_estimate") + "?c-city=上海&c-grades=A")
    assert "1" in estimate.content.decode()


def test_contacts_join_a_static_segment_from_the_contact_list(client, marketing):
    from campaigns.models import SegmentMember
    from customers.tests.factories import ContactFactory

    mine = [ContactFactory(owner=marketing.owner, team=marketing.team) for _ in range(2)]
    hidden = ContactFactory(owner=marketing.outsider, team=marketing.other_team)
    vips = Segment.objects.create(owner=marketing.owner, team=marketing.team, name="VIP", kind=Segment.Kind.STATIC)
    client.force_login(marketing.owner)
    page = client.get(reverse("customers:contact_list") + "?action=add_to_segment")
    assert "add_to_segment" in page.content.decode()
    response = client.post(
        reverse("customers:contact_list"),
        {"action": "add_to_segment", "ids": [c.pk for c in [*mine, hidden]], "segment": vips.pk},
    )
    assert response.status_code == 302
    members = set(SegmentMember.objects.filter(segment=vips).values_list("contact_id", flat=True))
    assert members == {c.pk for c in mine}


def test_the_segment_action_is_offered_only_to_those_who_may_change_segments(client):
    from crm.testing import make_user

    rep = make_user(role=roles.SALES_REP, username="rep-no-segments")
    client.force_login(rep)
    page = client.get(reverse("customers:contact_list"))
    assert page.status_code == 200
    assert "add_to_segment" not in page.content.decode()
    response = client.post(reverse("customers:contact_list"), {"action": "add_to_segment", "ids": [1], "segment": 1})
    assert response.status_code == 302


def test_test_send(client, marketing, smtp_inbox):
    for person in marketing.everyone().values():
        if person is not None and not person.email:
            person.email = f"{person.username}@example.com"
            person.save(update_fields=["email"])
    check_permission_matrix(
        client,
        marketing,
        url=lambda c: reverse("campaigns:campaign_test_send", args=[c.pk]),
        make_record=_campaign,
        expect=CHANGE_POST,
        method="post",
    )


def _static_segment(cast):
    from campaigns.models import SegmentMember
    from customers.tests.factories import ContactFactory

    segment = Segment.objects.create(owner=cast.owner, team=cast.team, name="VIP", kind=Segment.Kind.STATIC)
    contact = ContactFactory(owner=cast.owner, team=cast.team)
    SegmentMember.objects.create(segment=segment, contact=contact)
    segment.some_contact = contact
    return segment


def test_segment_members_are_changed_only_by_those_who_may_change_the_segment(client, marketing):
    check_permission_matrix(
        client,
        marketing,
        url=lambda s: reverse("campaigns:segment_add_member", args=[s.pk]),
        make_record=_static_segment,
        expect=CHANGE_POST,
        method="post",
        data=lambda s: {"contact": s.some_contact.pk},
    )
    # Removing a member also needs sight of the contact: the share of the segment alone shows it
    # not (404), as it shows no contact.
    check_permission_matrix(
        client,
        marketing,
        url=lambda s: reverse("campaigns:segment_remove_member", args=[s.pk, s.some_contact.pk]),
        make_record=_static_segment,
        expect={**CHANGE_POST, "share_editor": 404},
        method="post",
    )


def test_the_progress_poll_shows_only_what_the_page_shows(client, marketing):
    check_permission_matrix(
        client,
        marketing,
        url=lambda c: c.get_absolute_url() + "?part=progress",
        make_record=_campaign,
        expect=SEE,
        htmx=True,
    )


def test_the_segment_count_is_for_roles_that_may_see_segments(client, marketing):
    url = reverse("campaigns:segment_estimate") + "?c-city=上海"
    for role, status in {"owner": 200, "auditor": 200, "support_agent": 403, "outsider": 200}.items():
        client.force_login(getattr(marketing, role))
        assert client.get(url).status_code == status, role
    client.logout()
    assert client.get(url).status_code == 302


def test_the_pages_run_a_fixed_number_of_queries(client, marketing, django_assert_max_num_queries):
    from campaigns.models import Delivery, Event
    from customers.tests.factories import ContactFactory

    campaign = _campaign(marketing)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENT, started_at=campaign.created_at)
    campaign.refresh_from_db()

    def grow(n):
        for _ in range(n):
            contact = ContactFactory(owner=marketing.owner, team=marketing.team, company__city="上海")
            delivery = Delivery.objects.create(
                campaign=campaign, contact=contact, email=contact.email, status="sent", sent_at=campaign.started_at
            )
            Event.objects.create(campaign=campaign, delivery=delivery, kind=Event.Kind.OPEN)
            Campaign.objects.create(owner=marketing.owner, team=marketing.team, name="x", segment=campaign.segment)

    grow(2)
    client.force_login(marketing.owner)
    pages = [
        reverse("campaigns:campaign_list"),
        campaign.get_absolute_url(),
        reverse("campaigns:segment_list"),
        campaign.segment.get_absolute_url(),
    ]
    counts = {}
    for url in pages:
        client.get(url)
        with django_assert_max_num_queries(60) as few:
            client.get(url)
        counts[url] = len(few.captured_queries)
    grow(10)
    for url in pages:
        with django_assert_max_num_queries(counts[url]):
            assert client.get(url).status_code == 200


def test_the_campaign_page_names_only_segments_the_viewer_may_see(client, marketing):
    campaign = _campaign(marketing)
    from crm.services import record_share

    record_share(obj=campaign, recipient=marketing.share_viewer, level="view", actor=marketing.admin)
    client.force_login(marketing.share_viewer)
    page = client.get(campaign.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert campaign.segment.name not in page and "A segment you may not see" in page
    listed = client.get(reverse("campaigns:campaign_list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert campaign.name in listed and campaign.segment.name not in listed
    client.force_login(marketing.owner)
    assert campaign.segment.name in client.get(campaign.get_absolute_url()).content.decode()
    assert campaign.segment.name in client.get(reverse("campaigns:campaign_list")).content.decode()
