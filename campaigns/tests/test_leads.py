"""Leads as campaign recipients: segments of leads (conditions and static lists), sends through a
real SMTP server with the same suppression as contacts, opens and clicks scoring the lead, the
unsubscribe marking it, and leads a campaign brings through a web form carrying it as origin."""

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from campaigns import selectors, sending, services, tracking
from campaigns.models import Campaign, Delivery, Segment, SegmentMember
from campaigns.tests.conftest import SITE
from campaigns.tests.factories import SegmentFactory
from crm import roles
from crm.testing import build_cast
from crm.tests.factories import TeamFactory, UserFactory
from customers.models import Interaction
from customers.tests.factories import ContactFactory
from pipeline.models import Lead, LeadEvent, ScoringRule
from pipeline.tests.factories import LeadFactory, LeadSourceFactory, ScoringRuleFactory, WebFormFactory

pytestmark = pytest.mark.django_db
Reason = Delivery.Reason


@pytest.fixture
def team():
    return TeamFactory()


@pytest.fixture
def marketer(team):
    """Manages the team, so sees its leads."""
    return UserFactory(marketing=True, team=team, team_role="manager")


def lead(marketer, team, **fields):
    fields.setdefault("email_opt_in", True)
    return LeadFactory(owner=marketer, team=team, **fields)


def lead_segment(marketer, team, **fields):
    fields.setdefault("criteria", {})
    return Segment.objects.create(owner=marketer, team=team, name="线索 Leads", people=Segment.People.LEADS, **fields)


def send(campaign, marketer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.campaign_send(campaign=campaign, actor=marketer)
    campaign.refresh_from_db()
    return campaign


def lead_campaign(marketer, team, segment, **fields):
    fields.setdefault(
        "html_body", '<p>{{ contact.name }} · {{ contact.company }}</p><a href="https://example.com/x">x</a>'
    )
    return Campaign.objects.create(
        owner=marketer,
        team=team,
        name="线索培育 Nurture",
        segment=segment,
        subject="{{ contact.name }}，您好",
        **fields,
    )


def test_a_dynamic_segment_of_leads_reads_its_conditions_over_visible_leads(marketer, team):
    wanted = lead(marketer, team, city="深圳", score=40)
    lead(marketer, team, city="深圳", score=5)  # under the score
    lead(marketer, team, city="上海", score=40)  # another city
    lead(marketer, team, city="深圳", score=40, status=Lead.Status.DISQUALIFIED)
    LeadFactory(in_team=True, city="深圳", score=40, email_opt_in=True)  # another team's: not visible
    segment = lead_segment(marketer, team, criteria={"city": "深圳", "min_score": 10, "statuses": ["new"]})

    from campaigns.segments import audience

    assert list(audience(segment, marketer)) == [wanted]
    assert services.segment_size(segment, marketer) == (1, False)


def test_leads_are_mailed_once_each_with_their_own_merge_fields_and_the_same_suppression(
    marketer, team, smtp_inbox, django_capture_on_commit_callbacks
):
    mailed = lead(marketer, team, family_name="周", given_name="杰", company_name="星河科技")
    twin = lead(marketer, team, email=mailed.email)  # same address: one message
    no_consent = lead(marketer, team, email_opt_in=False)
    gone = lead(marketer, team, unsubscribed=True)
    hidden = LeadFactory(in_team=True, email_opt_in=True)
    static = SegmentFactory(owner=marketer, team=team, kind=Segment.Kind.STATIC, people=Segment.People.LEADS)
    services.segment_add_members(
        segment=static,
        actor=marketer,
        contacts=Lead.objects.filter(pk__in=[mailed.pk, twin.pk, no_consent.pk, gone.pk]),
    )
    # A member out of the sender's reach (added by someone who saw it): listed as left out.
    SegmentMember.objects.create(segment=static, lead=hidden)
    campaign = send(lead_campaign(marketer, team, static), marketer, django_capture_on_commit_callbacks)

    assert campaign.status == Campaign.Status.SENT
    reasons = dict(Delivery.objects.filter(campaign=campaign).values_list("lead_id", "reason"))
    assert reasons == {
        mailed.pk: "",
        twin.pk: Reason.DUPLICATE,
        no_consent.pk: Reason.NO_CONSENT,
        gone.pk: Reason.UNSUBSCRIBED,
        hidden.pk: Reason.NOT_VISIBLE,
    }
    assert not Delivery.objects.filter(campaign=campaign, contact__isnull=False).exists()
    assert [m.recipients for m in smtp_inbox.messages] == [[mailed.email]]
    body = smtp_inbox.messages[0].as_string()
    assert "List-Unsubscribe" in body
    html = next(p for p in smtp_inbox.messages[0].walk() if p.get_content_type() == "text/html")
    assert "周杰 · 星河科技" in html.get_payload(decode=True).decode()
    # Leads have no customer timeline: nothing is written there for them.
    assert not Interaction.objects.filter(kind=Interaction.Kind.CAMPAIGN).exists()


def test_a_contact_segment_left_out_keeps_a_lead_with_the_same_address_out(
    marketer, team, smtp_inbox, django_capture_on_commit_callbacks
):
    customer = ContactFactory(owner=marketer, team=team, opted_in=True)
    same_person = lead(marketer, team, email=customer.email)
    other = lead(marketer, team)
    customers = SegmentFactory(owner=marketer, team=team, contacts=[customer])
    campaign = lead_campaign(marketer, team, lead_segment(marketer, team))
    campaign.exclude_segments.add(customers)
    send(campaign, marketer, django_capture_on_commit_callbacks)

    reasons = dict(Delivery.objects.filter(campaign=campaign).values_list("lead_id", "reason"))
    assert reasons == {same_person.pk: Reason.EXCLUDED, other.pk: ""}
    assert [m.recipients for m in smtp_inbox.messages] == [[other.email]]


def test_opens_and_clicks_of_a_lead_raise_its_score_once_each(
    client, marketer, team, smtp_inbox, django_capture_on_commit_callbacks
):
    ScoringRuleFactory(behaviour=True, event=ScoringRule.Event.CAMPAIGN_OPEN, points=5)
    ScoringRuleFactory(behaviour=True, event=ScoringRule.Event.CAMPAIGN_CLICK, points=20)
    reader = lead(marketer, team, industry="制造")
    campaign = send(
        lead_campaign(marketer, team, lead_segment(marketer, team)), marketer, django_capture_on_commit_callbacks
    )
    delivery = Delivery.objects.get(campaign=campaign, lead=reader)

    for _ in range(2):
        client.get(reverse("campaigns:track_open", args=[tracking.token_for(delivery.pk, purpose="open")]))
        response = client.get(reverse("campaigns:track_click", args=[tracking.token_for(delivery.pk, 0)]))
        assert response.status_code == 302 and response["Location"] == "https://example.com/x"

    reader.refresh_from_db()
    assert sorted(LeadEvent.objects.filter(lead=reader).values_list("event", flat=True)) == [
        "campaign_click",
        "campaign_open",
    ]
    assert reader.score == 25
    campaign.refresh_from_db()
    assert (campaign.opened_count, campaign.clicked_count) == (1, 1)
    assert not Interaction.objects.filter(kind=Interaction.Kind.CAMPAIGN).exists()


def test_a_lead_unsubscribing_is_marked_and_audited(
    client, marketer, team, smtp_inbox, django_capture_on_commit_callbacks
):
    reader = lead(marketer, team, preferred_language="en")
    campaign = send(
        lead_campaign(marketer, team, lead_segment(marketer, team)), marketer, django_capture_on_commit_callbacks
    )
    delivery = Delivery.objects.get(campaign=campaign, lead=reader)
    url = reverse("campaigns:unsubscribe", args=[tracking.token_for(delivery.pk)])

    page = client.get(url)
    assert page.status_code == 200 and page["Content-Language"] == "en"
    assert client.post(url).status_code == 200

    reader.refresh_from_db()
    assert reader.unsubscribed and reader.unsubscribed_at
    assert LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Lead), object_pk=str(reader.pk)
    ).exists()


def test_a_lead_reached_through_a_campaign_link_to_a_web_form_carries_the_campaign(
    client, marketer, team, smtp_inbox, django_capture_on_commit_callbacks
):
    form = WebFormFactory(team=team)
    UserFactory(role=roles.ADMINISTRATOR)  # who gets a web-form lead no rule places
    trade_show = LeadSourceFactory(code="trade_show")
    form_url = SITE + reverse("pipeline:web_form", args=[form.slug]) + "?lang=zh"
    html = f'<a href="{form_url}">报名 Sign up</a> <a href="https://example.com/x">x</a>'
    customer = ContactFactory(owner=marketer, team=team, opted_in=True)
    campaign = Campaign.objects.create(
        owner=marketer,
        team=team,
        name="展会邀请 Invitation",
        segment=SegmentFactory(owner=marketer, team=team, contacts=[customer]),
        subject="邀请",
        html_body=html,
        lead_source=trade_show,
    )
    send(campaign, marketer, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get(campaign=campaign)

    # The form's link gets the recipient's origin token; other addresses are left as written.
    to_form = client.get(reverse("campaigns:track_click", args=[tracking.token_for(delivery.pk, 0)]))["Location"]
    assert to_form.startswith(form_url + "&origin=")
    elsewhere = client.get(reverse("campaigns:track_click", args=[tracking.token_for(delivery.pk, 1)]))["Location"]
    assert elsewhere == "https://example.com/x"

    path = to_form.removeprefix(SITE)
    page = client.get(path)
    origin = path.rpartition("origin=")[2]
    assert f'name="origin" value="{origin}"' in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            path, {"family_name": "赵", "company_name": "远航物流", "email": "zhao@example.com", "origin": origin}
        )
    assert response.status_code == 200, response.content.decode()[-3000:]
    created = Lead.objects.get(email="zhao@example.com")
    assert created.source_ref == f"campaigns.campaign:{campaign.pk}"
    assert created.source == trade_show
    assert selectors.campaign_results(Campaign.objects.get(pk=campaign.pk))["leads"] == 1
    # The lead's page names the campaign, linked for those who may see it (its owner, an
    # administrator here); to others only that a campaign brought it.
    client.force_login(created.owner)
    text = client.get(created.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert campaign.get_absolute_url() in text and "展会邀请 Invitation" in text
    client.logout()
    with translation.override("en"):
        assert tracking.name_origin(created.source_ref, UserFactory()) == ("A marketing campaign", "")

    # An altered token, or an unsubscribe token, names no campaign: the form's own source.
    for forged in (origin[:-2] + "xx", tracking.token_for(delivery.pk)):
        client.post(
            path,
            {"family_name": "钱", "company_name": "某公司", "email": f"q{len(forged)}@example.com", "origin": forged},
        )
    for other in Lead.objects.filter(family_name="钱"):
        assert other.source_ref == "" and other.source == form.source


def test_a_lead_recipient_converted_and_won_counts_as_a_conversion(
    marketer, team, smtp_inbox, django_capture_on_commit_callbacks
):
    from pipeline.tests.factories import OpportunityFactory

    reader = lead(marketer, team)
    campaign = send(
        lead_campaign(marketer, team, lead_segment(marketer, team)), marketer, django_capture_on_commit_callbacks
    )
    delivery = Delivery.objects.get(campaign=campaign, lead=reader)
    tracking.record_click(delivery, 0)
    OpportunityFactory(owner=marketer, team=team, source_lead=reader, won=True, amount=5000)

    results = selectors.campaign_results(Campaign.objects.get(pk=campaign.pk))
    assert results["conversions"] == 1 and results["revenue"] == 5000


def test_a_segment_of_leads_takes_only_leads_and_keeps_its_kind(marketer, team):
    static = SegmentFactory(owner=marketer, team=team, kind=Segment.Kind.STATIC, people=Segment.People.LEADS)
    contact = ContactFactory(owner=marketer, team=team)
    with pytest.raises(ValidationError):
        services.segment_add_members(
            segment=static, actor=marketer, contacts=type(contact).objects.filter(pk=contact.pk)
        )
    services.segment_update(segment=static, actor=marketer, people=Segment.People.CONTACTS, name="改名 Renamed")
    static.refresh_from_db()
    assert static.people == Segment.People.LEADS and static.name == "改名 Renamed"


@pytest.fixture
def marketing():
    return build_cast(rep_role=roles.MARKETING, manager_role=roles.MARKETING)


def test_the_segment_pages_build_and_show_a_segment_of_leads(client, marketing):
    mine = LeadFactory(owner=marketing.owner, team=marketing.team, status=Lead.Status.CONTACTED, city="杭州")
    LeadFactory(owner=marketing.outsider, team=marketing.other_team, status=Lead.Status.CONTACTED, city="杭州")
    client.force_login(marketing.owner)

    swapped = client.get(reverse("campaigns:segment_conditions") + "?people=leads", HTTP_HX_REQUEST="true")
    assert swapped.status_code == 200 and 'name="c-min_score"' in swapped.content.decode()
    estimate = client.get(reverse("campaigns:segment_estimate") + "?people=leads&c-statuses=contacted&c-city=杭州")
    assert "1 lead" in estimate.content.decode() or "1 个线索" in estimate.content.decode()
    bad = client.get(reverse("campaigns:segment_estimate") + "?people=leads&c-min_score=many")
    assert bad.status_code == 200 and "text-danger" in bad.content.decode()

    response = client.post(
        reverse("campaigns:segment_create"),
        {"name": "杭州线索", "kind": "dynamic", "people": "leads", "c-statuses": ["contacted"], "c-city": "杭州"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    segment = Segment.objects.get(name="杭州线索")
    assert segment.people == "leads" and segment.criteria == {"statuses": ["contacted"], "city": "杭州"}
    page = client.get(segment.get_absolute_url())
    assert page.status_code == 200 and mine.display_name in page.content.decode()
    edit = client.get(reverse("campaigns:segment_edit", args=[segment.pk]))
    assert edit.status_code == 200 and 'name="c-min_score"' in edit.content.decode()


def test_leads_join_a_static_segment_from_the_lead_list_and_the_segment_page(client, marketing):
    mine = [LeadFactory(owner=marketing.owner, team=marketing.team) for _ in range(2)]
    hidden = LeadFactory(owner=marketing.outsider, team=marketing.other_team)
    segment = Segment.objects.create(
        owner=marketing.owner, team=marketing.team, name="展会线索", kind="static", people="leads"
    )
    contacts_segment = Segment.objects.create(owner=marketing.owner, team=marketing.team, name="客户", kind="static")
    client.force_login(marketing.owner)

    page = client.get(reverse("pipeline:lead_list") + "?action=add_to_segment")
    assert page.status_code == 200
    text = page.content.decode()
    assert "展会线索" in text and "客户" not in text.split("add_to_segment", 1)[1].split("</form>", 1)[0]
    response = client.post(
        reverse("pipeline:lead_list"),
        {"action": "add_to_segment", "ids": [x.pk for x in [*mine, hidden]], "segment": segment.pk},
    )
    assert response.status_code == 302
    assert set(SegmentMember.objects.filter(segment=segment).values_list("lead_id", flat=True)) == {x.pk for x in mine}
    # A segment of contacts is not offered, and refused if named.
    client.post(
        reverse("pipeline:lead_list"), {"action": "add_to_segment", "ids": [mine[0].pk], "segment": contacts_segment.pk}
    )
    assert not SegmentMember.objects.filter(segment=contacts_segment).exists()

    detail = client.get(segment.get_absolute_url())
    assert detail.status_code == 200 and 'name="lead"' in detail.content.decode()
    another = LeadFactory(owner=marketing.owner, team=marketing.team)
    client.post(reverse("campaigns:segment_add_member", args=[segment.pk]), {"lead": another.pk})
    assert SegmentMember.objects.filter(segment=segment, lead=another).exists()
    client.post(reverse("campaigns:segment_remove_member", args=[segment.pk, another.pk]))
    assert not SegmentMember.objects.filter(segment=segment, lead=another).exists()
    # Someone else's lead cannot be added or named for removal.
    client.post(reverse("campaigns:segment_add_member", args=[segment.pk]), {"lead": hidden.pk})
    assert not SegmentMember.objects.filter(segment=segment, lead=hidden).exists()
    assert client.post(reverse("campaigns:segment_remove_member", args=[segment.pk, hidden.pk])).status_code == 404


def test_the_campaign_page_names_lead_recipients_and_the_leads_it_brought(
    client, marketer, team, smtp_inbox, django_capture_on_commit_callbacks
):
    reader = lead(marketer, team)
    campaign = send(
        lead_campaign(marketer, team, lead_segment(marketer, team)), marketer, django_capture_on_commit_callbacks
    )
    tracking.record_click(Delivery.objects.get(campaign=campaign, lead=reader), 0)
    Lead.objects.filter(pk=lead(marketer, team).pk).update(source_ref=f"campaigns.campaign:{campaign.pk}")
    client.force_login(marketer)
    page = client.get(campaign.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en")
    text = page.content.decode()
    assert page.status_code == 200
    assert reader.get_absolute_url() in text and "New leads" in text


def test_marketing_sees_the_leads_of_its_reach(client, marketing):
    LeadFactory(owner=marketing.owner, team=marketing.team, family_name="孙")
    client.force_login(marketing.owner)
    page = client.get(reverse("pipeline:lead_list"))
    assert page.status_code == 200 and "孙" in page.content.decode()


def test_consent_a_lead_gives_is_stamped_and_goes_with_it_when_converted(marketer, team):
    from pipeline import leads

    rep = UserFactory(team=team)
    prospect = leads.lead_create(actor=rep, owner=rep, team=team, family_name="吴", email="wu@example.com")
    assert not prospect.email_opt_in and prospect.email_opt_in_at is None
    leads.lead_update(lead=prospect, actor=rep, email_opt_in=True, email_opt_in_source="展会 Trade show")
    prospect.refresh_from_db()
    agreed = prospect.email_opt_in_at
    assert agreed is not None and prospect.email_opt_in_source == "展会 Trade show"
    leads.lead_set_status(lead=prospect, actor=rep, status=Lead.Status.QUALIFIED)

    converted = leads.lead_convert(lead=prospect, actor=rep, create_contact=True)
    contact = converted.converted_contact
    assert contact.email_opt_in and contact.email_opt_in_at == agreed
    assert contact.email_opt_in_source == "展会 Trade show"


def test_a_web_form_may_ask_for_consent_and_records_where_it_was_given(client, team):
    UserFactory(role=roles.ADMINISTRATOR)
    form = WebFormFactory(team=team, fields=["family_name", "company_name", "email", "email_opt_in"])
    url = reverse("pipeline:web_form", args=[form.slug])
    page = client.get(url)
    assert 'type="checkbox"' in page.content.decode() and 'name="email_opt_in"' in page.content.decode()
    client.post(url, {"family_name": "郑", "company_name": "云帆", "email": "zheng@example.com", "email_opt_in": "on"})
    client.post(url, {"family_name": "冯", "company_name": "云帆", "email": "feng@example.com"})
    agreed, silent = Lead.objects.get(email="zheng@example.com"), Lead.objects.get(email="feng@example.com")
    assert agreed.email_opt_in and agreed.email_opt_in_at and form.name in agreed.email_opt_in_source
    assert not silent.email_opt_in and silent.email_opt_in_source == ""


def test_a_converted_lead_is_reached_as_its_contact_not_as_a_lead(
    marketer, team, smtp_inbox, django_capture_on_commit_callbacks
):
    from pipeline import leads

    lead(marketer, team, status=Lead.Status.CONVERTED)
    later = lead(marketer, team)
    still = lead(marketer, team)
    segment = lead_segment(marketer, team)
    from campaigns.segments import audience

    assert set(audience(segment, marketer)) == {later, still}
    campaign = lead_campaign(marketer, team, segment, status=Campaign.Status.SENDING)
    sending.prepare(campaign)
    # Converted after the recipients were listed: left out when its turn comes.
    admin = UserFactory(role=roles.ADMINISTRATOR)  # converting makes a deal: sales' or an administrator's
    leads.lead_set_status(lead=later, actor=admin, status=Lead.Status.QUALIFIED)
    leads.lead_convert(lead=later, actor=admin, create_contact=True)
    sending.send_some(campaign.pk)
    reasons = dict(Delivery.objects.filter(campaign=campaign).values_list("lead_id", "reason"))
    assert reasons == {later.pk: Reason.CONVERTED, still.pk: ""}
    assert [m.recipients for m in smtp_inbox.messages] == [[still.email]]


def test_converting_into_an_existing_contact_carries_what_the_lead_refused(marketer, team):
    from pipeline import leads

    rep = UserFactory(team=team)
    contact = ContactFactory(owner=rep, team=team, opted_in=True, email="same@example.com")
    prospect = leads.lead_create(actor=rep, owner=rep, team=team, family_name="陈", email="same@example.com")
    leads.lead_update(lead=prospect, actor=rep, unsubscribed=True, do_not_contact=True)
    prospect.refresh_from_db()
    leads.lead_set_status(lead=prospect, actor=rep, status=Lead.Status.QUALIFIED)
    leads.lead_convert(lead=prospect, actor=rep, contact=contact)
    contact.refresh_from_db()
    assert contact.unsubscribed and contact.do_not_contact
    assert contact.unsubscribed_at == prospect.unsubscribed_at
    assert LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(type(contact)), object_pk=str(contact.pk)
    ).exists()


def test_consent_on_a_web_form_is_never_required(client, team):
    from pipeline.admin import WebFormAdminForm

    UserFactory(role=roles.ADMINISTRATOR)
    form = WebFormFactory(
        team=team, fields=["family_name", "email", "email_opt_in"], required_fields=["email", "email_opt_in"]
    )
    url = reverse("pipeline:web_form", args=[form.slug])
    response = client.post(url, {"family_name": "韩", "email": "han@example.com"})
    assert response.status_code == 200
    assert not Lead.objects.get(email="han@example.com").email_opt_in
    admin_form = WebFormAdminForm(
        data={
            "name": "表单",
            "slug": "consent-required",
            "fields": ["email", "email_opt_in"],
            "required_fields": ["email_opt_in"],
            "team": team.pk,
            "title": "t",
            "thank_you_text": "x",
            "active": "on",
        }
    )
    assert not admin_form.is_valid()


def test_a_form_link_with_dot_segments_gets_no_origin():
    tricky = SITE + reverse("pipeline:web_form", args=["abc"]) + "../../../accounts/login/?next=/"
    assert tracking.origin_url(tricky, 1) == tricky
    plain = SITE + reverse("pipeline:web_form", args=["abc"])
    assert tracking.origin_url(plain, 1).startswith(plain + "?origin=")
