"""Campaign and segment pages: lists and record pages from the screen kit, and the send's
workflow (send, pause, resume, cancel, test send), the preview and the live progress. Thin:
parse, check, one service call."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from campaigns import content, services, sms
from campaigns.forms import (
    CampaignFilterForm,
    CampaignForm,
    SegmentFilterForm,
    SegmentForm,
    TestSendForm,
    member_form_class,
)
from campaigns.models import Campaign, Segment
from campaigns.segments import conditions_audience, conditions_form_class, estimated_count
from campaigns.selectors import (
    campaign_for_detail,
    campaign_list,
    campaign_results,
    recent_events,
    segment_campaigns,
    segment_list,
    segment_sample,
    visible_segment_ids,
)
from campaigns.sending import subject_test_rates
from crm.lists import Column, ListSpec
from crm.params import QueryParams
from crm.permissions import can, get_object_for_user, has_role_permission
from crm.screens import Screens, form_errors_text
from customers.models import Contact

STATUS_CLASSES = {
    Campaign.Status.DRAFT: "text-bg-secondary",
    Campaign.Status.SCHEDULED: "text-bg-info",
    Campaign.Status.SENDING: "text-bg-primary",
    Campaign.Status.PAUSED: "text-bg-warning",
    Campaign.Status.SENT: "text-bg-success",
    Campaign.Status.CANCELLED: "text-bg-dark",
}


def _list_context(request) -> dict:
    return {"status_classes": STATUS_CLASSES}


CAMPAIGN_LIST = ListSpec(
    key="campaigns.campaign",
    title=gettext_lazy("Campaigns"),
    model=Campaign,
    selector=campaign_list,
    filter_form=CampaignFilterForm,
    columns=[
        Column("name", gettext_lazy("Name")),
        Column("status", gettext_lazy("Status")),
        Column("segment", gettext_lazy("Audience")),
        Column("sent", pgettext_lazy("campaign results", "Sent")),
        Column("owner", gettext_lazy("Owner")),
        Column("created_at", gettext_lazy("Created"), sort=("-created_at", "-id")),
    ],
    default_sort="-created_at",
    row_template="campaigns/campaign_rows.jinja",
    create_url=reverse_lazy("campaigns:campaign_create"),
    extra_context=_list_context,
)

SEGMENT_LIST = ListSpec(
    key="campaigns.segment",
    title=gettext_lazy("Segments"),
    model=Segment,
    selector=segment_list,
    filter_form=SegmentFilterForm,
    columns=[
        Column("name", gettext_lazy("Name")),
        Column("kind", gettext_lazy("Type")),
        Column("owner", gettext_lazy("Owner")),
        Column("created_at", gettext_lazy("Created"), sort=("-created_at", "-id")),
    ],
    default_sort="-created_at",
    row_template="campaigns/segment_rows.jinja",
    create_url=reverse_lazy("campaigns:segment_create"),
)


# --- segments ----------------------------------------------------------------------------------


def _condition_labels(segment: Segment, user) -> list[tuple[str, str]]:
    """The stored conditions as (label, value) pairs a person reads."""
    form_class = conditions_form_class(segment.people)
    form = form_class(user=user, initial=form_class.initial_for(segment.criteria))
    labels = []
    for name, value in (segment.criteria or {}).items():
        field = form.fields.get(name)
        if field is None:
            continue
        if hasattr(field, "queryset"):
            ids = value if isinstance(value, list) else [value]
            shown = ", ".join(str(obj) for obj in field.queryset.model._default_manager.filter(pk__in=ids)) or "—"
        elif getattr(field, "choices", None):
            chosen = dict(field.choices)
            values = value if isinstance(value, list) else [value]
            shown = ", ".join(str(chosen.get(v, v)) for v in values)
        else:
            shown = str(value)
        labels.append((str(field.label), shown))
    return labels


def segment_context(request, segment: Segment) -> dict:
    user = request.user
    size, estimated = services.segment_size(segment, user)
    may_change = can(user, segment, "change")
    return {
        "conditions": _condition_labels(segment, user),
        "size": size,
        "estimated": estimated,
        "sample": segment_sample(segment, user),
        "campaigns": segment_campaigns(segment, user),
        "member_form": (
            member_form_class(segment)(user=user) if may_change and segment.kind == Segment.Kind.STATIC else None
        ),
    }


def segment_form_context(request, form, record) -> dict:
    return {"conditions_form": form.conditions_form, "people": form.people}


SEGMENT_SCREENS = Screens(
    model=Segment,
    path="segments",
    list=SEGMENT_LIST,
    form=SegmentForm,
    create=services.segment_create,
    update=services.segment_update,
    delete=services.segment_delete,
    detail_template="campaigns/segment_detail.html",
    detail_context=segment_context,
    form_template="campaigns/segment_form.html",
    form_context=segment_form_context,
)


def _people(request) -> str:
    people = request.GET.get("people", "")
    return people if people in Segment.People.values else Segment.People.CONTACTS


@login_required
def segment_estimate(request):
    """The live count beside the segment form: how many people (contacts, or leads) the conditions give now."""
    if not has_role_permission(request.user, Segment, "view"):
        raise PermissionDenied
    people = _people(request)
    form = conditions_form_class(people)(request.GET or None, user=request.user, prefix="c")
    count = estimated = None
    if form.is_valid():
        count, estimated = estimated_count(conditions_audience(form.conditions(), request.user, people))
    response = render(
        request,
        "campaigns/_segment_estimate.html",
        {"count": count, "estimated": estimated, "form": form, "people": people},
    )
    patch_vary_headers(response, ["HX-Request"])
    return response


@login_required
def segment_conditions(request):
    """The segment form's conditions for the people chosen (contacts or leads), swapped in when
    the choice changes."""
    if not has_role_permission(request.user, Segment, "add"):
        raise PermissionDenied
    people = _people(request)
    form = conditions_form_class(people)(user=request.user, prefix="c")
    response = render(request, "campaigns/_segment_conditions.html", {"conditions_form": form, "people": people})
    patch_vary_headers(response, ["HX-Request"])
    return response


@login_required
@require_POST
def segment_add_member(request, pk):
    segment = get_object_for_user(request.user, Segment, pk, "change")
    form = member_form_class(segment)(request.POST, user=request.user)
    if not form.is_valid():
        messages.error(request, form_errors_text(form))
        return redirect(segment)
    try:
        added = services.segment_add_contact(segment=segment, actor=request.user, contact=form.person)
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
    else:
        messages.success(request, _("Added.") if added else _("Already in the segment."))
    return redirect(segment)


@login_required
@require_POST
def segment_remove_member(request, pk, contact_pk):
    """Take a member (a contact, or a lead on a segment of leads) off a static segment."""
    segment = get_object_for_user(request.user, Segment, pk, "change")
    contact = get_object_for_user(request.user, segment.person_model, contact_pk)
    try:
        services.segment_remove_member(segment=segment, actor=request.user, contact=contact)
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
    else:
        messages.success(request, _("Removed from the segment."))
    return redirect(segment)


# --- campaigns ---------------------------------------------------------------------------------


def campaign_context(request, campaign: Campaign) -> dict | HttpResponse:
    if request.htmx and request.GET.get("part") == "progress":
        if campaign.status == Campaign.Status.SENDING:
            return render(request, "campaigns/_progress.html", {"campaign": campaign})
        # The send stopped: the status, the actions and the results change with it.
        context = {**CAMPAIGN_SCREENS.base_context(request, campaign), **_campaign_page(request, campaign)}
        return render(request, "campaigns/_progress_update.html", context)
    return _campaign_page(request, campaign)


def _sms_preview(campaign: Campaign) -> dict:
    """The text message for a sample person and how many messages it takes."""
    from django.core.exceptions import ValidationError as Invalid

    sample = content.sample_context(campaign)
    try:
        body = " ".join(content.render_merge(campaign.sms_body, sample).split())
    except Invalid as error:
        return {"error": " ".join(error.messages)}
    text = f"{body} {settings.CAMPAIGN_SMS_OPT_OUT or _('Reply T to unsubscribe')}".strip()
    return {"text": text, "length": sms.length(text)}


def _campaign_page(request, campaign: Campaign) -> dict:
    user = request.user
    may_send = can(user, campaign, "change")
    return {
        "status_class": STATUS_CLASSES[campaign.status],
        "results": campaign_results(campaign) if campaign.started_at else None,
        "events": recent_events(campaign, user) if campaign.started_at else [],
        "may_send": may_send,
        "may_start": can(user, campaign, "assign"),
        "visible_segments": visible_segment_ids(campaign, user),
        "subject_test": subject_test_rates(campaign) if campaign.testing_subject and campaign.started_at else None,
        "second_language": content.has_second_language(campaign),
        "sms": _sms_preview(campaign) if campaign.is_sms else None,
        "test_form": TestSendForm(user=user) if may_send else None,
    }


CAMPAIGN_SCREENS = Screens(
    model=Campaign,
    path="campaigns",
    list=CAMPAIGN_LIST,
    form=CampaignForm,
    create=services.campaign_create,
    update=services.campaign_update,
    delete=services.campaign_delete,
    detail_queryset=campaign_for_detail,
    detail_template="campaigns/campaign_detail.html",
    detail_context=campaign_context,
    edit_refusal=lambda campaign: (
        "" if campaign.editable else _("A campaign that has started sending can no longer be edited.")
    ),
)

ACTIONS = {
    "send": (services.campaign_send, gettext_lazy("Sending has started.")),
    "pause": (services.campaign_pause, gettext_lazy("Sending is paused.")),
    "resume": (services.campaign_resume, gettext_lazy("Sending goes on.")),
    "cancel": (services.campaign_cancel, gettext_lazy("The campaign is cancelled: nothing more will be sent.")),
}


@login_required
@require_POST
def campaign_action(request, pk, action):
    if action not in ACTIONS:
        return HttpResponse(status=404)
    # Sending reaches the owner's audience: the owner, their team's manager or an administrator
    # starts it, never someone it was shared with. Pausing or cancelling is any editor's to do.
    campaign = get_object_for_user(request.user, Campaign, pk, "assign" if action == "send" else "change")
    service, done = ACTIONS[action]
    extra = {"link_base": request.build_absolute_uri("/")} if action == "send" else {}
    try:
        campaign = service(campaign=campaign, actor=request.user, **extra)
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
        return redirect(campaign)
    if action == "send" and campaign.status == Campaign.Status.SCHEDULED:
        done = _("The campaign is scheduled.")
    messages.success(request, str(done))
    return redirect(campaign)


@login_required
@require_POST
def campaign_test_send(request, pk):
    campaign = get_object_for_user(request.user, Campaign, pk, "change")
    form = TestSendForm(request.POST, user=request.user)
    if not form.is_valid():
        messages.error(request, form_errors_text(form))
        return redirect(campaign)
    try:
        address = services.campaign_test_send(
            campaign=campaign, actor=request.user, contact=form.cleaned_data["contact"]
        )
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
    except OSError:
        messages.error(request, _("The mail server could not be reached. Try again later."))
    else:
        messages.success(request, _("A test message is on its way to %(address)s.") % {"address": address})
    return redirect(campaign)


@login_required
def campaign_preview(request, pk):
    """The message as a recipient sees it, for the page's sandboxed frame: no script runs, nothing
    loads but images and inline styles, and links are not tracked."""
    campaign = get_object_for_user(request.user, Campaign, pk)
    contact_id = QueryParams(request).id("contact")
    contact = get_object_for_user(request.user, Contact, contact_id) if contact_id else None
    try:
        if contact is not None:
            context = content.recipient_context(contact=contact, sender=campaign.owner, campaign=campaign)
        else:
            context = content.sample_context(campaign)
        body = content.render_message(campaign, context).html
    except ValidationError as error:
        body = format_html("<p>{}</p>", " ".join(error.messages))
    response = HttpResponse(body, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = (
        "sandbox; default-src 'none'; img-src * data:; style-src 'unsafe-inline'; frame-ancestors 'self'"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["X-Frame-Options"] = "SAMEORIGIN"
    patch_cache_control(response, private=True, no_store=True)
    return response
