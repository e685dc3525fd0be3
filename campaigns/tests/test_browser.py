"""A marketer, in Chinese, builds a segment of the contacts in 上海 while its live count follows
the conditions, writes a campaign for it, checks the preview and sends it, watching the progress
reach 100% on the page; a recipient then unsubscribes through the link in the message they got.

The send goes through a real Celery worker (on the test Redis) to a real SMTP server that holds
every message until the test has seen the campaign page polling in the middle of the send, so
the page is always caught sending and must reach "sent" by itself. The segment form, the campaign
page and the unsubscribe page pass an accessibility check and break no CSP rule. Screenshots land
in test-artifacts/ for a human to look at.
"""

import asyncio
import re
import threading

import pytest

from crm import roles
from crm.testing import add_to_team, make_team, make_user
from crm.tests.browser import (
    BROWSER_TEST,
    PASSWORD,
    ConsoleProblems,
    accessibility_problems,
    assert_accessible,
    expect,
    new_context,
    shot,
    sign_in,
)

pytestmark = [*BROWSER_TEST, pytest.mark.celery_worker]

SUBJECT = "{{ contact.given_name }}，春季新品上市"
SHOP = "https://shop.example.com/spring?id=1"
HTML = f'<p>{{{{ contact.name }}}}，您好！</p><p><a href="{SHOP}">春季新品</a></p>'
# The send's longest step the page waits for: listing, sending and the 2-second polls after it.
SEND_TIMEOUT = 30_000


def unfolded(message, header: str) -> str:
    """A header's value as one line (a long one is folded onto the next line when sent)."""
    return re.sub(r"\r?\n[ \t]+", " ", message[header]).strip()


@pytest.fixture
def held_inbox(smtp_inbox):
    """`smtp_inbox`, holding every message at DATA until `smtp_inbox.release` is set."""
    release = threading.Event()
    receive = smtp_inbox.handle_DATA

    async def handle_data(server, session, envelope):
        await asyncio.get_running_loop().run_in_executor(None, release.wait, 120)
        return await receive(server, session, envelope)

    smtp_inbox.handle_DATA = handle_data  # aiosmtpd reads the hooks per connection
    smtp_inbox.release = release
    try:
        yield smtp_inbox
    finally:
        release.set()  # never leave the worker waiting on the server


@pytest.fixture
def marketing(transactional_db):
    """A marketer managing the marketing team; three contacts in 上海 agreed to marketing e-mail,
    one there did not, and one in 北京 did."""
    from customers.tests.factories import CompanyFactory, ContactFactory

    marketer = make_user(
        role=roles.MARKETING,
        username="xiaohong",
        password=PASSWORD,
        first_name="小红",
        last_name="陈",
        email="xiaohong@example.com",
    )
    team = make_team("市场部")
    add_to_team(marketer, team, manager=True)
    owned = {"owner": marketer, "team": team}
    shanghai = CompanyFactory(name="东方明珠贸易有限公司", city="上海", **owned)
    beijing = CompanyFactory(name="京华科技有限公司", city="北京", **owned)
    recipients = [
        ContactFactory(family_name=family, given_name=given, email=email, company=shanghai, opted_in=True, **owned)
        for family, given, email in (
            ("李", "雷", "lei.li@dongfang.example"),
            ("韩", "梅梅", "meimei.han@dongfang.example"),
            ("张", "伟", "wei.zhang@dongfang.example"),
        )
    ]
    ContactFactory(family_name="赵", given_name="敏", email="min.zhao@dongfang.example", company=shanghai, **owned)
    ContactFactory(
        family_name="孙", given_name="丽", email="li.sun@jinghua.example", company=beijing, opted_in=True, **owned
    )
    return marketer, recipients


def test_build_a_segment_send_a_campaign_and_unsubscribe(
    live_server, live_celery_worker, browser, held_inbox, marketing, settings
):
    from campaigns.models import Campaign, Delivery, Segment

    _marketer, recipients = marketing
    settings.SITE_URL = live_server.url  # the links in the messages lead back to this server
    context = new_context(browser, "zh-CN")
    problems = ConsoleProblems()
    page = problems.watch(context.new_page())
    sign_in(page, live_server.url, "xiaohong")

    # 1. A dynamic segment: the count beside the form follows the City condition.
    page.goto(f"{live_server.url}/marketing/segments/new/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("heading", level=1, name="新建分群")).to_be_visible()
    estimate = page.locator("#segment-estimate")
    expect(estimate).to_contain_text("5 位联系人")  # no condition yet: every contact she can see
    page.get_by_label("名称").fill("上海客户")
    city = page.locator("#id_c-city")
    expect(page.get_by_label("城市")).to_have_attribute("id", "id_c-city")
    city.fill("上海")
    city.press("Tab")  # the change event asks for the count again
    expect(estimate).to_contain_text("4 位联系人")
    expect(estimate).to_contain_text("当前符合条件")
    assert_accessible(page, "segment form")
    shot(page, "campaigns-segment-form-zh-hans")

    page.get_by_role("button", name="保存", exact=True).click()
    expect(page).to_have_url(re.compile(r"/marketing/segments/\d+/$"))
    segment = Segment.objects.get(name="上海客户")
    assert segment.kind == Segment.Kind.DYNAMIC and segment.criteria == {"city": "上海"}
    expect(page.get_by_role("heading", level=1)).to_contain_text("上海客户")
    facts = page.get_by_role("region", name="包含哪些人")
    expect(facts.locator("p.fs-4")).to_have_text(re.compile(r"^\s*4\s+位您可见的联系人\s*$"))
    expect(facts).to_contain_text("上海")
    shot(page, "campaigns-segment-detail-zh-hans")

    # 2. A campaign on it: the audience is chosen in the record picker, the preview fills the
    # merge fields in for a sample person.
    page.goto(f"{live_server.url}/marketing/campaigns/new/")
    page.get_by_role("textbox", name="名称", exact=True).fill("春季促销")  # the "*" is aria-hidden
    audience = page.get_by_role("combobox", name="目标受众")
    audience.press_sequentially("上海")
    # The picker's own list (the "leave out" field is a list box offering the same segment).
    option = page.locator(f"#{audience.get_attribute('aria-controls')}").get_by_role("option", name="上海客户")
    expect(option).to_be_visible()
    option.click()
    expect(audience).to_have_value("上海客户")
    expect(page.locator('input[name="segment"]')).to_have_value(str(segment.pk))
    page.get_by_label("主题", exact=True).fill(SUBJECT)
    page.get_by_label("HTML 正文", exact=True).fill(HTML)
    page.get_by_role("button", name="保存", exact=True).click()
    expect(page).to_have_url(re.compile(r"/marketing/campaigns/\d+/$"))
    campaign = Campaign.objects.get(name="春季促销")
    assert campaign.segment == segment and campaign.status == Campaign.Status.DRAFT
    badge = page.locator("h1 .badge")
    expect(badge).to_have_text("草稿")

    preview = page.frame_locator("iframe[title='邮件预览']")
    expect(preview.locator("body")).to_contain_text("王小明，您好！")
    expect(preview.get_by_role("link", name="春季新品")).to_have_attribute("href", SHOP)
    expect(preview.locator("body")).not_to_contain_text("{{")
    assert_accessible(page, "campaign page (draft)")
    shot(page, "campaigns-campaign-draft-zh-hans")

    # 3. Send now: confirm, then the progress section polls itself to 100% and the badge says sent.
    questions = []

    def answer(dialog):
        questions.append(dialog.message)
        dialog.accept()

    page.once("dialog", answer)
    page.get_by_role("button", name="立即发送").click()
    expect(page.get_by_text("已开始发送。")).to_be_visible()
    assert questions == ["现在（或在排定时间）向目标受众发送此营销活动？"]
    progress = page.locator("#campaign-progress")
    bar = progress.get_by_role("progressbar")
    # The SMTP server holds the messages: the page is caught mid-send, polling.
    expect(badge).to_have_text("发送中")
    expect(progress).to_have_attribute("hx-trigger", "every 2s")
    # The worker lists the recipients (one left out: no consent), then waits on the server; the
    # page learns of it by polling.
    expect(progress).to_contain_text("已发送 0，失败 0，排除 1，待发送 3。", timeout=SEND_TIMEOUT)
    expect(bar).to_have_attribute("aria-valuenow", "25")
    page.evaluate("window.stillTheSamePage = true")
    # Checked now, while the page shows a running send's buttons; asserted at the end, so that
    # the send and the recipient's part still run when it fails.
    sending_problems = accessibility_problems(page)
    shot(page, "campaigns-campaign-sending-zh-hans")
    held_inbox.release.set()

    expect(bar).to_have_attribute("aria-valuenow", "100", timeout=SEND_TIMEOUT)
    expect(bar).to_have_text("100%")
    expect(progress).to_contain_text("已发送 3，失败 0，排除 1，待发送 0。")
    expect(progress).not_to_have_attribute("hx-trigger", re.compile(".*"))  # polling stops
    assert page.evaluate("window.stillTheSamePage") is True, "the page was reloaded"
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENT and campaign.sent_count == 3
    shot(page, "campaigns-campaign-sent-zh-hans")

    # What the recipients got: one message each, filled in for them, with links back to the CRM.
    messages = {tuple(message.recipients): message for message in held_inbox.messages}
    assert sorted(messages) == sorted((contact.email,) for contact in recipients)
    for contact in recipients:
        message = messages[(contact.email,)]
        assert held_inbox.subject(message) == f"{contact.given_name}，春季新品上市"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert re.fullmatch(
            rf"<{re.escape(live_server.url)}/marketing/r/u/[^>]+/>", unfolded(message, "List-Unsubscribe")
        )
        text = held_inbox.body(message)
        assert f"{contact.display_name}，您好！" in text
        assert f"Unsubscribe: {unfolded(message, 'List-Unsubscribe').strip('<>')}" in text
        html = message.get_payload(1).get_payload(decode=True).decode()
        assert f"{contact.display_name}，您好！" in html
        assert re.search(rf'<a href="{re.escape(live_server.url)}/marketing/r/c/[^"]+/">春季新品</a>', html), html
        assert f'src="{live_server.url}/marketing/r/o/' in html  # the open pixel
    delivery = Delivery.objects.get(campaign=campaign, contact=recipients[0])
    assert delivery.status == Delivery.Status.SENT

    # 4. The recipient (not signed in) follows the List-Unsubscribe link and confirms.
    unsubscribe_url = unfolded(messages[(recipients[0].email,)], "List-Unsubscribe").strip("<>")
    recipient_context = new_context(browser, "zh-CN")
    visitor = problems.watch(recipient_context.new_page())
    visitor.goto(unsubscribe_url)
    expect(visitor.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(visitor.get_by_role("heading", level=1, name="退订")).to_be_visible()
    expect(visitor.get_by_text("不再接收我们的营销邮件？点击一下即可。")).to_be_visible()
    recipients[0].refresh_from_db()
    assert not recipients[0].unsubscribed, "opening the link alone unsubscribes nobody"
    assert_accessible(visitor, "unsubscribe page")
    shot(visitor, "campaigns-unsubscribe-zh-hans")

    visitor.get_by_role("button", name="退订").click()
    expect(visitor.get_by_role("status")).to_have_text("您已退订，今后不会再收到我们的营销邮件。")
    assert_accessible(visitor, "unsubscribe page, done")
    shot(visitor, "campaigns-unsubscribed-zh-hans")
    recipients[0].refresh_from_db()
    assert recipients[0].unsubscribed and recipients[0].unsubscribed_at is not None
    recipients[1].refresh_from_db()
    assert not recipients[1].unsubscribed  # only the person the link names
    recipient_context.close()

    # Back on the marketer's page, still not reloaded: with the send over, the status badge says
    # sent and the buttons of a running send (pause, cancel) are gone. Checked last so that a
    # stale badge does not hide what the recipient sees.
    assert page.evaluate("window.stillTheSamePage") is True, "the page was reloaded"
    expect(badge).to_have_text("已发送")
    expect(page.get_by_role("button", name="暂停")).to_have_count(0)
    expect(page.get_by_role("button", name="取消发送")).to_have_count(0)
    assert_accessible(page, "campaign page (sent)")
    context.close()

    assert not sending_problems, "accessibility problems on the campaign page while sending:\n" + "\n".join(
        sending_problems
    )

    assert not problems, "console errors:\n" + "\n".join(problems)
