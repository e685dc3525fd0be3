"""An administrator whose role requires a second factor sets up an authenticator app at their first
sign-in and signs in again with password and code, in Chinese, on a desktop and a phone."""

import re
import time
from base64 import b32decode

from django.contrib.auth.models import Group
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from crm import roles
from crm.models import RoleSecurity
from crm.testing import make_user
from crm.tests.browser import BROWSER_TEST, PASSWORD, assert_accessible, expect, overflowing, phone_fits, shot, sign_in

pytestmark = BROWSER_TEST


def app_code(key: bytes, *, after: int = -1) -> str:
    """What an authenticator app shows for `key`: the current code, or the next one when the
    current one was used already (time step `after`)."""
    now_t = int(time.time() // 30)
    totp = TOTP(key, step=30, t0=0, digits=6)
    totp.time = max(now_t, after + 1) * 30
    return f"{totp.token():06d}"


def fits_a_phone(page, name):
    desktop = page.viewport_size
    page.set_viewport_size({"width": 375, "height": 800})
    assert phone_fits(page), f"{name} is wider than a phone: {overflowing(page)}"
    page.set_viewport_size(desktop)


def test_an_administrator_enrols_an_app_and_signs_in_with_its_code(live_server, zh_context):
    RoleSecurity.objects.create(role=Group.objects.get(name=roles.ADMINISTRATOR), require_mfa=True)
    admin = make_user(role=roles.ADMINISTRATOR, username="zhaomin", is_staff=True, password=PASSWORD)
    page = zh_context.new_page()

    sign_in(page, live_server.url, "zhaomin")
    expect(page).to_have_url(re.compile(r"/accounts/two-factor/enrol/"))
    expect(page.locator(".crm-qr svg")).to_be_visible()
    secret = page.locator("#mfa-secret").inner_text().replace(" ", "")
    key = b32decode(secret + "=" * (-len(secret) % 8))
    assert_accessible(page, "second factor enrolment")
    shot(page, "mfa-enrol-zh")
    fits_a_phone(page, "second factor enrolment")

    page.locator("#id_code").fill(app_code(key))
    page.locator("#id_code").press("Enter")
    expect(page).to_have_url(re.compile(r"/accounts/two-factor/codes/"))
    expect(page.locator("#mfa-recovery-codes code")).to_have_count(10)
    assert_accessible(page, "recovery codes")
    fits_a_phone(page, "recovery codes")
    page.locator("main a.btn-primary").click()
    expect(page).to_have_url(f"{live_server.url}/")

    page.locator(".crm-topbar .dropdown-toggle").click()
    page.locator(".crm-topbar form[action='/accounts/logout/'] button").click()
    sign_in(page, live_server.url, "zhaomin")
    expect(page).to_have_url(re.compile(r"/accounts/two-factor/verify/"))
    expect(page.locator("#id_code")).to_have_attribute("autocomplete", "one-time-code")
    assert_accessible(page, "second factor at sign-in")
    shot(page, "mfa-verify-zh")
    fits_a_phone(page, "second factor at sign-in")

    page.get_by_role("link", name=re.compile("恢复码|recovery code")).click()
    expect(page).to_have_url(re.compile(r"/accounts/two-factor/recovery/"))
    assert_accessible(page, "recovery code at sign-in")
    page.go_back()

    used = TOTPDevice.objects.get(user=admin, confirmed=True).last_t
    page.locator("#id_code").fill(app_code(key, after=used))
    page.locator("#id_code").press("Enter")
    expect(page).to_have_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/admin/")
    expect(page).to_have_url(f"{live_server.url}/admin/")
    page.goto(f"{live_server.url}/accounts/two-factor/")
    expect(page.locator("main form[action='/accounts/two-factor/codes/new/']")).to_be_visible()
    assert_accessible(page, "two-step verification settings")
    fits_a_phone(page, "two-step verification settings")
