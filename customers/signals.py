from crm.audit import audit_register
from customers.models import Company, Contact, GradeLevel, GradingPolicy, Interaction, Tag, Transaction

# Derived columns (search tokens, grade, value, last activity) would only repeat other entries;
# related lists (contacts, history) are audited on their own rows and left out by audit_register.
COMPANY_DERIVED = [
    "search_text",
    "website_domain",
    "grade_reason",
    "graded_at",
    "lifetime_value",
    "last_activity_at",
    "updated_at",
]
CONTACT_DERIVED = [
    "search_text",
    "display_name",
    "email_bidx",
    "last_activity_at",
    "updated_at",
]

audit_register(Company, m2m_fields={"tags"}, exclude_fields=COMPANY_DERIVED)
audit_register(Contact, m2m_fields={"tags"}, exclude_fields=CONTACT_DERIVED)
# `subject` is the generic relation over subject_type and subject_id, which are logged themselves.
audit_register(Interaction, exclude_fields=["subject"])
audit_register(Transaction)
audit_register(Tag)
audit_register(GradeLevel)
audit_register(GradingPolicy)
