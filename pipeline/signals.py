"""Audit registration of the pipeline's models."""

from auditlog.registry import auditlog

from crm.fields import encrypted_audit_options
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

auditlog.register(
    _Lead,
    **encrypted_audit_options(
        _Lead, exclude_fields=["search_text", "display_name", "email_bidx", "updated_at", "events", "tasks"]
    ),
)
auditlog.register(
    Opportunity, exclude_fields=["search_text", "updated_at", "last_activity_at", "stage_changes", "tasks"]
)
auditlog.register(Task, exclude_fields=["updated_at"])
for model in (LeadSource, ScoringRule, AssignmentRule, WebForm, Pipeline, Stage, LostReason, Quota):
    auditlog.register(model)
