from auditlog.registry import auditlog

from crm.fields import encrypted_audit_options
from customers.models import Company, Contact, GradeLevel, GradingPolicy, Interaction, Tag, Transaction

# Derived columns (search tokens, grade, value, last activity) would only repeat other entries;
# related lists (contacts, history) are audited on their own rows.
COMPANY_DERIVED = [
    "search_text",
    "website_domain",
    "grade_reason",
    "graded_at",
    "lifetime_value",
    "last_activity_at",
    "updated_at",
    "contacts",
    "interactions",
    "transactions",
]
CONTACT_DERIVED = [
    "search_text",
    "display_name",
    "email_bidx",
    "last_activity_at",
    "updated_at",
    "interactions",
    "transactions",
]

auditlog.register(Company, m2m_fields={"tags"}, **encrypted_audit_options(Company, exclude_fields=COMPANY_DERIVED))
auditlog.register(Contact, m2m_fields={"tags"}, **encrypted_audit_options(Contact, exclude_fields=CONTACT_DERIVED))
auditlog.register(Interaction)
auditlog.register(Transaction)
auditlog.register(Tag)
auditlog.register(GradeLevel)
auditlog.register(GradingPolicy)
