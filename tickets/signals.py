from django.db.models.signals import post_delete, post_save

from crm.audit import audit_register
from tickets.models import (
    SLA_DERIVED,
    AssignmentRule,
    Attachment,
    BusinessHours,
    CannedResponse,
    Category,
    Mailbox,
    Message,
    Priority,
    SlaPolicy,
    SlaTarget,
    Ticket,
)

audit_register(Ticket, m2m_fields={"tags", "watchers"}, exclude_fields=SLA_DERIVED)
audit_register(Message)
audit_register(Attachment)
for model in (CannedResponse, Mailbox, Category, Priority, BusinessHours, SlaPolicy, SlaTarget, AssignmentRule):
    audit_register(model)


def _sla_configuration_changed(sender, **kwargs):
    """Business hours, a policy or a target changed: every active ticket's due times are
    recomputed in the background once the change is committed. A policy saved with its targets
    queues one run per row; the runs are idempotent, and such changes are rare."""
    from celery import current_app

    from crm.outbox import queue_task

    queue_task(current_app.tasks["tickets.tasks.recompute_open_tickets"])


for model in (BusinessHours, SlaPolicy, SlaTarget):
    post_save.connect(_sla_configuration_changed, sender=model, dispatch_uid=f"sla-changed-save-{model.__name__}")
    post_delete.connect(_sla_configuration_changed, sender=model, dispatch_uid=f"sla-changed-delete-{model.__name__}")


def _forget_file(sender, instance, **kwargs):
    """An attachment's file goes with its row once the deletion commits. The file of a row never
    committed stays behind until the daily sweep (tickets.attachments.sweep_orphan_files)."""
    from django.db import transaction

    name, storage = instance.file.name, instance.file.storage
    if name:
        transaction.on_commit(lambda: storage.delete(name), robust=True)


post_delete.connect(_forget_file, sender=Attachment, dispatch_uid="ticket-attachment-file")
