"""Lead services: create and edit, scoring, auto-assignment, qualification, conversion, web intake.

Every write takes the acting user (None for the public web form), runs in one transaction and
re-checks reach after an edit. Scores are recomputed whenever a lead or its events change.
Assignment decisions (documented in docs/pipeline-leads.md):

- the first active `AssignmentRule` by order whose source / region / industry match picks a team
  and a method; otherwise the web form's team with round robin;
- round robin and "fewest open leads" choose among the team's active members holding the Sales
  rep role; the team's `RoundRobinState` row is locked (SELECT … FOR UPDATE) for both, so two
  leads arriving at once never land on a stale choice;
- with no team or no rep, the lead goes to `LEAD_DEFAULT_OWNER` (a username) or else the first
  active Administrator, and keeps the team (if any) so its manager sees it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crm import roles
from crm.audit import acting_as, log_bulk_change
from crm.models import Team, User
from crm.network import absolute_url
from crm.outbox import queue_task
from crm.people import CONSENT_FIELDS, stamp_consent
from crm.permissions import can, has_role_permission
from crm.writes import apply_fields, check_assignment, ensure_still_visible, record_delete, record_update
from customers import services as customer_services
from customers.models import Company, Contact, Interaction
from pipeline.models import (
    AssignmentRule,
    Lead,
    LeadEvent,
    LeadSource,
    Opportunity,
    RoundRobinState,
    ScoringRule,
    WebForm,
)
from pipeline.opportunities import opportunity_create

logger = logging.getLogger(__name__)

LEAD_FIELDS = [
    "family_name",
    "given_name",
    "company_name",
    "title",
    "email",
    "phone",
    "mobile",
    "industry",
    "province",
    "city",
    "website",
    "source",
    "notes",
    *CONSENT_FIELDS,
]
OPEN_STATUSES = (Lead.Status.NEW, Lead.Status.CONTACTED, Lead.Status.QUALIFIED)
RESCORE_BATCH = 1000


# --- Scoring -------------------------------------------------------------------------------------


def _field_value(lead: Lead, field: str) -> str:
    if field == "source":
        return lead.source.code if lead.source_id else ""
    if field == "has_email":
        return "yes" if lead.email else ""
    if field == "has_phone":
        return "yes" if (lead.phone or lead.mobile) else ""
    return str(getattr(lead, field, "") or "")


def _rule_matches(rule: ScoringRule, lead: Lead) -> bool:
    value = _field_value(lead, rule.field).strip().lower()
    if rule.field in ("has_email", "has_phone"):
        # "Has an email address" needs no value; a value of "no" rewards the absence.
        wanted = (rule.value or "yes").strip().lower()
        return (value == "yes") == (wanted not in ("no", "false", "0"))
    return bool(value) and value == rule.value.strip().lower()


@dataclass(frozen=True)
class ScoreLine:
    rule: ScoringRule
    times: int

    @property
    def points(self) -> int:
        return self.rule.points * self.times


def score_breakdown(
    lead: Lead, *, rules: list[ScoringRule] | None = None, events: dict | None = None
) -> list[ScoreLine]:
    """Which active rules a lead earns points from; each behaviour counts every time it happened."""
    rules = rules if rules is not None else list(ScoringRule.objects.filter(active=True))
    if events is None:
        events = dict(lead.events.values_list("event").annotate(n=Count("id"))) if lead.pk else {}
    lines = []
    for rule in rules:
        if rule.kind == ScoringRule.Kind.FIELD and rule.field and _rule_matches(rule, lead):
            lines.append(ScoreLine(rule, 1))
        elif rule.kind == ScoringRule.Kind.EVENT and events.get(rule.event):
            lines.append(ScoreLine(rule, events[rule.event]))
    return lines


def lead_compute_score(lead: Lead, **kwargs) -> int:
    return sum(line.points for line in score_breakdown(lead, **kwargs))


def lead_rescore(*, lead: Lead) -> int:
    """Recompute and store one lead's score (a derived value: no audit entry of its own)."""
    score = lead_compute_score(lead)
    if score != lead.score:
        Lead.objects.filter(pk=lead.pk).update(score=score)
        lead.score = score
    return score


def leads_rescore(*, queryset=None, batch_size: int = RESCORE_BATCH) -> int:
    """Recompute the scores of many leads in id batches (after the rules changed); returns how many changed."""
    rules = list(ScoringRule.objects.filter(active=True))
    queryset = (queryset if queryset is not None else Lead.objects.all()).order_by("pk")
    changed, last = 0, 0
    while True:
        batch = list(queryset.filter(pk__gt=last).select_related("source")[:batch_size])
        if not batch:
            return changed
        last = batch[-1].pk
        counts: dict[int, dict[str, int]] = {}
        if any(r.kind == ScoringRule.Kind.EVENT for r in rules):
            rows = (
                LeadEvent.objects.filter(lead_id__in=[lead.pk for lead in batch])
                .values_list("lead_id", "event")
                .annotate(n=Count("id"))
            )
            for lead_id, event, n in rows:
                counts.setdefault(lead_id, {})[event] = n
        dirty = []
        for lead in batch:
            score = lead_compute_score(lead, rules=rules, events=counts.get(lead.pk, {}))
            if score != lead.score:
                lead.score = score
                dirty.append(lead)
        Lead.objects.bulk_update(dirty, ["score"])
        changed += len(dirty)


@transaction.atomic
def lead_record_event(*, lead: Lead, event: str, occurred_at=None) -> LeadEvent:
    """Something the lead did (web form, campaign open or click); its score follows at once."""
    if event not in ScoringRule.Event.values:
        raise ValidationError(_("Unknown lead event."))
    row = LeadEvent.objects.create(lead=lead, event=event, occurred_at=occurred_at or timezone.now())
    lead_rescore(lead=lead)
    return row


# --- Assignment ----------------------------------------------------------------------------------


def matching_rule(lead: Lead) -> AssignmentRule | None:
    region = {lead.province.strip().lower(), lead.city.strip().lower()} - {""}
    industry = lead.industry.strip().lower()
    for rule in AssignmentRule.objects.filter(active=True).select_related("team"):
        if rule.source_id and rule.source_id != lead.source_id:
            continue
        if rule.region and rule.region.strip().lower() not in region:
            continue
        if rule.industry and rule.industry.strip().lower() != industry:
            continue
        return rule
    return None


def team_reps(team: Team):
    """The team's active members holding the Sales rep role, by id."""
    return (
        User.objects.filter(is_active=True, memberships__team=team, groups__name=roles.SALES_REP)
        .distinct()
        .order_by("pk")
    )


def default_owner() -> User:
    """Who gets a lead no rule can place: LEAD_DEFAULT_OWNER, else the first active Administrator."""
    username = getattr(settings, "LEAD_DEFAULT_OWNER", "")
    if username:
        user = User.objects.filter(username=username, is_active=True).first()
        if user:
            return user
    user = (
        User.objects.filter(is_active=True)
        .filter(Q(groups__name=roles.ADMINISTRATOR) | Q(is_superuser=True))
        .order_by("pk")
        .first()
    )
    if user is None:
        raise ValidationError(_("No one can receive new leads: create an administrator first."))
    return user


def _lock_team(team: Team) -> RoundRobinState:
    RoundRobinState.objects.get_or_create(team=team)
    return RoundRobinState.objects.select_for_update().get(team=team)


def pick_assignee(team: Team, method: str) -> User | None:
    """The next rep of `team` by `method`; must run inside the transaction that saves the lead."""
    state = _lock_team(team)
    reps = list(team_reps(team))
    if not reps:
        return None
    if method == AssignmentRule.Method.LEAST_LOADED:
        loads = dict(
            Lead.objects.filter(owner__in=reps, status__in=OPEN_STATUSES)
            .values_list("owner_id")
            .annotate(n=Count("id"))
            .order_by()
        )
        chosen = min(reps, key=lambda u: (loads.get(u.pk, 0), u.pk))
    else:
        later = [u for u in reps if state.last_user_id is None or u.pk > state.last_user_id]
        chosen = later[0] if later else reps[0]
    state.last_user = chosen
    state.save(update_fields=["last_user"])
    return chosen


def assignment_for(lead: Lead, *, fallback_team: Team | None = None) -> tuple[User, Team | None]:
    rule = matching_rule(lead)
    team = rule.team if rule else fallback_team
    method = rule.method if rule else AssignmentRule.Method.ROUND_ROBIN
    owner = pick_assignee(team, method) if team else None
    return owner or default_owner(), team


# --- Create, edit, status ------------------------------------------------------------------------


@transaction.atomic
def lead_create(
    *,
    actor: User | None,
    owner: User | None = None,
    team: Team | None = None,
    auto_assign: bool = False,
    web_form: WebForm | None = None,
    source_ref: str = "",
    **data,
) -> Lead:
    """A new lead. `auto_assign` (web forms, imports) lets the assignment rules pick owner and team;
    `source_ref` names what brought it ("campaigns.campaign:42", see `register_lead_origin`)."""
    if actor is not None:
        if not has_role_permission(actor, Lead, "add"):
            raise PermissionDenied
        check_assignment(actor, owner=owner, team=team)
    lead = Lead(web_form=web_form, source_ref=source_ref[:100])
    apply_fields(lead, LEAD_FIELDS, data)
    stamp_consent(lead, data)
    if auto_assign or (owner is None and actor is None):
        lead.owner, lead.team = assignment_for(lead, fallback_team=team)
    else:
        lead.owner, lead.team = owner or actor, team
    lead.score = lead_compute_score(lead, events={})
    with acting_as(actor):
        lead.full_clean()
        lead.save()
    if actor is not None and not auto_assign:
        ensure_still_visible(lead, actor)
    return lead


@transaction.atomic
def lead_update(*, lead: Lead, actor: User, **data) -> Lead:
    if lead.status == Lead.Status.CONVERTED:
        raise ValidationError(_("A converted lead can no longer be edited."))

    before = (lead.email_opt_in, lead.unsubscribed)

    def rescore(stored: Lead, _given: Lead) -> None:
        stored.score = lead_compute_score(stored)
        stamp_consent(stored, data, before=before)

    return record_update(record=lead, actor=actor, data=data, fields=LEAD_FIELDS, before_save=rescore)


@transaction.atomic
def lead_set_status(*, lead: Lead, actor: User, status: str, reason: str = "") -> Lead:
    """Mark a lead contacted, qualified or disqualified (a reason is required to disqualify)."""
    if not can(actor, lead, "change"):
        raise PermissionDenied
    if lead.status == Lead.Status.CONVERTED:
        raise ValidationError(_("This lead is already converted."))
    if status not in (Lead.Status.NEW, Lead.Status.CONTACTED, Lead.Status.QUALIFIED, Lead.Status.DISQUALIFIED):
        raise ValidationError(_("Unknown status."))
    reason = reason.strip()
    if status == Lead.Status.DISQUALIFIED and not reason:
        raise ValidationError({"reason": _("Say why the lead is disqualified.")})
    lead.status = status
    lead.disqualified_reason = reason if status == Lead.Status.DISQUALIFIED else ""
    lead.save(update_fields=["status", "disqualified_reason", "updated_at"])
    return lead


@transaction.atomic
def lead_assign(*, lead: Lead, actor: User, owner: User, team: Team | None = None) -> Lead:
    """Hand a lead to someone else (manual reassignment); the team follows if given. Owner, team
    manager or administrator only (crm.writes); the new owner may leave the actor's reach."""
    if not owner.is_active:
        raise ValidationError({"owner": _("That user is not active.")})
    data = {"owner": owner, **({"team": team} if team is not None else {})}
    return record_update(record=lead, actor=actor, data=data, fields=(), recheck_visible=False)


@transaction.atomic
def lead_delete(*, lead: Lead, actor: User) -> None:
    record_delete(record=lead, actor=actor)


# --- Conversion ----------------------------------------------------------------------------------


def company_data_of(lead: Lead) -> dict:
    return {
        "name": lead.company_name or lead.display_name,
        "industry": lead.industry,
        "province": lead.province,
        "city": lead.city,
        "website": lead.website,
        "phone": lead.phone,
    }


def contact_data_of(lead: Lead) -> dict:
    return {
        "family_name": lead.family_name,
        "given_name": lead.given_name,
        "title": lead.title,
        "email": lead.email,
        "phone": lead.phone,
        "mobile": lead.mobile,
        # The consent the person gave as a lead holds for the contact, with its original time.
        **{name: getattr(lead, name) for name in CONSENT_FIELDS},
        "email_opt_in_at": lead.email_opt_in_at,
        "sms_opt_in_at": lead.sms_opt_in_at,
        "unsubscribed_at": lead.unsubscribed_at,
    }


def _carry_withdrawals(lead: Lead, contact: Contact, actor: User) -> None:
    """A lead joining an existing contact: what the person refused as a lead holds for the contact
    too (audited); a consent given as a lead never overrides the contact's own answer."""
    refused = {}
    if lead.unsubscribed and not contact.unsubscribed:
        refused.update(unsubscribed=True, unsubscribed_at=lead.unsubscribed_at)
    if lead.do_not_contact and not contact.do_not_contact:
        refused["do_not_contact"] = True
    if refused:
        customer_services.contact_update(contact=contact, actor=actor, **refused)


def has_person(lead: Lead) -> bool:
    return bool(lead.family_name or lead.given_name or lead.email)


@transaction.atomic
def lead_convert(
    *,
    lead: Lead,
    actor: User,
    company: Company | None = None,
    contact: Contact | None = None,
    create_contact: bool = True,
    opportunity_name: str = "",
    amount: Decimal = Decimal("0"),
    expected_close_date=None,
) -> Lead:
    """Turn a qualified lead into a company, a contact and an opportunity in one step.

    `company` / `contact` are existing customers the user picked (the duplicate check on the
    convert page offers them); when None, new ones are created from the lead. The lead keeps
    links to all three and the customer's timeline records the conversion.
    """
    lead = Lead.objects.select_for_update().get(pk=lead.pk)  # a double submit converts once
    if not can(actor, lead, "change"):
        raise PermissionDenied
    if lead.status != Lead.Status.QUALIFIED:
        raise ValidationError(_("Only a qualified lead can be converted."))
    if not has_role_permission(actor, Opportunity, "add"):
        raise PermissionDenied(_("You may not create opportunities."))
    for record in (company, contact):
        if record is not None and not can(actor, record, "view"):
            raise PermissionDenied
    if contact is not None and company is not None and contact.company_id not in (None, company.pk):
        raise ValidationError(_("That contact works for another company."))
    if company is None and contact is not None and contact.company_id:
        company = contact.company
    owner_kwargs = {"owner": lead.owner, "team": lead.team}
    if company is None:
        company = customer_services.company_create(
            actor=actor, **owner_kwargs, source="website" if lead.web_form_id else "", **company_data_of(lead)
        )
    if contact is None and create_contact and has_person(lead):
        contact = customer_services.contact_create(
            actor=actor, **owner_kwargs, company=company, **contact_data_of(lead)
        )
    elif contact is not None:
        _carry_withdrawals(lead, contact, actor)
    opportunity = opportunity_create(
        actor=actor,
        company=company,
        contact=contact,
        name=(opportunity_name or lead.company_name or lead.display_name)[:200],
        amount=amount or Decimal("0"),
        expected_close_date=expected_close_date,
        source_lead=lead,
        **owner_kwargs,
    )
    customer_services.record_interaction(
        kind=Interaction.Kind.OPPORTUNITY,
        summary=_("Converted from lead %(lead)s") % {"lead": lead.display_name},
        actor=actor,
        company=company,
        contact=contact,
        source_ref=f"pipeline.lead:{lead.pk}",
        link=opportunity.get_absolute_url(),
        subject=opportunity,
    )
    lead.status = Lead.Status.CONVERTED
    lead.converted_company, lead.converted_contact, lead.converted_opportunity = company, contact, opportunity
    lead.converted_at = timezone.now()
    lead.save(
        update_fields=[
            "status",
            "converted_company",
            "converted_contact",
            "converted_opportunity",
            "converted_at",
            "updated_at",
        ]
    )
    return lead


# --- Web-to-lead ---------------------------------------------------------------------------------


# Modules that bring visitors to a web form (campaigns) say which of them brought a lead: each
# reader takes the form's `origin` parameter and returns (source_ref, LeadSource or None), or None
# when the token is not theirs. Pipeline keeps the reference and never imports the module.
_ORIGIN_READERS: list = []


_ORIGIN_NAMERS: list = []


def register_lead_origin(reader, namer=None) -> None:
    """`reader(token)` as above; `namer(source_ref, user)` says what a stored reference is for a
    viewer of the lead: (label, url or "") or None when the reference is not its module's."""
    if reader not in _ORIGIN_READERS:
        _ORIGIN_READERS.append(reader)
    if namer is not None and namer not in _ORIGIN_NAMERS:
        _ORIGIN_NAMERS.append(namer)


def origin_of(lead: Lead, user) -> tuple[str, str] | None:
    """What brought the lead, as (label, url or ""), for its page."""
    if not lead.source_ref:
        return None
    for namer in _ORIGIN_NAMERS:
        found = namer(lead.source_ref, user)
        if found is not None:
            return found
    return None


def lead_origin(token: str) -> tuple[str, LeadSource | None] | None:
    if not token:
        return None
    for reader in _ORIGIN_READERS:
        found = reader(token)
        if found is not None:
            return found
    return None


@transaction.atomic
def web_form_submit(*, web_form: WebForm, data: dict, lead_url_builder=None, origin: str = "") -> Lead:
    """A lead from a public form: created, scored with the submission, assigned, assignee told.
    `origin` is the token a campaign link gave the visitor: the lead then carries the campaign
    as its origin and the campaign's source instead of the form's."""
    if not web_form.active:
        raise ValidationError(_("This form is closed."))
    clean = {k: v for k, v in data.items() if k in {name for name, _label in WebForm.FIELD_CHOICES}}
    if web_form.source_id:
        clean["source"] = web_form.source
    if clean.get("email_opt_in"):  # the visitor ticked the form's consent box
        clean["email_opt_in_source"] = (_("Web form: %(name)s") % {"name": web_form.name})[:100]
    source_ref = ""
    if found := lead_origin(origin):
        source_ref, source = found
        if source is not None:
            clean["source"] = source
    lead = lead_create(
        actor=None, team=web_form.team, auto_assign=True, web_form=web_form, source_ref=source_ref, **clean
    )
    lead_record_event(lead=lead, event=ScoringRule.Event.WEB_FORM)
    lead_url = lead_url_builder(lead.get_absolute_url()) if lead_url_builder else ""
    # Mail goes out from a Celery task once the lead is committed: neither a mail server nor a
    # broker that is away can fail the visitor's submission (the outbox keeps the task until
    # the broker answers; an error handing it over is only logged).
    _queue_notification(lead.pk, lead_url)
    return lead


NOTIFY_TASK = "pipeline.lead_tasks.notify_lead_assignee"


def _queue_notification(lead_id: int, lead_url: str) -> None:
    from celery import current_app

    # By name from the registry: the task module imports this one, never the other way round.
    queue_task(current_app.tasks[NOTIFY_TASK], lead_id=lead_id, lead_url=lead_url)


def notify_assignee(*, lead_id: int, lead_url: str = "") -> bool:
    """Email a lead's owner that it arrived. A mail server error propagates, so that the task
    retries; the lead itself is already saved."""
    lead = Lead.objects.select_related("owner", "web_form").filter(pk=lead_id).first()
    if lead is None or not lead.owner.email:
        return False
    # One line whatever the visitor typed: a header cannot be split by a crafted name.
    name = " ".join(lead.display_name.split())
    subject = _("New lead: %(name)s") % {"name": name}
    body = _("A new lead arrived through %(form)s and was assigned to you.\n\n%(name)s\n%(company)s\n\n%(url)s") % {
        "form": lead.web_form.name if lead.web_form else _("a web form"),
        "name": name,
        "company": lead.company_name,
        "url": lead_url or absolute_url(lead.get_absolute_url()),
    }
    send_mail(subject, body, None, [lead.owner.email])
    return True


def lead_unsubscribed(*, email_key: str, at, event: str) -> int:
    """Every lead with this address (e-mail blind index) unsubscribes from marketing, as its
    contacts do (a campaign's unsubscribe link or hard bounce); audited as one bulk change."""
    pks = list(Lead.objects.filter(email_bidx=email_key, unsubscribed=False).values_list("pk", flat=True))
    if pks:
        Lead.objects.filter(pk__in=pks).update(unsubscribed=True, unsubscribed_at=at)
        log_bulk_change(Lead, pks, actor=None, changes={"unsubscribed": ["False", "True"]}, event=event)
    return len(pks)


def leads_from(source_ref: str):
    """The leads a module brought ("campaigns.campaign:42"), unscoped like the other selectors
    campaigns reads (its results count them); a partial index answers."""
    return Lead.objects.filter(source_ref=source_ref) if source_ref else Lead.objects.none()


def leads_sms_opted_out(*, phone_key: str, event: str) -> int:
    """Every lead with this number (mobile or phone blind index) withdraws its SMS consent (a
    campaign text answered with the opt-out word); audited as one bulk change."""
    pks = list(
        Lead.objects.filter(Q(mobile_bidx=phone_key) | Q(phone_bidx=phone_key), sms_opt_in=True).values_list(
            "pk", flat=True
        )
    )
    if pks:
        Lead.objects.filter(pk__in=pks).update(sms_opt_in=False)
        log_bulk_change(Lead, pks, actor=None, changes={"sms_opt_in": ["True", "False"]}, event=event)
    return len(pks)
