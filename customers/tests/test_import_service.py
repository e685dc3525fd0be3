"""The import service: dry run, upsert choices, Chinese files, resume after a crash, revert."""

import pytest
from auditlog.models import LogEntry
from django.core.exceptions import PermissionDenied

from crm.fields import blind_lookup
from customers.importing import running, service
from customers.importing.sealed import row_errors
from customers.models import Company, Contact, ImportBatch, ImportedRecord
from customers.services import company_update
from customers.tests.factories import CompanyFactory
from customers.tests.import_helpers import csv_bytes, run_import, upload

pytestmark = pytest.mark.django_db

GBK_ROWS = [
    ["公司名称", "城市", "电话", "税号", "标签", "备注"],
    ["华为技术有限公司", "深圳", "0755-28780808", "914403001922038216", "重点,华南", "老客户"],
    ["阿里巴巴集团", "杭州", "+86 571 8502 2088", "", "", ""],
    ["", "北京", "", "", "", ""],  # no name: a row error
    ["小米科技", "北京", "", "", "", ""],
]


def test_dry_run_reports_row_errors_and_writes_nothing(cast):
    before = LogEntry.objects.count()
    batch = run_import(cast.owner, GBK_ROWS, encoding="gbk", team=cast.team, dry_run=True)
    assert batch.stage == ImportBatch.Stage.CHECKED
    assert (batch.created_count, batch.error_count) == (3, 1)
    errors = row_errors(batch)
    assert errors[0]["row"] == 4
    assert "name" in errors[0]["message"].lower()
    assert not Company.objects.exists()
    assert not ImportedRecord.objects.exists()
    assert LogEntry.objects.count() == before


def test_gbk_file_imports_with_owner_team_tags_notes_and_encrypted_phone(cast):
    batch = run_import(cast.owner, GBK_ROWS, encoding="gbk", team=cast.team)
    assert batch.stage == ImportBatch.Stage.IMPORTED
    assert (batch.created_count, batch.error_count) == (3, 1)
    huawei = Company.objects.get(name="华为技术有限公司")
    assert (huawei.owner, huawei.team, huawei.city) == (cast.owner, cast.team, "深圳")
    assert sorted(huawei.tags.values_list("name", flat=True)) == ["华南", "重点"]
    assert huawei.interactions.get().body == "老客户"
    assert Company.objects.filter(**blind_lookup(Company, "phone", "057185022088")).exists()
    assert LogEntry.objects.filter(object_pk=str(huawei.pk), action=LogEntry.Action.CREATE).exists()
    # Another rep of another team sees none of it.
    assert not Company.objects.visible_to(cast.outsider).exists()


@pytest.mark.parametrize(
    ("mode", "expected_city", "companies", "counts"),
    [("skip", "深圳", 1, (0, 0, 1)), ("update", "东莞", 1, (0, 1, 0)), ("create", "东莞", 2, (1, 0, 0))],
)
def test_duplicate_handling(cast, mode, expected_city, companies, counts):
    existing = CompanyFactory(name="华为", city="深圳", owner=cast.owner, team=cast.team, tax_id="91440300192203821X")
    rows = [["公司", "城市", "税号"], ["华为", "东莞", "91440300 192203821x"]]
    batch = run_import(cast.owner, rows, duplicates=mode, team=cast.team)
    assert (batch.created_count, batch.updated_count, batch.skipped_count) == counts
    assert Company.objects.count() == companies
    latest = Company.objects.order_by("-id").first()
    assert latest.city == expected_city
    existing.refresh_from_db()
    assert existing.city == ("东莞" if mode == "update" else "深圳")


def test_contacts_match_by_email_then_mobile_and_link_companies(cast):
    rows = [
        ["姓名", "手机", "邮箱", "公司", "职位"],
        ["欧阳娜娜", "138 0013 8000", "NANA@example.com", "星辰科技", "经理"],
        ["王小明", "13900139000", "", "星辰科技", ""],
    ]
    run_import(cast.owner, rows, target="contacts", team=cast.team)
    nana = Contact.objects.get(email="nana@example.com")
    assert (nana.family_name, nana.given_name, nana.title) == ("欧阳", "娜娜", "经理")
    assert Company.objects.filter(name="星辰科技").count() == 1
    assert nana.company == Contact.objects.get(given_name="小明").company
    again = [["Name", "Mobile Phone", "E-mail Address", "Job Title"], ["", "+86 139-0013-9000", "", "总监"]]
    batch = run_import(cast.owner, again, target="contacts", duplicates="update", team=cast.team)
    assert batch.updated_count == 1
    assert Contact.objects.get(given_name="小明").title == "总监"


def test_records_out_of_reach_are_never_matched_and_cannot_be_updated(cast):
    CompanyFactory(name="隐形公司", city="", owner=cast.outsider, team=cast.other_team)
    batch = run_import(cast.owner, [["Company"], ["隐形公司"]], duplicates="update", team=cast.team)
    assert batch.created_count == 1
    assert Company.objects.filter(name="隐形公司").count() == 2


def test_a_team_the_user_does_not_belong_to_is_refused(cast):
    with pytest.raises(Exception, match="own teams"):
        service.import_create(
            actor=cast.owner, target="companies", filename="x.csv", data=b"Company\nA\n", team=cast.other_team
        )


def test_auditor_may_not_import(cast):
    with pytest.raises(PermissionDenied):
        service.import_create(actor=cast.auditor, target="companies", filename="x.csv", data=b"Company\nA\n")


def test_resume_after_a_crash_mid_import_creates_no_duplicates(cast, monkeypatch):
    monkeypatch.setattr(running, "CHUNK_SIZE", 2)
    rows = [["Company", "City"], *([f"公司{i}", "上海"] for i in range(7))]
    batch = upload(cast.owner, csv_bytes(rows), filename="c.csv")
    service.import_start(batch=batch, actor=cast.owner, dry_run=False)
    # The worker dies after two chunks: their rows and their progress were committed together.
    assert running.import_run(batch_id=batch.pk, max_chunks=2) is False
    batch.refresh_from_db()
    assert (batch.next_row, Company.objects.count()) == (4, 4)
    # The broker redelivers the task, and it may even run twice.
    assert running.import_run(batch_id=batch.pk) is True
    assert running.import_run(batch_id=batch.pk) is True
    batch.refresh_from_db()
    assert Company.objects.count() == 7
    assert sorted(Company.objects.values_list("name", flat=True)) == [f"公司{i}" for i in range(7)]
    assert (batch.created_count, batch.status, batch.done) == (7, "done", 7)


def test_revert_deletes_created_restores_updated_and_keeps_records_changed_since(cast):
    kept = CompanyFactory(name="甲", city="北京", owner=cast.owner, team=cast.team)
    restored = CompanyFactory(name="乙", city="北京", owner=cast.owner, team=cast.team, industry="制造")
    rows = [["Company", "City", "Industry"], ["甲", "北京", "金融"], ["乙", "北京", "零售"], ["丙", "北京", "教育"]]
    batch = run_import(cast.owner, rows, duplicates="update", team=cast.team)
    assert (batch.created_count, batch.updated_count) == (1, 2)
    company_update(company=Company.objects.get(pk=kept.pk), actor=cast.owner, street="长安街 1 号")

    outcome = service.import_revert(batch=batch, actor=cast.owner)

    assert (outcome.deleted, outcome.restored, len(outcome.kept)) == (1, 1, 1)
    assert not Company.objects.filter(name="丙").exists()
    assert Company.objects.get(pk=restored.pk).industry == "制造"
    assert Company.objects.get(pk=kept.pk).industry == "金融"  # edited after the import: left alone
    batch.refresh_from_db()
    assert batch.stage == ImportBatch.Stage.REVERTED


def test_only_the_importer_reverts(cast):
    batch = run_import(cast.owner, [["Company"], ["甲"]], team=cast.team)
    with pytest.raises(PermissionDenied):
        service.import_revert(batch=batch, actor=cast.manager)
    assert Company.objects.count() == 1


def test_error_report_lists_failing_rows_with_reasons(cast):
    rows = [
        ["Company", "Website", "Country"],
        ["甲", "not a url at all", "CN"],
        ["乙", "", "Atlantis"],
        ["丙", "", ""],
        ["", "https://nameless.example", "CN"],
    ]
    batch = run_import(cast.owner, rows, team=cast.team)
    report = list(service.error_report_rows(batch))
    assert report[0] == ["Row", "Problem", "Company", "Website", "Country"]
    assert [r[0] for r in report[1:]] == [2, 3, 5]
    # Bad optional values: the row is imported without them, and the report says so.
    assert "not a url at all" in report[1][1] and report[1][1].startswith("Imported")
    assert "Atlantis" in report[2][1] and report[2][2:] == ["乙", "", "Atlantis"]
    assert report[3][1].startswith("Not imported") and "name is empty" in report[3][1]
    assert batch.created_count == 3 and batch.error_count == 1


def test_a_chunk_reads_what_is_shared_with_the_importer_once_not_per_row(cast, monkeypatch):
    """Every row checks the importer's reach (duplicates, the write kit's visibility re-check);
    what is shared with them is read once per chunk, not per row."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from crm.services import record_share

    shared = CompanyFactory(name="共享公司", owner=cast.outsider, team=cast.other_team)
    record_share(obj=shared, recipient=cast.owner, level="view", actor=cast.outsider)
    rows = [["Company", "City"], *([f"公司{i}", "上海"] for i in range(20))]
    batch = upload(cast.owner, csv_bytes(rows), filename="c.csv")
    service.import_configure(
        batch=batch,
        actor=cast.owner,
        mapping=batch.mapping,
        duplicates="update",
        company_policy=batch.company_policy,
        team=cast.team,
    )
    service.import_start(batch=batch, actor=cast.owner, dry_run=False, queue=False)
    with CaptureQueriesContext(connection) as captured:
        running.import_run(batch_id=batch.pk)
    shared_reads = [q for q in captured.captured_queries if "userobjectpermission" in q["sql"]]
    assert Company.objects.filter(owner=cast.owner).count() == 20
    assert 1 <= len(shared_reads) <= 3, len(shared_reads)  # once per model and action, not 20 times
