"""Reading uploaded files: encodings, delimiters, spreadsheets, vCards, and header matching."""

import codecs
import io
import quopri

import pytest

from customers.importing.columns import auto_mapping, split_full_name
from customers.importing.reading import read_csv
from customers.importing.spreadsheet import read_spreadsheet
from customers.importing.vcard import contact_vcard, read_vcards
from customers.tests.import_helpers import csv_bytes, xlsx_bytes


def read_all(reader, *args, **options):
    """The table with its rows read into a list (readers hand them out as a generator)."""
    table = reader(*args, **options)
    table.rows = list(table.rows)
    return table


ROWS = [["姓名", "手机", "邮箱", "公司"], ["张伟", "13800138000", "zw@example.cn", "华为技术有限公司"]]


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (csv_bytes(ROWS), "utf-8"),
        (codecs.BOM_UTF8 + csv_bytes(ROWS), "utf-8-sig"),
        (csv_bytes(ROWS, encoding="gbk"), "gb18030"),
        (csv_bytes(ROWS, encoding="gb18030"), "gb18030"),
        (csv_bytes(ROWS, encoding="utf-16"), "utf-16"),  # with a byte-order mark, as Excel writes it
        (csv_bytes(ROWS, encoding="utf-16-le"), "utf-16-le"),
    ],
)
def test_encodings_are_recognised(data, encoding):
    table = read_all(read_csv, data)
    assert table.encoding == encoding
    assert table.headers == ROWS[0]
    assert table.rows == [(2, ROWS[1])]


def test_a_short_gbk_file_is_not_mistaken_for_korean():
    table = read_all(read_csv, "公司\n华为\n".encode("gbk"))
    assert (table.encoding, table.rows[0][1]) == ("gb18030", ["华为"])


def test_the_user_may_override_the_encoding():
    table = read_all(read_csv, csv_bytes(ROWS, encoding="gbk"), encoding="GBK")
    assert table.headers[0] == "姓名"


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiters_are_detected(delimiter):
    rows = [["Company", "City", "Phone"], ["ACME, Inc.", "Berlin", "030 1234"], ["Foo", "Bar", "1"]]
    table = read_all(read_csv, csv_bytes(rows, delimiter=delimiter))
    assert table.delimiter == delimiter
    assert table.rows[0][1] == rows[1]


def test_spreadsheet_numbers_come_back_as_the_digits_people_typed():
    table = read_all(
        read_spreadsheet, xlsx_bytes([["公司", "电话", "金额"], ["华为", 13800138000, 1.5], ["小米", 13900139000, 2]])
    )
    assert table.rows == [(2, ["华为", "13800138000", "1.5"]), (3, ["小米", "13900139000", "2"])]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            ["First Name", "Last Name", "E-mail Address", "Mobile Phone", "Company", "Job Title", "Business Phone"],
            ["given_name", "family_name", "email", "mobile", "company", "title", "phone"],
        ),  # Outlook
        (
            ["Given Name", "Family Name", "E-mail 1 - Value", "Phone 1 - Value", "Organization 1 - Name"],
            ["given_name", "family_name", "email", "mobile", "company"],
        ),  # Google Contacts
        (
            ["First Name", "Primary Email", "Mobile Number", "Organization"],
            ["given_name", "email", "mobile", "company"],
        ),  # Thunderbird
        (
            ["姓名", "手机号", "电子邮件", "公司名称", "职位", "生日", "备注", "标签"],
            ["full_name", "mobile", "email", "company", "title", "birthday", "notes", "tags"],
        ),
        (["  ＥＭＡＩＬ ", "手机", "Unknown column"], ["email", "mobile", None]),
    ],
)
def test_contact_headers_are_matched(headers, expected):
    mapping = auto_mapping(headers, "contacts")
    assert [mapping.get(str(i)) for i in range(len(headers))] == expected


def test_company_headers_are_matched_for_salesforce_and_chinese():
    sf = ["Account Name", "Billing City", "Phone", "Website"]
    assert list(auto_mapping(sf, "companies").values()) == ["name", "city", "phone", "website"]
    cn = ["公司名称", "城市", "地址", "网址", "税号", "电话"]
    assert list(auto_mapping(cn, "companies").values()) == ["name", "city", "street", "website", "tax_id", "phone"]


def test_a_saved_mapping_wins_over_the_guess():
    mapping = auto_mapping(["Company", "Remark"], "companies", saved={"remark": "industry"})
    assert mapping == {"0": "name", "1": "industry"}


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("王小明", ("王", "小明")),
        ("欧阳娜娜", ("欧阳", "娜娜")),
        ("司马懿", ("司马", "懿")),
        ("王 小明", ("王", "小明")),
        ("李", ("李", "")),
        ("Ada Lovelace", ("Lovelace", "Ada")),
        ("Lovelace, Ada", ("Lovelace", "Ada")),
        ("Mary Ann Smith", ("Smith", "Mary Ann")),
        ("Cher", ("", "Cher")),
    ],
)
def test_full_names_are_split(name, parts):
    assert split_full_name(name) == parts


def test_vcard_21_quoted_printable_with_soft_breaks_inside_characters_and_charsets():
    name = quopri.encodestring("张三丰".encode()).decode()  # =E5=BC=A0...
    broken = name[:7] + "=\r\n" + name[7:]  # a soft break in the middle of the first character
    note = quopri.encodestring("老朋友".encode("gbk")).decode()
    card = (
        "BEGIN:VCARD\r\nVERSION:2.1\r\n"
        f"FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:{broken}\r\n"
        "TEL;CELL:13800138000\r\nTEL;WORK;VOICE:010-12345678\r\nEMAIL;PREF;INTERNET:zs@example.com\r\n"
        f"NOTE;CHARSET=GBK;QUOTED-PRINTABLE:{note}\r\nEND:VCARD\r\n"
    )
    table = read_all(read_vcards, card.encode("ascii"))
    row = dict(zip(table.headers, table.rows[0][1], strict=True))
    assert row["FN"] == "张三丰"
    assert (row["TEL CELL"], row["TEL"], row["EMAIL"], row["NOTE"]) == (
        "13800138000",
        "010-12345678",
        "zs@example.com",
        "老朋友",
    )
    assert auto_mapping(table.headers, "contacts")["0"] == "full_name"


def test_vcard_40_in_utf16():
    card = (
        "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ada Lovelace\r\nN:Lovelace;Ada;;;\r\n"
        "TEL;TYPE=cell,voice;VALUE=uri:tel:+44-20-7946-0018\r\nEMAIL;TYPE=work:ada@example.org\r\n"
        "ORG:Analytical Engines\r\nBDAY:18151210\r\nEND:VCARD\r\n"
    )
    table = read_all(read_vcards, card.encode("utf-16"))
    row = dict(zip(table.headers, table.rows[0][1], strict=True))
    assert (row["N family"], row["N given"], row["TEL CELL"], row["ORG"], row["BDAY"]) == (
        "Lovelace",
        "Ada",
        "+44-20-7946-0018",
        "Analytical Engines",
        "18151210",
    )


@pytest.mark.django_db
def test_vcard_export_reads_back(cast):
    from datetime import date

    from customers.services import contact_create

    contact = contact_create(
        actor=cast.owner,
        family_name="王",
        given_name="小明",
        email="xm@example.cn",
        mobile="13800138000",
        title="经理; 销售",
        birthday=date(1990, 5, 1),
    )
    for version in ("3.0", "4.0"):
        table = read_all(read_vcards, contact_vcard(contact, version=version, reveal=True).encode())
        row = dict(zip(table.headers, table.rows[0][1], strict=True))
        assert (row["FN"], row["TEL CELL"], row["TITLE"], row["EMAIL"]) == (
            "王小明",
            "13800138000",
            "经理; 销售",
            "xm@example.cn",
        )
    assert "13800138000" not in contact_vcard(contact, reveal=False)


# --- the spreadsheet reader: values as people see them, read as a stream -----------------------------


def test_spreadsheet_dates_booleans_errors_and_formulas_read_as_shown():
    import datetime

    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet()
    chinese_date = book.add_format({"num_format": 'yyyy"年"m"月"d"日"'})
    stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    money = book.add_format({"num_format": "#,##0.00_);[Red](#,##0.00)"})
    sheet.write_row(0, 0, ["生日", "签约", "有效", "金额", "公式", "错误", "文字数字"])
    sheet.write_datetime(1, 0, datetime.datetime(1996, 2, 29), chinese_date)
    sheet.write_datetime(1, 1, datetime.datetime(2026, 3, 1, 9, 30), stamp)
    sheet.write_boolean(1, 2, True)
    sheet.write_number(1, 3, 1234.5, money)
    sheet.write_formula(1, 4, '="华"&"为"', None, "华为")
    sheet.write_formula(1, 5, "=1/0", None, "#DIV/0!")
    sheet.write_string(1, 6, "013800138000")
    book.close()
    table = read_all(read_spreadsheet, buffer.getvalue())
    assert table.rows == [(2, ["1996-02-29", "2026-03-01 09:30:00", "TRUE", "1234.5", "华为", "", "013800138000"])]


def test_the_first_sheet_is_the_workbooks_first_not_the_first_file(tmp_path):
    """A workbook whose sheets were reordered keeps sheet2.xml first; the workbook's order wins."""
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(xlsx_bytes([["A"], ["one"]])))
    second = xlsx_bytes([["B"], ["two"]])
    parts = {info.filename: source.read(info) for info in source.infolist()}
    parts["xl/worksheets/sheet2.xml"] = zipfile.ZipFile(io.BytesIO(second)).read("xl/worksheets/sheet1.xml")
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"worksheets/sheet1.xml", b"worksheets/sheet2.xml"
    )
    # sheet2.xml uses the second file's shared strings: give it inline strings instead.
    parts["xl/worksheets/sheet2.xml"] = (
        b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>B</t></is></c></row>'
        b'<row r="2"><c r="A2" t="inlineStr"><is><r><t>tw</t></r><r><t>o</t></r>'
        b"<rPh><t>ignored</t></rPh></is></c></row></sheetData></worksheet>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as out:
        for name, content in parts.items():
            out.writestr(name, content)
    table = read_all(read_spreadsheet, buffer.getvalue())
    assert table.headers == ["B"] and table.rows == [(2, ["two"])]


def test_reading_a_large_csv_keeps_only_a_row_in_memory():
    """Rows come out of a generator while the file is decoded: reading 8 MB of rows allocates a
    small fraction of the file, where reading it whole took several times its size."""
    import tracemalloc

    rows = [["公司名称", "城市", "备注"], *([f"星河科技{i}", "深圳", "客户关系良好。" * 20] for i in range(20_000))]
    data = csv_bytes(rows)
    assert len(data) > 8_000_000
    stream = io.BytesIO(data)
    tracemalloc.start()
    table = read_csv(stream)
    count = sum(1 for _ in table.rows)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert count == 20_000 and peak < 2_000_000


def test_a_spreadsheet_is_read_row_by_row():
    import tracemalloc

    data = xlsx_bytes([["公司名称", "备注"], *([f"星河科技{i}", f"客户关系良好 {i}"] for i in range(20_000))])
    tracemalloc.start()
    table = read_spreadsheet(data)
    first = next(table.rows)
    peak_at_first_row = tracemalloc.get_traced_memory()[1]
    rest = sum(1 for _ in table.rows)
    tracemalloc.stop()
    assert first == (2, ["星河科技0", "客户关系良好 0"]) and rest == 19_999
    # Only the shared strings are held whole (two per row here), never the rows.
    assert peak_at_first_row < 8_000_000
