"""Audit registration of the pipeline's models."""

from crm.audit import audit_register
from pipeline.models import (
    AssignmentRule,
    LeadSource,
    LostReason,
    Opportunity,
    Pipeline,
    Quota,
    ScoringRule,
    Stage,
    Task,
    WebForm,
)
from pipeline.models import Lead as _Lead

audit_register(_Lead, exclude_fields=["search_text", "display_name", "email_bidx", "updated_at"])
audit_register(Opportunity, exclude_fields=["search_text", "updated_at", "last_activity_at"])
audit_register(Task, exclude_fields=["updated_at"])
for model in (LeadSource, ScoringRule, AssignmentRule, WebForm, Pipeline, Stage, LostReason, Quota):
    audit_register(model)
