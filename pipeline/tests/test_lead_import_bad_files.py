"""Lead imports refuse the same damaged files as customer imports (customers/tests/
test_import_bad_files.py): a clear error on the upload form, and no lead written."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from customers.models import ImportBatch
from customers.tests.import_helpers import BAD_FILES
from pipeline.models import Lead

pytestmark = pytest.mark.django_db

TABLES = {case: file for case, file in BAD_FILES.items() if not file[0].endswith(".vcf")}


@pytest.mark.parametrize("case", TABLES)
def test_uploading_a_bad_lead_file_tells_why_and_stores_nothing(client, cast, case):
    name, data, told = TABLES[case]
    client.force_login(cast.owner)
    form = {"target": "leads", "team": cast.team.pk, "file": SimpleUploadedFile(name, data)}
    response = client.post(reverse("customers:import_upload"), form)
    assert response.status_code == 400 and told in response.content.decode()
    assert not ImportBatch.objects.exists() and not Lead.objects.exists()
