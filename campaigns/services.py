"""Writes of campaigns and segments: every one through the write kit, audited; the send's
workflow (start, schedule, pause, resume, cancel) and test sends."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import get_connection
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns import content
from campaigns.models import Campaign, Segment, SegmentMember
from campaigns.segments import audience, estimated_count
from crm.audit import acting_as, log_event
from crm.outbox import queue_task
from crm.permissions import restrict
from crm.writes import ensure_may, record_create, record_delete, record_update
from customers.models import Contact

SEGMENT_FIELDS = ("name", "description", "kind", "criteria", "owner", "team")
# Contacts or leads: chosen when the segment is made, never changed (members and conditions are of that kind).
SEGMENT_CREATE_FIELDS = (*SEGMENT_FIELDS, "people")
CAMPAIGN_FIELDS = (
    "name",
    "channel",
    "sms_body",
    "description",
    "segment",
    "from_name",
    "reply_to",
    "subject",
    "preheader",
    "html_body",
    "text_body",
    "second_language",
    "second_subject",
    "second_preheader",
    "second_html_body",
    "second_text_body",
    "subject_b",
    "ab_share",
    "ab_hours",
    "ab_metric",
    "scheduled_at",
    "cost",
    "conversion_days",
    "lead_source",
    "owner",
    "team",
)


# --- segments ----------------------------------------------------------------------------------


def segment_create(*, actor, **data) -> Segment:
    return record_create(model=Segment, actor=actor, data=data, fields=SEGMENT_CREATE_FIELDS)


def segment_update(*, segment: Segment, actor, **data) -> Segment:
    return record_update(record=segment, actor=actor, data=data, fields=SEGMENT_FIELDS)


def segment_delete(*, segment: Segment, actor) -> None:
    record_delete(record=segment, actor=actor)


@transaction.atomic
def segment_add_members(*, segment: Segment, actor, contacts) -> int:
    """Put people the actor may see on a static segment (the contact and lead lists' bulk action):
    `contacts` is a queryset of the segment's kind of people, contacts or leads."""
    ensure_may(actor, segment, "change")
    if segment.kind != Segment.Kind.STATIC:
        raise ValidationError(_("Only a static segment takes people one by one."))
    if contacts.model is not segment.person_model:
        raise ValidationError(
            _("This segment holds leads, not contacts.")
            if segment.of_leads
            else _("This segment holds contacts, not leads.")
        )
    column = segment.member_field
    ids = list(restrict(contacts, actor).values_list("pk", flat=True))
    present = set(
        SegmentMember.objects.filter(segment=segment, **{f"{column}__in": ids}).values_list(column, flat=True)
    )
    new = [SegmentMember(segment=segment, **{column: pk}) for pk in ids if pk not in present]
    SegmentMember.objects.bulk_create(new, ignore_conflicts=True)
    if new:
        log_event(segment, actor=actor, event="segment_members_added", changes={"members": ["", str(len(new))]})
    return len(new)


def segment_add_contact(*, segment: Segment, actor, contact) -> int:
    """One person (a contact, or a lead on a segment of leads) onto a static segment (the segment
    page's form): 1 when added, 0 when already there."""
    model = type(contact)
    return segment_add_members(segment=segment, actor=actor, contacts=model.objects.filter(pk=contact.pk))


@transaction.atomic
def segment_remove_member(*, segment: Segment, actor, contact) -> None:
    """Take a person (contact or lead) off a static segment."""
    ensure_may(actor, segment, "change")
    column = segment.member_field
    if type(contact) is not segment.person_model:
        raise ValidationError(_("Not on this segment."))
    if SegmentMember.objects.filter(segment=segment, **{column: contact.pk}).delete()[0]:
        log_event(segment, actor=actor, event="segment_member_removed", changes={"members": [str(contact.pk), ""]})


def segment_size(segment: Segment, user) -> tuple[int, bool]:
    return estimated_count(audience(segment, user))


# --- campaigns ---------------------------------------------------------------------------------


def _check_audience(actor, data: dict) -> None:
    """A campaign's segments must be ones the actor may see."""
    for segment in [data.get("segment"), *(data.get("exclude_segments") or [])]:
        if segment is not None and not restrict(Segment.objects.filter(pk=segment.pk), actor).exists():
            raise ValidationError({"segment": _("Choose a segment you may see.")})


def _checked(campaign: Campaign, original=None) -> None:
    content.check_content(campaign)


def campaign_create(*, actor, **data) -> Campaign:
    _check_audience(actor, data)
    return record_create(
        model=Campaign, actor=actor, data=data, fields=CAMPAIGN_FIELDS, m2m=("exclude_segments",), before_save=_checked
    )


def campaign_update(*, campaign: Campaign, actor, **data) -> Campaign:
    if not campaign.editable:
        raise ValidationError(_("A campaign that has started sending can no longer be edited."))
    _check_audience(actor, data)
    return record_update(
        record=campaign, actor=actor, data=data, fields=CAMPAIGN_FIELDS, m2m=("exclude_segments",), before_save=_checked
    )


def campaign_delete(*, campaign: Campaign, actor) -> None:
    if campaign.status in Campaign.RUNNING_STATUSES:
        raise ValidationError(_("Cancel the send before deleting the campaign."))
    record_delete(record=campaign, actor=actor)


def _ready_to_send(campaign: Campaign) -> None:
    errors = []
    if campaign.segment_id is None:
        errors.append(_("Choose the audience (a segment) first."))
    if campaign.is_sms:
        if not campaign.sms_body.strip():
            errors.append(_("Write the text message first."))
    else:
        if not campaign.subject.strip():
            errors.append(_("Write a subject first."))
        if not campaign.html_body.strip():
            errors.append(_("Write the message first."))
    if errors:
        raise ValidationError(errors)
    content.check_content(campaign)


def _set_status(campaign: Campaign, actor, status: str, **fields) -> Campaign:
    data = {"status": status, **fields}
    return record_update(record=campaign, actor=actor, data=data, fields=tuple(data))


@transaction.atomic
def campaign_send(*, campaign: Campaign, actor, link_base: str = "") -> Campaign:
    """Send now, or at the campaign's scheduled time when that is still ahead. Audited with the
    expected number of recipients. `link_base` is the CRM's address the request came to, for the
    tracking and unsubscribe links when SITE_URL is not set."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    # The audience is read as the owner sees it: only they, their team's manager or an
    # administrator may start it (a share grants editing, not the owner's reach).
    ensure_may(
        actor, campaign, "assign", _("Only the campaign's owner, their team's manager or an administrator may send it.")
    )
    if campaign.status not in Campaign.EDITABLE_STATUSES:
        raise ValidationError(_("This campaign has already been sent or is being sent."))
    _ready_to_send(campaign)
    link_base = settings.SITE_URL or link_base
    if not link_base.startswith(("http://", "https://")):
        raise ValidationError(
            _("Set SITE_URL to the CRM's address: the unsubscribe and tracking links of the e-mails need it.")
        )
    campaign = _set_status(campaign, actor, campaign.status, link_base=link_base.rstrip("/")[:200])
    size, estimated = segment_size(campaign.segment, campaign.owner)
    if campaign.scheduled_at and campaign.scheduled_at > timezone.now():
        campaign = _set_status(campaign, actor, Campaign.Status.SCHEDULED)
        log_event(campaign, actor=actor, event="campaign_scheduled", changes={"recipient_count": ["", str(size)]})
        return campaign
    return _start(campaign, actor, size)


def _prepare_task():
    # By name: campaigns.tasks calls these services (beat starts scheduled sends).
    from celery import current_app

    return current_app.tasks["campaigns.tasks.prepare_campaign"]


def _start(campaign: Campaign, actor, size: int) -> Campaign:
    links = content.tracked_links(campaign.html_body, campaign.second_html_body)
    campaign = _set_status(campaign, actor, Campaign.Status.SENDING, started_at=timezone.now(), links=links)
    log_event(campaign, actor=actor, event="campaign_send_started", changes={"recipient_count": ["", str(size)]})
    queue_task(_prepare_task(), campaign.pk)
    return campaign


@transaction.atomic
def start_scheduled(*, campaign_id: int) -> bool:
    """Start a scheduled campaign whose time has come (beat); False when it is not due or not scheduled."""
    campaign = Campaign.objects.select_for_update().select_related("owner", "segment").get(pk=campaign_id)
    if campaign.status != Campaign.Status.SCHEDULED or (
        campaign.scheduled_at and campaign.scheduled_at > timezone.now()
    ):
        return False
    actor = campaign.owner
    try:
        _ready_to_send(campaign)
    except ValidationError:
        with acting_as(actor):
            campaign = _set_status(campaign, actor, Campaign.Status.DRAFT)
        return False
    size, _estimated = segment_size(campaign.segment, actor)
    with acting_as(actor):
        _start(campaign, actor, size)
    return True


@transaction.atomic
def campaign_pause(*, campaign: Campaign, actor) -> Campaign:
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status != Campaign.Status.SENDING:
        raise ValidationError(_("Only a campaign that is sending can be paused."))
    return _set_status(campaign, actor, Campaign.Status.PAUSED)


@transaction.atomic
def campaign_resume(*, campaign: Campaign, actor) -> Campaign:
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status != Campaign.Status.PAUSED:
        raise ValidationError(_("Only a paused campaign can be resumed."))
    campaign = _set_status(campaign, actor, Campaign.Status.SENDING)
    queue_task(_prepare_task(), campaign.pk)  # lists any recipient still missing, then sends
    return campaign


@transaction.atomic
def campaign_cancel(*, campaign: Campaign, actor) -> Campaign:
    """Stop for good: what was sent stays sent, nothing more goes out."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status not in (Campaign.Status.SCHEDULED, Campaign.Status.SENDING, Campaign.Status.PAUSED):
        raise ValidationError(_("Only a scheduled or running campaign can be cancelled."))
    from campaigns.sending import recount

    campaign = _set_status(campaign, actor, Campaign.Status.CANCELLED, finished_at=timezone.now())
    recount(campaign)
    return campaign


def campaign_test_send(*, campaign: Campaign, actor, contact: Contact | None = None) -> str:
    """Mail the message to the actor, filled in for `contact` (one they may see) or a sample person.
    Links are not tracked and nothing is recorded but the audit entry."""
    from email.utils import formataddr

    from django.core.mail import EmailMultiAlternatives

    from campaigns.sending import from_address

    ensure_may(actor, campaign, "change", _("You may not send this campaign."))
    if not actor.email:
        raise ValidationError(_("Your account has no e-mail address to send the test to."))
    if contact is not None and not restrict(Contact.objects.filter(pk=contact.pk), actor).exists():
        raise PermissionDenied
    context = (
        content.recipient_context(contact=contact, sender=campaign.owner, campaign=campaign)
        if contact is not None
        else content.sample_context(campaign)
    )
    rendered = content.render_message(campaign, context)
    message = EmailMultiAlternatives(
        subject=f"[{_('Test')}] {rendered.subject}",
        body=rendered.text,
        from_email=from_address(campaign),
        to=[formataddr((actor.get_full_name(), actor.email))],
        connection=get_connection(),
    )
    message.attach_alternative(rendered.html, "text/html")
    message.send()
    log_event(campaign, actor=actor, event="campaign_test_sent")
    return actor.email


def bulk_add_to_segment(*, queryset, actor, data: dict) -> int:
    """The contact and lead lists' bulk action: the selected people join a static segment."""
    return segment_add_members(segment=data["segment"], actor=actor, contacts=queryset)
