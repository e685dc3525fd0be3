"""Audit registration of the core models and sign-in events."""

from auditlog.registry import auditlog

from crm.models import Team, TeamMembership, User

auditlog.register(User, exclude_fields=["password", "last_login"], m2m_fields={"groups"})
auditlog.register(Team)
auditlog.register(TeamMembership)
