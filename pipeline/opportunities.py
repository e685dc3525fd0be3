"""Opportunity services: create, edit, move through stages, win, lose, delete, bulk actions.

Every write takes the acting user, checks the role and the record's reach, saves in one
transaction, writes stage history as `StageChange` rows and re-checks after the edit that the
actor can still see the deal (STYLE rule 15). Stage changes and wins go on the customer's
timeline through `customers.services.record_interaction`.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.audit import acting_as, log_bulk_change
from crm.models import Team, User
from crm.permissions import can
from crm.writes import bulk_change, ensure_still_visible, record_create, record_delete, record_update
from customers import services as customer_services
from customers.models import Company, Contact, Interaction, Transaction
from pipeline.models import LostReason, Opportunity, Pipeline, Stage, StageChange

OPPORTUNITY_FIELDS = [
    "name",
    "company",
    "contact",
    "amount",
    "currency",
    "expected_close_date",
    "probability",
    "next_step",
    "next_step_date",
]


def _check_customer(company: Company, contact: Contact | None, actor: User) -> None:
    """A deal may only be attached to a company (and contact) the actor can see."""
    if not can(actor, company, "view"):
        raise ValidationError({"company": _("No company you can see has that number.")})
    if contact is not None:
        if contact.company_id != company.pk:
            raise ValidationError({"contact": _("The contact must work at the opportunity's company.")})
        if not can(actor, contact, "view"):
            raise ValidationError({"contact": _("No contact you can see has that number.")})


def default_pipeline() -> Pipeline | None:
    return Pipeline.objects.filter(active=True).order_by("-is_default", "order", "name").first()


def closing_stage(pipeline_id: int, kind: str) -> Stage | None:
    """The first won (or lost) stage of a pipeline."""
    return Stage.objects.filter(pipeline_id=pipeline_id, kind=kind).order_by("order", "pk").first()


def _ref(opportunity: Opportunity) -> str:
    return f"pipeline.opportunity:{opportunity.pk}"


def _timeline(opportunity: Opportunity, actor: User | None, summary: str) -> None:
    customer_services.record_interaction(
        kind=Interaction.Kind.OPPORTUNITY,
        summary=summary,
        actor=actor,
        company=opportunity.company,
        contact=opportunity.contact,
        source_ref=_ref(opportunity),
        link=opportunity.get_absolute_url(),
        subject=opportunity,
    )


def _enter_stage(opportunity: Opportunity, stage: Stage, lost_reason: LostReason | None) -> None:
    """Set the stage and what follows from its kind (closing dates, lost reason)."""
    now = timezone.now()
    opportunity.stage = stage
    opportunity.stage_changed_at = now
    opportunity.last_activity_at = now
    if stage.kind == Stage.Kind.LOST:
        if lost_reason is None:
            raise ValidationError({"lost_reason": _("Choose why the deal was lost.")})
        opportunity.lost_reason = lost_reason
        opportunity.lost_at = now
        opportunity.won_at = None
    elif stage.kind == Stage.Kind.WON:
        opportunity.won_at = now
        opportunity.lost_at = None
        opportunity.lost_reason = None
    else:
        opportunity.won_at = opportunity.lost_at = None
        opportunity.lost_reason = None


@transaction.atomic
def opportunity_create(
    *,
    actor: User,
    company: Company,
    name: str,
    pipeline: Pipeline | None = None,
    stage: Stage | None = None,
    owner: User | None = None,
    team: Team | None = None,
    contact: Contact | None = None,
    source_lead=None,
    **data,
) -> Opportunity:
    _check_customer(company, contact, actor)
    pipeline = pipeline or (stage.pipeline if stage else default_pipeline())
    if pipeline is None:
        raise ValidationError(_("No sales pipeline is set up yet."))
    if stage is None:
        stage = pipeline.stages.filter(kind=Stage.Kind.OPEN).order_by("order", "pk").first()
        if stage is None:
            raise ValidationError({"stage": _("This pipeline has no open stage.")})
    if stage.pipeline_id != pipeline.pk:
        raise ValidationError({"stage": _("That stage belongs to another pipeline.")})
    opportunity = record_create(
        model=Opportunity,
        actor=actor,
        data={**data, "owner": owner, "team": team},
        fields=OPPORTUNITY_FIELDS,
        before_save=lambda new: _enter_stage(new, stage, data.get("lost_reason")),
        pipeline=pipeline,
        company=company,
        contact=contact,
        name=name,
        source_lead=source_lead,
    )
    StageChange.objects.create(opportunity=opportunity, from_stage=None, to_stage=stage, actor=actor)
    _timeline(opportunity, actor, _("Opportunity opened: %(name)s") % {"name": opportunity.name})
    return opportunity


@transaction.atomic
def opportunity_update(*, opportunity: Opportunity, actor: User, **data) -> Opportunity:
    """Edit a deal's fields; a different stage goes through `opportunity_move`."""
    stored = Opportunity.objects.select_related("company").get(pk=opportunity.pk)
    company, contact = data.get("company"), data.get("contact")
    if (company and company.pk != stored.company_id) or (contact and contact.pk != stored.contact_id):
        _check_customer(company or stored.company, contact, actor)

    def touch(saved: Opportunity, _given: Opportunity) -> None:
        saved.last_activity_at = timezone.now()

    record_update(record=opportunity, actor=actor, data=data, fields=OPPORTUNITY_FIELDS, before_save=touch)
    stage = data.get("stage")
    if stage is not None and stage.pk != opportunity.stage_id:
        opportunity_move(opportunity=opportunity, stage=stage, actor=actor, lost_reason=data.get("lost_reason"))
    return opportunity


@transaction.atomic
def opportunity_move(
    *, opportunity: Opportunity, stage: Stage, actor: User, lost_reason: LostReason | None = None
) -> Opportunity:
    """Move a deal to another stage of its pipeline: the one door for the board, the card form and the edit form."""
    if not can(actor, opportunity, "change"):
        raise PermissionDenied(_("You may not change this opportunity."))
    if stage.pipeline_id != opportunity.pipeline_id:
        raise ValidationError(_("That stage belongs to another pipeline."))
    # Lock the row so two moves at once leave a coherent history.
    locked = Opportunity.objects.select_for_update().get(pk=opportunity.pk)
    if locked.stage_id == stage.pk:
        return opportunity
    from_stage = Stage.objects.get(pk=locked.stage_id)
    _enter_stage(opportunity, stage, lost_reason)
    opportunity.full_clean()
    with acting_as(actor):
        opportunity.save(
            update_fields=[
                "stage",
                "stage_changed_at",
                "last_activity_at",
                "won_at",
                "lost_at",
                "lost_reason",
                "updated_at",
            ]
        )
    StageChange.objects.create(opportunity=opportunity, from_stage=from_stage, to_stage=stage, actor=actor)
    ensure_still_visible(opportunity, actor)
    if stage.kind == Stage.Kind.WON:
        summary = _("Opportunity won: %(name)s (%(amount)s %(currency)s)") % {
            "name": opportunity.name,
            "amount": opportunity.amount,
            "currency": opportunity.currency,
        }
    elif stage.kind == Stage.Kind.LOST:
        summary = _("Opportunity lost: %(name)s (%(reason)s)") % {"name": opportunity.name, "reason": lost_reason}
    else:
        summary = _("Opportunity %(name)s moved from %(from)s to %(to)s") % {
            "name": opportunity.name,
            "from": from_stage.name,
            "to": stage.name,
        }
    _timeline(opportunity, actor, summary)
    return opportunity


@transaction.atomic
def opportunity_win(
    *,
    opportunity: Opportunity,
    actor: User,
    stage: Stage | None = None,
    record_transaction: bool = False,
    reference: str = "",
) -> Opportunity:
    """Move the deal to its pipeline's won stage and, if asked, record the sale on the customer."""
    stage = stage or closing_stage(opportunity.pipeline_id, Stage.Kind.WON)
    if stage is None or stage.kind != Stage.Kind.WON:
        raise ValidationError(_("This pipeline has no won stage."))
    opportunity_move(opportunity=opportunity, stage=stage, actor=actor)
    if record_transaction:
        record_won_transaction(opportunity=opportunity, actor=actor, reference=reference)
    return opportunity


@transaction.atomic
def opportunity_lose(
    *, opportunity: Opportunity, actor: User, lost_reason: LostReason, stage: Stage | None = None
) -> Opportunity:
    stage = stage or closing_stage(opportunity.pipeline_id, Stage.Kind.LOST)
    if stage is None or stage.kind != Stage.Kind.LOST:
        raise ValidationError(_("This pipeline has no lost stage."))
    return opportunity_move(opportunity=opportunity, stage=stage, actor=actor, lost_reason=lost_reason)


@transaction.atomic
def record_won_transaction(*, opportunity: Opportunity, actor: User, reference: str = "") -> Transaction:
    """A paid transaction on the customer for a won deal's amount (feeds lifetime value and grade)."""
    if opportunity.won_at is None:
        raise ValidationError(_("Only a won opportunity can record a sale."))
    if opportunity.amount <= Decimal("0"):
        raise ValidationError(_("The opportunity has no amount to record."))
    return customer_services.transaction_record(
        actor=actor,
        company=opportunity.company,
        contact=opportunity.contact,
        date=timezone.localdate(opportunity.won_at),
        amount=opportunity.amount,
        currency=opportunity.currency,
        reference=reference or f"OPP-{opportunity.pk}",
        description=opportunity.name[:300],
    )


@transaction.atomic
def opportunity_delete(*, opportunity: Opportunity, actor: User) -> None:
    record_delete(record=opportunity, actor=actor)


# --- Bulk actions (crm.lists): each receives only the rows the user may act on. --------------


@transaction.atomic
def bulk_move_stage(*, queryset, actor: User, data: dict) -> int:
    """Move the selected deals one by one through `opportunity_move`, so each keeps its history."""
    stage: Stage = data["stage"]
    count = 0
    for opportunity in queryset.filter(pipeline_id=stage.pipeline_id).select_related("company", "contact"):
        opportunity_move(opportunity=opportunity, stage=stage, actor=actor, lost_reason=data.get("lost_reason"))
        count += 1
    return count


# --- Customer merges (customers.extensions) -------------------------------------------------


def _move_opportunities(field: str, *, survivor, merged, actor: User) -> int:
    pks = list(Opportunity.objects.filter(**{field: merged}).values_list("pk", flat=True))
    if pks:
        with bulk_change(Opportunity, pks):
            Opportunity.objects.filter(pk__in=pks).update(**{field: survivor}, updated_at=timezone.now())
        log_bulk_change(
            Opportunity, pks, actor=actor, changes={field: [str(merged.pk), str(survivor.pk)]}, event="merge"
        )
    return len(pks)


def move_company_opportunities(*, survivor: Company, merged: Company, actor: User) -> int:
    return _move_opportunities("company", survivor=survivor, merged=merged, actor=actor)


def move_contact_opportunities(*, survivor: Contact, merged: Contact, actor: User) -> int:
    return _move_opportunities("contact", survivor=survivor, merged=merged, actor=actor)
