from auditlog.registry import auditlog

from customers.models import Company

auditlog.register(Company)
