from crm.audit import audit_register
from tickets.models import (
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

# The clock's due times and stamps follow from the audited status, priority and events.
SLA_DERIVED = [
    "search_text",
    "updated_at",
    "last_activity_at",
    "sla_pauses",
    "first_response_due",
    "resolution_due",
    "warned_at",
    "escalated_at",
]

audit_register(Ticket, m2m_fields={"tags", "watchers"}, exclude_fields=SLA_DERIVED)
audit_register(Message)
audit_register(Attachment)
for model in (CannedResponse, Mailbox, Category, Priority, BusinessHours, SlaPolicy, SlaTarget, AssignmentRule):
    audit_register(model)
