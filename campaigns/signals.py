from campaigns.models import Campaign, Segment, Suppression
from crm.audit import audit_register

# The send's counters and heartbeat follow from the deliveries; the status changes are audited.
audit_register(Campaign, m2m_fields={"exclude_segments"}, exclude_fields=["updated_at", "heartbeat_at"])
audit_register(Segment)
audit_register(Suppression)
