from auditlog.registry import auditlog

from crm.fields import encrypted_audit_options
from customers.models import Company, Contact, GradeLevel, GradingPolicy, Interaction, Tag, Transaction

# search_text is derived from other fields; logging it would only repeat them.
auditlog.register(Company, m2m_fields={"tags"}, **encrypted_audit_options(Company, exclude_fields=["search_text"]))
auditlog.register(
    Contact,
    m2m_fields={"tags"},
    **encrypted_audit_options(Contact, exclude_fields=["search_text", "email_bidx"]),
)
auditlog.register(Interaction)
auditlog.register(Transaction)
auditlog.register(Tag)
auditlog.register(GradeLevel)
auditlog.register(GradingPolicy)
