"""A lead import that replaces a mobile keeps the old one sealed for the revert, which restores it."""

import pytest

from crm.crypto import is_ciphertext
from customers.importing import service
from customers.models import ImportedRecord
from customers.tests.import_helpers import run_import
from pipeline.models import Lead
from pipeline.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

OLD, NEW = "13800138000", "13912345678"


def test_the_replaced_mobile_is_sealed_and_a_revert_restores_it(cast):
    lead = LeadFactory(owner=cast.owner, team=cast.team, email="wang@xinghe.cn", mobile=OLD)
    rows = [["姓名", "邮箱", "手机"], ["王小明", "wang@xinghe.cn", NEW]]
    batch = run_import(cast.owner, rows, target="leads", team=cast.team, duplicates="update")
    assert batch.updated_count == 1 and Lead.objects.get(pk=lead.pk).mobile == NEW
    record = ImportedRecord.objects.get(batch=batch, object_id=lead.pk)
    assert is_ciphertext(record.previous["mobile"]) and OLD not in str(record.previous)

    service.import_revert(batch=batch, actor=cast.owner)
    assert Lead.objects.get(pk=lead.pk).mobile == OLD
