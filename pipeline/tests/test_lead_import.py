"""Importing leads through the customers import pages: a GBK file with Chinese headers, a dry run
that writes nothing, leads scored and owned (or assigned by the rules), skip on re-import, revert,
and nobody else's imports."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django.urls import reverse

from crm import roles
from crm.testing import add_to_team, make_team, make_user
from customers.models import ImportBatch
from customers.tests.import_helpers import csv_bytes
from pipeline.leads import lead_compute_score
from pipeline.models import AssignmentRule, Lead, ScoringRule
from pipeline.tests.lead_helpers import source

pytestmark = pytest.mark.django_db

ROWS = [
    ["姓名", "公司", "职位", "手机", "邮箱", "来源"],
    ["王小明", "星河科技", "采购经理", "13800138000", "wang@xinghe.cn", "展会"],
    ["欧阳娜娜", "云帆贸易", "总经理", "13900139000", "", "客户推荐"],
    ["张三", "", "", "13700137000", "not-an-email", ""],
    ["李四", "", "", "", "li.si@example.cn", "不存在的来源"],
    ["", "", "", "", "", "展会"],
]
FORM = {
    "column_0": "full_name",
    "column_1": "company_name",
    "column_2": "title",
    "column_3": "mobile",
    "column_4": "email",
    "column_5": "source",
    "duplicates": "skip",
}


def upload(client, rows=ROWS):
    data = csv_bytes(rows, encoding="gbk")
    with TestCase.captureOnCommitCallbacks(execute=True):  # the worker reads the file, inline here
        response = client.post(
            reverse("customers:import_upload"), {"target": "leads", "file": SimpleUploadedFile("线索.csv", data)}
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    return ImportBatch.objects.filter(owner=response.wsgi_request.user).latest("pk")


def post(client, name, batch, captured, form=FORM):
    with captured(execute=True):
        return client.post(reverse(f"customers:{name}", args=[batch.pk]), form)


def test_dry_run_import_skip_on_reimport_and_revert(client, cast, django_capture_on_commit_callbacks):
    ScoringRule.objects.create(name="有邮箱", field="has_email", points=10)
    client.force_login(cast.owner)
    batch = upload(client)
    assert batch.mapping == {
        "0": "full_name",
        "1": "company_name",
        "2": "title",
        "3": "mobile",
        "4": "email",
        "5": "source",
    }

    assert post(client, "import_check", batch, django_capture_on_commit_callbacks).status_code == 302
    assert not Lead.objects.exists()
    page = client.get(batch.get_absolute_url()).content.decode()
    assert "nothing was written" in page and "不存在的来源" in page and "not-an-email" in page

    post(client, "import_start", batch, django_capture_on_commit_callbacks)
    leads = {lead.display_name: lead for lead in Lead.objects.all()}
    # A bad optional value is left out with a warning and the row imported; a row with nothing
    # to name or reach the lead by is the only one rejected.
    assert set(leads) == {"王小明", "欧阳娜娜", "张三", "李四"}
    assert leads["张三"].email == "" and leads["李四"].source is None
    batch.refresh_from_db()
    assert batch.error_count == 1 and batch.result["warnings"] == 2
    assert all(lead.owner == cast.owner for lead in leads.values())
    wang = leads["王小明"]
    assert wang.family_name == "王" and wang.source == source("trade_show") and wang.mobile == "13800138000"
    assert wang.score == lead_compute_score(wang) and wang.score >= 10
    assert leads["欧阳娜娜"].family_name == "欧阳"

    again = upload(client)
    post(client, "import_start", again, django_capture_on_commit_callbacks)
    again.refresh_from_db()
    assert Lead.objects.count() == 4
    assert (again.created_count, again.skipped_count, again.error_count) == (0, 4, 1)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("customers:import_revert", args=[batch.pk]))
    assert not Lead.objects.exists()
    batch.refresh_from_db()
    assert batch.stage == ImportBatch.Stage.REVERTED


def test_rules_assign_matching_leads_and_the_rest_stay_with_the_importer(
    client, cast, django_capture_on_commit_callbacks
):
    team = make_team("展会销售")
    rep = make_user(role=roles.SALES_REP, username="showrep")
    add_to_team(rep, team)
    AssignmentRule.objects.create(name="展会", source=source("trade_show"), team=team)
    client.force_login(cast.owner)
    batch = upload(client, ROWS[:3])
    post(client, "import_start", batch, django_capture_on_commit_callbacks)
    assigned, kept = Lead.objects.get(display_name="王小明"), Lead.objects.get(display_name="欧阳娜娜")
    assert (assigned.owner, assigned.team) == (rep, team)
    assert kept.owner == cast.owner


def test_an_outsider_cannot_see_another_users_lead_import(client, cast, django_capture_on_commit_callbacks):
    client.force_login(cast.owner)
    batch = upload(client)
    post(client, "import_start", batch, django_capture_on_commit_callbacks)
    client.force_login(cast.outsider)
    assert client.get(batch.get_absolute_url()).status_code == 404
    assert client.post(reverse("customers:import_revert", args=[batch.pk])).status_code == 404
    assert Lead.objects.count() == 4


def test_the_lead_kind_is_offered_and_a_mapping_without_a_person_is_refused(
    client, cast, django_capture_on_commit_callbacks
):
    client.force_login(cast.owner)
    assert 'value="leads"' in client.get(reverse("customers:import_list")).content.decode()
    batch = upload(client)
    response = post(
        client,
        "import_check",
        batch,
        django_capture_on_commit_callbacks,
        form={"column_2": "title", "duplicates": "skip"},
    )
    assert response.status_code == 400
    assert not Lead.objects.exists()
