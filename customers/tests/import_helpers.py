"""Builders for import tests: files in the encodings and layouts people really upload."""

import csv
import io

from customers.importing import running, service
from customers.models import ImportBatch


def csv_bytes(rows: list[list[str]], *, encoding: str = "utf-8", delimiter: str = ",") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list]) -> bytes:
    import xlsxwriter

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet()
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    workbook.close()
    return buffer.getvalue()


def run_import(
    actor,
    rows,
    *,
    target="companies",
    dry_run=False,
    duplicates="skip",
    team=None,
    filename="x.csv",
    encoding="utf-8",
    data=None,
    **options,
) -> ImportBatch:
    """Upload, keep the guessed mapping, and run the import inline (the task's own function)."""
    batch = service.import_create(
        actor=actor, target=target, filename=filename, data=data or csv_bytes(rows, encoding=encoding), team=team
    )
    service.import_configure(
        batch=batch,
        actor=actor,
        mapping=batch.mapping,
        duplicates=duplicates,
        company_policy=options.get("company_policy", ImportBatch.CompanyPolicy.MATCH_OR_CREATE),
        team=team,
    )
    _queue(batch, actor, dry_run)
    running.import_run(batch_id=batch.pk)
    batch.refresh_from_db()
    return batch


def _queue(batch, actor, dry_run):
    # import_start queues the task on commit; the tests call the task's function directly instead.
    batch.refresh_from_db()
    service.import_start(batch=batch, actor=actor, dry_run=dry_run)
