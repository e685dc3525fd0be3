"""State changes of the customer information centre.

Every function takes the acting user, validates, writes in one transaction and returns the
record. Other modules add to a customer's history only through `record_interaction`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Model, Sum
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.audit import log_bulk_change
from crm.models import User
from crm.outbox import queue_task
from crm.people import stamp_consent
from crm.permissions import can
from crm.writes import record_create, record_delete, record_update
from customers.models import Company, Contact, Interaction, Tag, Transaction

COMPANY_FIELDS = [
    "name",
    "legal_name",
    "industry",
    "size_band",
    "website",
    "country",
    "province",
    "city",
    "street",
    "postcode",
    "phone",
    "tax_id",
    "source",
    "lifecycle",
    "external_id",
]
CONTACT_FIELDS = [
    "family_name",
    "given_name",
    "title",
    "company",
    "email",
    "phone",
    "mobile",
    "birthday",
    "preferred_language",
    "email_opt_in",
    "email_opt_in_source",
    "sms_opt_in",
    "sms_opt_in_source",
    "unsubscribed",
    "do_not_contact",
    "external_id",
]


@transaction.atomic
def company_create(*, actor: User, **data) -> Company:
    return record_create(model=Company, actor=actor, data=data, fields=COMPANY_FIELDS, m2m=("tags",))


@transaction.atomic
def company_update(*, company: Company, actor: User, **data) -> Company:
    return record_update(record=company, actor=actor, data=data, fields=COMPANY_FIELDS, m2m=("tags",))


@transaction.atomic
def company_delete(*, company: Company, actor: User) -> None:
    record_delete(record=company, actor=actor)


@transaction.atomic
def contact_create(*, actor: User, **data) -> Contact:
    _check_company_visible(data.get("company"), Contact(), actor)
    return record_create(
        model=Contact,
        actor=actor,
        data=data,
        fields=CONTACT_FIELDS,
        m2m=("tags",),
        before_save=lambda contact: _stamp_consent(contact, data),
    )


@transaction.atomic
def contact_update(*, contact: Contact, actor: User, **data) -> Contact:
    before = (contact.email_opt_in, contact.unsubscribed)

    def stamp(stored: Contact, _given: Contact) -> None:
        _stamp_consent(stored, data, before=before)

    _check_company_visible(data.get("company"), contact, actor)
    return record_update(
        record=contact, actor=actor, data=data, fields=CONTACT_FIELDS, m2m=("tags",), before_save=stamp
    )


def _check_company_visible(company: Company | None, contact: Contact, actor: User) -> None:
    """A contact may be moved only to a company the actor can see (STYLE 15)."""
    if company is not None and company.pk != contact.company_id and not can(actor, company, "view"):
        raise ValidationError({"company": _("No company you can see has that number.")})


def _stamp_consent(contact: Contact, data: dict, before: tuple[bool, bool] = (False, False)) -> None:
    stamp_consent(contact, data, before)


@transaction.atomic
def contact_delete(*, contact: Contact, actor: User) -> None:
    record_delete(record=contact, actor=actor)


def record_interaction(
    *,
    kind: str,
    summary: str,
    actor: User | None,
    company: Company | None = None,
    contact: Contact | None = None,
    occurred_at: datetime | None = None,
    body: str = "",
    source_ref: str = "",
    link: str = "",
    subject: Model | None = None,
) -> Interaction:
    """Add an entry to a customer's history; the one door for every module.

    `subject` is the record the entry is about when it is not the customer itself (the deal,
    the task, the order): timelines show the entry only to those who may see that record.
    The caller has already decided the actor may act on the related record; this checks
    only that the entry is coherent. A contact's company gets the entry on its timeline too.
    """
    if company is None and contact is None:
        raise ValidationError(_("An interaction needs a company or a contact."))
    if kind not in Interaction.Kind.values:
        raise ValidationError(_("Unknown interaction type."))
    if subject is not None and subject.pk is None:
        raise ValidationError(_("An interaction can only be about a saved record."))
    if company is None and contact is not None:
        company = contact.company
    if subject is not None and not source_ref:
        source_ref = f"{subject._meta.label_lower}:{subject.pk}"
    with transaction.atomic():
        interaction = Interaction(
            kind=kind,
            summary=summary[:200],
            body=body,
            actor=actor,
            company=company,
            contact=contact,
            occurred_at=occurred_at or timezone.now(),
            source_ref=source_ref,
            link=link,
            subject=subject,
        )
        interaction.full_clean()
        interaction.save()
        # Last activity only moves forward, and without touching updated_at or the audit trail.
        for model, record in ((Company, company), (Contact, contact)):
            if record is not None:
                model.objects.filter(pk=record.pk).update(
                    last_activity_at=Greatest(F("last_activity_at"), interaction.occurred_at)
                )
    return interaction


def record_interactions(entries: list[dict], *, subject: Model, kind: str) -> int:
    """Many history entries about one record at once (a campaign's sent messages): one INSERT,
    no per-entry checks beyond `record_interaction`'s own, and no last-activity bump, since being
    mailed is not something the customer did. Each entry: contact (with company loaded) or
    company, summary, and optionally occurred_at, actor, link."""
    if kind not in Interaction.Kind.values:
        raise ValidationError(_("Unknown interaction type."))
    source_ref = f"{subject._meta.label_lower}:{subject.pk}"
    now = timezone.now()
    rows = []
    for entry in entries:
        contact = entry.get("contact")
        company = entry.get("company") or (contact.company if contact is not None else None)
        if company is None and contact is None:
            raise ValidationError(_("An interaction needs a company or a contact."))
        rows.append(
            Interaction(
                kind=kind,
                summary=entry["summary"][:200],
                actor=entry.get("actor"),
                company=company,
                contact=contact,
                occurred_at=entry.get("occurred_at") or now,
                source_ref=source_ref,
                link=entry.get("link", ""),
                subject=subject,
            )
        )
    Interaction.objects.bulk_create(rows, batch_size=500)
    return len(rows)


@transaction.atomic
def interaction_add(*, actor: User, kind: str, summary: str, company=None, contact=None, **extra) -> Interaction:
    """A user's own note, call or meeting on a record they may change."""
    target = contact or company
    if target is None or not can(actor, target, "change"):
        raise PermissionDenied(_("You may not add to this customer's history."))
    if kind not in (Interaction.Kind.NOTE, Interaction.Kind.CALL, Interaction.Kind.MEETING, Interaction.Kind.VISIT):
        raise ValidationError(_("Choose a note, call, meeting or visit."))
    return record_interaction(kind=kind, summary=summary, actor=actor, company=company, contact=contact, **extra)


@transaction.atomic
def transaction_record(
    *,
    actor: User | None,
    company: Company,
    date,
    amount: Decimal,
    currency: str = "CNY",
    reference: str = "",
    description: str = "",
    status: str = Transaction.Status.PAID,
    contact: Contact | None = None,
    check_permission: bool = True,
) -> Transaction:
    """Record a purchase; refreshes the lifetime value now and the grade after commit."""
    if check_permission and not can(actor, company, "change"):
        raise PermissionDenied
    if reference and Transaction.objects.filter(company=company, reference=reference).exists():
        raise ValidationError({"reference": _("This customer already has a transaction with that reference.")})
    record = Transaction(
        company=company,
        contact=contact,
        date=date,
        amount=amount,
        currency=currency,
        reference=reference,
        description=description,
        status=status,
        created_by=actor,
    )
    record.full_clean()
    record.save()
    company_refresh_value(company=company)
    record_interaction(
        kind=Interaction.Kind.ORDER,
        summary=_("Order %(reference)s: %(amount)s %(currency)s")
        % {"reference": reference or "—", "amount": amount, "currency": currency},
        actor=actor,
        company=company,
        contact=contact,
        occurred_at=timezone.make_aware(datetime.combine(date, datetime.min.time()))
        if not isinstance(date, datetime)
        else date,
        source_ref=f"customers.transaction:{record.pk}",
        subject=record,
    )
    from customers.tasks import grade_company

    queue_task(grade_company, company.pk)
    return record


def company_refresh_value(*, company: Company) -> Decimal:
    """Lifetime value: the sum of paid transactions (no signals, no audit noise: it is derived)."""
    total = company.transactions.filter(status=Transaction.Status.PAID).aggregate(s=Sum("amount"))["s"] or Decimal("0")
    Company.objects.filter(pk=company.pk).update(lifetime_value=total)
    company.lifetime_value = total
    return total


# --- Bulk actions: each receives only the rows the user may act on (crm.lists). -------------


@transaction.atomic
def bulk_add_tag(*, queryset, actor: User, data: dict) -> int:
    tag: Tag = data["tag"]
    model = queryset.model
    pks = list(queryset.values_list("pk", flat=True))
    through = model.tags.through
    field = f"{model._meta.model_name}_id"
    existing = set(through.objects.filter(tag=tag, **{f"{field}__in": pks}).values_list(field, flat=True))
    through.objects.bulk_create([through(tag=tag, **{field: pk}) for pk in pks if pk not in existing])
    log_bulk_change(model, pks, actor=actor, changes={"tags": ["", f"+{tag.name}"]}, event="bulk_add_tag")
    return len(pks)


@transaction.atomic
def bulk_remove_tag(*, queryset, actor: User, data: dict) -> int:
    tag: Tag = data["tag"]
    model = queryset.model
    pks = list(queryset.values_list("pk", flat=True))
    field = f"{model._meta.model_name}_id"
    model.tags.through.objects.filter(tag=tag, **{f"{field}__in": pks}).delete()
    log_bulk_change(model, pks, actor=actor, changes={"tags": [f"-{tag.name}", ""]}, event="bulk_remove_tag")
    return len(pks)


@transaction.atomic
def bulk_share(*, queryset, actor: User, data: dict) -> int:
    from crm.services import record_share

    count = 0
    for obj in queryset:
        record_share(obj=obj, recipient=data["recipient"], level=data["level"], actor=actor)
        count += 1
    return count
