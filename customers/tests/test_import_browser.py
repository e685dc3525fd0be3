"""A sales rep imports a GBK CSV from a Chinese spreadsheet: upload, mapping, dry run, import."""

import re

from crm import roles
from crm.testing import add_to_team, make_team, make_user
from crm.tests.browser import BROWSER_TEST, PASSWORD, assert_accessible, expect, overflowing, phone_fits, shot, sign_in
from customers.tests.import_helpers import csv_bytes

pytestmark = BROWSER_TEST

ROWS = [
    ["公司名称", "城市", "电话", "标签"],
    ["华为技术有限公司", "深圳", "0755-28780808", "重点"],
    ["", "北京", "010-1", ""],
    ["小米科技", "北京", "", ""],
]


def test_rep_imports_a_gbk_csv_with_a_dry_run_first(live_server, context):
    rep = make_user(role=roles.SALES_REP, username="lihua", password=PASSWORD)
    add_to_team(rep, make_team("华东销售"))
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("lihua")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.goto(f"{live_server.url}/customers/imports/")
    page.get_by_label("File").set_input_files(
        {"name": "客户.csv", "mimeType": "text/csv", "buffer": csv_bytes(ROWS, encoding="gbk")}
    )
    assert_accessible(page, "import upload")
    shot(page, "import-upload")
    page.get_by_role("button", name="Upload").click()

    expect(page.get_by_role("heading", name="Columns")).to_be_visible()
    expect(page.get_by_role("rowheader", name="公司名称")).to_be_visible()
    expect(page.get_by_label("Field for column 公司名称")).to_have_value("name")
    expect(page.get_by_label("Field for column 电话")).to_have_value("phone")
    assert_accessible(page, "import mapping")
    shot(page, "import-mapping")

    page.get_by_role("button", name="Dry run").click()
    expect(page.get_by_role("heading", name="Dry run result: nothing was written")).to_be_visible()
    errors = page.get_by_role("table").filter(has_text="Problem")
    expect(errors.get_by_role("cell", name="3", exact=True)).to_be_visible()
    assert_accessible(page, "dry run result")
    shot(page, "import-dry-run")

    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_role("heading", name="Import result")).to_be_visible()
    expect(page.get_by_text("Imported", exact=True)).to_be_visible()
    shot(page, "import-done")
    page.get_by_role("link", name="Go to companies").click()
    expect(page).to_have_url(re.compile(r"/customers/companies/"))
    expect(page.get_by_role("link", name="华为技术有限公司")).to_be_visible()
    expect(page.get_by_role("link", name="小米科技")).to_be_visible()
    shot(page, "import-companies-listed")


def test_a_file_that_cannot_be_read_says_why_in_chinese_and_can_be_read_again(live_server, zh_context):
    """A file named .csv that is no text: the worker's reading fails, the page tells why and offers
    to read it again with a chosen encoding."""
    rep = make_user(role=roles.SALES_REP, username="wangfang", password=PASSWORD)
    add_to_team(rep, make_team("华南销售"))
    page = zh_context.new_page()
    sign_in(page, live_server.url, "wangfang")
    page.goto(f"{live_server.url}/customers/imports/")
    page.get_by_label("文件").set_input_files(
        {"name": "客户.csv", "mimeType": "text/csv", "buffer": bytes(range(256)) * 16}
    )
    page.get_by_role("button", name="上传").click()
    expect(page.get_by_role("heading", name=re.compile("正在读取文件"))).to_be_visible()
    # In the language the importer uses, though the worker reads the file.
    expect(page.get_by_role("alert")).to_contain_text("无法识别文件的文本编码")
    expect(page.get_by_role("button", name="重新读取")).to_be_visible()
    expect(page.get_by_role("heading", name="列")).to_have_count(0)  # no mapping of a file not read
    assert_accessible(page, "import read failed")
    shot(page, "import-read-failed-zh")
    page.set_viewport_size({"width": 375, "height": 800})
    assert phone_fits(page), overflowing(page)
    shot(page, "import-read-failed-zh-phone")
