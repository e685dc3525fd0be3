"""Address books as their tools export them: Outlook (English and Chinese headers), Google
Contacts (both CSV layouts), Thunderbird, Apple Contacts and a WPS/Excel sheet import with their
rows intact. Several e-mail or phone columns fill the primary field and keep the rest; a bad
optional value is a warning on its row, and the row is imported.

The samples in customers/tests/samples/ follow each tool's documented export layout; the
semicolon, UTF-16 and GBK variants are made from them here, as those tools write them on
European and Chinese Windows.
"""

import csv
import datetime
import io
from pathlib import Path

import pytest
from django.utils import translation

from customers.importing.customer_kinds import parse_date
from customers.importing.service import error_report_rows
from customers.models import Contact, Interaction
from customers.tests.import_helpers import run_import, xlsx_bytes

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).parent / "samples"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def redelimit(data: bytes, delimiter: str) -> str:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def contacts() -> dict[str, Contact]:
    return {contact.display_name: contact for contact in Contact.objects.select_related("company")}


def report(batch) -> list[str]:
    with translation.override("en"):
        return [str(line[1]) for line in list(error_report_rows(batch))[1:]]


def import_contacts(actor, data: bytes, filename: str, **options):
    with translation.override("en"):  # the worker writes the report in the language it runs in
        return run_import(actor, None, target="contacts", data=data, filename=filename, **options)


def check_outlook_english(batch):
    people = contacts()
    assert set(people) == {"Wei Zhang", "Anna Schmidt", "Li Na"}, people
    wei = people["Wei Zhang"]
    assert (wei.family_name, wei.given_name, wei.title) == ("Zhang", "Wei", "Purchasing Manager")  # not "Mr."
    assert wei.email == "zhang.wei@xinghe.example"
    assert wei.mobile == "+86 138 0013 8001" and wei.phone == "+86 21 6888 0001"
    assert wei.birthday == datetime.date(1985, 5, 31)
    assert wei.company.name == "Xinghe Technology"
    assert sorted(tag.name for tag in wei.tags.all()) == ["Customers", "Trade fair"]
    note = Interaction.objects.get(contact=wei).body
    assert "Met at the Canton Fair" in note and "wei.zhang@gmail.example" in note  # the second address is kept
    assert "6888 0009" not in note and "5555 0101" not in note  # fax numbers are not phones
    assert people["Anna Schmidt"].birthday is None  # Outlook's 0/0/00
    assert (batch.created_count, batch.error_count) == (3, 0)
    problems = report(batch)
    assert any("Birthday “13/31/1990”" in line for line in problems)
    assert any("li.na@example" in line for line in problems)
    assert any("more phone number" in line for line in problems)  # Wei Zhang had five numbers


def test_outlook_english(cast):
    batch = import_contacts(cast.owner, sample("outlook_en.csv"), "contacts.CSV")
    check_outlook_english(batch)


def test_outlook_english_semicolon_separated(cast):
    data = redelimit(sample("outlook_en.csv"), ";").encode("cp1252", "replace")
    check_outlook_english(import_contacts(cast.owner, data, "contacts.csv"))


def test_outlook_unicode_export_is_utf16_with_tabs(cast):
    data = b"\xff\xfe" + redelimit(sample("outlook_en.csv"), "\t").encode("utf-16-le")
    check_outlook_english(import_contacts(cast.owner, data, "contacts.txt.csv"))


def test_outlook_chinese_headers_in_gbk(cast):
    data = sample("outlook_zh.csv").decode("utf-8").encode("gbk")
    batch = import_contacts(cast.owner, data, "联系人.csv")
    people = contacts()
    assert set(people) == {"王小明", "欧阳娜娜"}
    wang = people["王小明"]
    assert (wang.title, wang.mobile, wang.phone) == ("销售总监", "13900139002", "021-6888 1234")
    assert wang.birthday == datetime.date(1988, 7, 15) and wang.company.name == "云帆贸易有限公司"
    assert sorted(tag.name for tag in wang.tags.all()) == ["客户", "重点"]
    ouyang = people["欧阳娜娜"]
    assert ouyang.email == "ouyang@example.cn" and ouyang.title == "采购经理"
    assert "oy.nana@example.com" in Interaction.objects.get(contact=ouyang).body
    assert batch.error_count == 0


def test_google_contacts(cast):
    batch = import_contacts(cast.owner, sample("google_contacts.csv"), "contacts.csv")
    people = contacts()
    assert set(people) == {"陈静", "Tom Baker"}
    chen = people["陈静"]
    assert (chen.title, chen.email) == ("市场经理", "chen.jing@ruifeng.example")
    assert chen.mobile == "+86 137 0013 7003" and chen.phone == "+86 755 8666 0001"
    assert chen.birthday == datetime.date(1992, 3, 8)
    assert [tag.name for tag in chen.tags.all()] == ["客户"]  # not Google's own "* myContacts"
    assert "jingchen@mail.example" in Interaction.objects.get(contact=chen).body
    tom = people["Tom Baker"]
    assert tom.title == "Owner" and tom.birthday is None  # "--11-02" has no year
    problems = report(batch)
    assert any("2 more phone numbers" in line for line in problems)
    assert any("--11-02" in line for line in problems)
    assert batch.error_count == 0


def test_google_contacts_legacy_layout(cast):
    import_contacts(cast.owner, sample("google_contacts_legacy.csv"), "google.csv")
    zhao = contacts()["赵磊"]
    assert (zhao.family_name, zhao.given_name, zhao.title, zhao.company.name) == ("赵", "磊", "厂长", "恒通制造")
    assert zhao.mobile == "13600136005" and [tag.name for tag in zhao.tags.all()] == ["供应商"]


def test_thunderbird(cast):
    batch = import_contacts(cast.owner, sample("thunderbird.csv"), "thunderbird.csv")
    people = contacts()
    assert set(people) == {"Fang Liu", "Kai Zhou"}
    liu = people["Fang Liu"]
    assert liu.birthday == datetime.date(1990, 4, 22)  # from Birth Year / Month / Day
    assert (liu.email, liu.mobile, liu.phone) == ("liu.fang@tianma.example", "+86 135 0013 5005", "+86 20 3888 0005")
    assert (liu.title, liu.company.name) == ("Engineer", "Tianma Electronics")
    assert people["Kai Zhou"].birthday is None
    assert any("1991/2/30" in line for line in report(batch))
    assert batch.error_count == 0


def test_apple_contacts_vcard(cast):
    import_contacts(cast.owner, sample("apple_contacts.vcf"), "Contacts.vcf")
    people = contacts()
    assert set(people) == {"孙丽", "Linh Nguyen"}
    sun = people["孙丽"]
    assert (sun.email, sun.mobile, sun.title) == ("sun.li@hongda.example", "138 0013 8006", "合伙人")
    assert sun.birthday == datetime.date(1986, 9, 9) and sun.company.name == "宏达咨询"
    assert people["Linh Nguyen"].birthday == datetime.date(1993, 1, 17)


def test_wps_sheet_with_date_cells_and_chinese_dates(cast):
    rows = [
        ["姓名", "公司", "职务", "手机", "邮箱", "生日"],
        ["吴刚", "月桂贸易", "总经理", "13700137008", "wu.gang@yuegui.example", datetime.date(1975, 10, 1)],
        ["郑爽", "月桂贸易", "助理", "13700137009", "", "1996年2月29日"],
        ["钱多", "", "", "13700137010", "", 35000],  # an Excel serial number: 1995-10-28
    ]
    batch = import_contacts(cast.owner, xlsx_bytes(rows), "客户.xlsx")
    people = contacts()
    assert people["吴刚"].birthday == datetime.date(1975, 10, 1)
    assert people["郑爽"].birthday == datetime.date(1996, 2, 29)
    assert people["钱多"].birthday == datetime.date(1995, 10, 28)
    assert batch.error_count == 0


def test_a_row_missing_what_makes_a_contact_names_every_problem(cast):
    rows = [["Name", "E-mail", "Birthday"], ["", "not-an-address", "31/31/2020"]]
    data = "\n".join(",".join(row) for row in rows).encode()
    batch = import_contacts(cast.owner, data, "bad.csv")
    assert batch.error_count == 1 and not Contact.objects.exists()
    [line] = report(batch)
    assert "no name, email or phone" in line and "not-an-address" in line and "31/31/2020" in line


@pytest.mark.parametrize(
    ("text", "order", "expected"),
    [
        ("2024-05-31", "mdy", datetime.date(2024, 5, 31)),
        ("2024/5/31", "dmy", datetime.date(2024, 5, 31)),
        ("2024年5月31日", "mdy", datetime.date(2024, 5, 31)),
        ("20240531", "mdy", datetime.date(2024, 5, 31)),
        ("03/04/2024", "mdy", datetime.date(2024, 3, 4)),
        ("03/04/2024", "dmy", datetime.date(2024, 4, 3)),
        ("31.05.1985", "dmy", datetime.date(1985, 5, 31)),
        ("5/31/85", "mdy", datetime.date(1985, 5, 31)),
        ("2024-05-31T00:00:00", "mdy", datetime.date(2024, 5, 31)),
        ("2024-05-31 00:00:00", "mdy", datetime.date(2024, 5, 31)),
        ("45000", "mdy", datetime.date(2023, 3, 15)),
        ("0/0/00", "mdy", None),
        ("", "mdy", None),
    ],
)
def test_dates_in_the_forms_people_write_them(text, order, expected):
    assert parse_date(text, date_order=order) == expected


@pytest.mark.parametrize("text", ["31/31/2020", "--11-02", "soon", "2024-02-30", "123"])
def test_text_that_is_no_date_is_refused(text):
    with pytest.raises(ValueError):
        parse_date(text)
