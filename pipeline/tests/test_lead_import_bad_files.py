"""Lead imports refuse the same damaged files as customer imports (customers/tests/
test_import_bad_files.py): a clear reading error on the import's page, and no lead written."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from customers.models import ImportBatch
from customers.tests.import_helpers import BAD_FILES
from pipeline.models import Lead

pytestmark = pytest.mark.django_db

TABLES = {case: file for case, file in BAD_FILES.items() if not file[0].endswith(".vcf")}


@pytest.mark.parametrize("case", TABLES)
def test_uploading_a_bad_lead_file_tells_why_and_imports_nothing(
    client, cast, case, django_capture_on_commit_callbacks
):
    name, data, told = TABLES[case]
    client.force_login(cast.owner)
    form = {"target": "leads", "team": cast.team.pk, "file": SimpleUploadedFile(name, data)}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("customers:import_upload"), form)
    batch = ImportBatch.objects.get()
    assert response.status_code == 302 and batch.status == "failed" and told in batch.message
    assert told in client.get(response.url).content.decode()
    assert not Lead.objects.exists()
