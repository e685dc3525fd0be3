"""In a browser, in Chinese: an agent finds a new ticket in their queue, answers it and sets it
pending; the customer opens the status link from the mail, reads the answer (not the internal
note) and replies, which reopens the clock; each page accessible, also on a phone."""

import re

from crm import roles
from crm.testing import add_to_team, make_team, make_user
from crm.tests.browser import (
    BROWSER_TEST,
    PASSWORD,
    ConsoleProblems,
    assert_accessible,
    expect,
    phone_fits,
    shot,
    sign_in,
)
from customers.tests.factories import ContactFactory
from tickets import intake, services
from tickets.models import Message, Ticket

pytestmark = BROWSER_TEST


def test_an_agent_answers_and_the_customer_replies_through_the_status_link(live_server, zh_context, browser):
    team = make_team("客服部")
    agent = make_user(role=roles.SUPPORT_AGENT, username="wuting", password=PASSWORD, first_name="婷", last_name="吴")
    add_to_team(agent, team)
    contact = ContactFactory(owner=agent, team=team, family_name="李", given_name="雷", email="li@customer.example")
    ticket = services.ticket_create(
        actor=None, subject="打印机离线", description="打印机一直显示离线。", contact=contact, team=team
    )
    assert ticket.owner == agent

    problems = ConsoleProblems()
    page = problems.watch(zh_context.new_page())
    sign_in(page, live_server.url, "wuting")
    page.goto(f"{live_server.url}/service/tickets/?queue=mine")
    expect(page.get_by_role("link", name=ticket.number)).to_be_visible()
    assert_accessible(page, "the ticket queue")
    page.get_by_role("link", name=ticket.number).click()
    expect(page.get_by_role("heading", name=re.compile("打印机离线"))).to_be_visible()

    page.get_by_label("内部备注（仅员工可见）").check()
    page.get_by_label("留言").fill("客户是重点客户。")
    page.get_by_role("button", name="发送").click()
    expect(page.get_by_text("备注已添加。")).to_be_visible()

    page.get_by_label("公开回复（通过邮件发送给请求人）").check()
    page.get_by_label("留言").fill("请重启打印机后再试。")
    page.get_by_label("然后将状态设为").select_option("pending")
    page.get_by_role("button", name="发送").click()
    expect(page.get_by_text("回复已发送。")).to_be_visible()
    expect(page.locator("h1 .badge")).to_have_text("待客户回复")
    assert_accessible(page, "the ticket page")
    shot(page, "ticket-agent-zh")
    page.set_viewport_size({"width": 375, "height": 800})
    assert phone_fits(page)

    customer = browser.new_context(locale="zh-CN", viewport={"width": 375, "height": 800})
    status_page = problems.watch(customer.new_page())
    status_page.goto(f"{live_server.url}{reverse_status(ticket)}")
    expect(status_page.get_by_text("请重启打印机后再试。")).to_be_visible()
    assert status_page.get_by_text("客户是重点客户。").count() == 0
    assert_accessible(status_page, "the customer's status page")
    assert phone_fits(status_page)
    status_page.get_by_label("您的留言").fill("重启后好了，谢谢！")
    status_page.get_by_role("button", name="发送").click()
    expect(status_page.get_by_text("谢谢！您的留言已加入工单。")).to_be_visible()
    expect(status_page.get_by_text("重启后好了，谢谢！")).to_be_visible()
    shot(status_page, "ticket-status-zh-phone")
    customer.close()

    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN
    assert ticket.messages.filter(kind=Message.Kind.CUSTOMER).count() == 1
    assert not problems, problems


def reverse_status(ticket) -> str:
    return "/" + intake.status_url(ticket).split("://", 1)[-1].split("/", 1)[1]
