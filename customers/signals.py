from auditlog.registry import auditlog

from crm.fields import encrypted_audit_options
from customers.models import Company

auditlog.register(Company, **encrypted_audit_options(Company))
