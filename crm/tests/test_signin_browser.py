"""In a browser, in Chinese: "where you are signed in" with two browsers, signing the other one out,
and a sign-in refused because the role may only sign in from the office network."""

from django.contrib.auth.models import Group

from crm import roles
from crm.models import RoleSecurity
from crm.testing import make_user
from crm.tests.browser import (
    BROWSER_TEST,
    PASSWORD,
    assert_accessible,
    expect,
    new_context,
    overflowing,
    phone_fits,
    shot,
    sign_in,
)

pytestmark = BROWSER_TEST


def test_a_rep_sees_where_they_are_signed_in_and_signs_the_other_browser_out(live_server, browser, zh_context):
    make_user(role=roles.SALES_REP, username="zhao.min", password=PASSWORD, language="zh-hans")
    other = new_context(browser, "zh-CN")
    try:
        elsewhere = sign_in(other.new_page(), live_server.url, "zhao.min")
        page = sign_in(zh_context.new_page(), live_server.url, "zhao.min")
        page.goto(f"{live_server.url}/accounts/profile/")
        page.get_by_role("link", name="登录设备").click()
        expect(page.get_by_role("heading", name="登录设备")).to_be_visible()
        expect(page.get_by_text("当前浏览器")).to_be_visible()
        expect(page.get_by_role("button", name="退出登录")).to_have_count(1)
        assert_accessible(page, "signed-in sessions")
        shot(page, "sessions-zh")
        page.set_viewport_size({"width": 375, "height": 800})
        assert phone_fits(page), overflowing(page)
        shot(page, "sessions-zh-phone")

        page.get_by_role("button", name="在其他所有设备上退出").click()
        expect(page.get_by_role("alert").or_(page.get_by_role("status")).first).to_contain_text("已退出")
        elsewhere.reload()
        expect(elsewhere).to_have_url(f"{live_server.url}/accounts/login/?next=/")
    finally:
        other.close()


def test_an_administrator_outside_the_office_is_told_why_in_chinese(live_server, zh_context):
    make_user(role=roles.ADMINISTRATOR, username="admin.qian", password=PASSWORD)
    RoleSecurity.objects.create(role=Group.objects.get(name=roles.ADMINISTRATOR), networks="10.20.0.0/16")
    page = zh_context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.locator("#id_username").fill("admin.qian")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("#id_password").press("Enter")
    expect(page.get_by_text("127.0.0.1")).to_be_visible()
    expect(page).to_have_url(f"{live_server.url}/accounts/login/")
    assert_accessible(page, "sign-in refused by network")
    shot(page, "sign-in-network-refused-zh")
