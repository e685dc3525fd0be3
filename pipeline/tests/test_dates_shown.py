"""Dates on the calendar, the forecast, lists, detail pages and the timeline read as the user's
language writes them: "2026年12月", not "十二月 2026"; "December 2026" in English."""

from datetime import date, datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from crm import roles
from crm.testing import add_to_team, make_team, make_user
from customers.services import record_interaction
from pipeline.forecast import Period
from pipeline.models import Quota
from pipeline.tests.opportunity_helpers import make_company, make_opportunity
from pipeline.tests.task_helpers import make_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def rep():
    team = make_team("华东销售")
    user = make_user(role=roles.SALES_REP, username="liwei", first_name="伟", last_name="李")
    add_to_team(user, team)
    user.team = team
    return user


def page(client, user, url, language) -> str:
    user.language = language
    user.save(update_fields=["language"])
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_calendar_month_and_week_in_chinese(client, rep):
    due = timezone.make_aware(datetime(2026, 12, 28, 9, 30))
    make_task(owner=rep, team=rep.team, title="拜访客户", kind="meeting", due_in=due - timezone.now())
    month = page(client, rep, reverse("pipeline:calendar") + "?month=2026-12", "zh-hans")
    assert '<h1 class="h3 mb-0 me-auto">2026年12月</h1>' in month
    assert "十二月" not in month
    assert "2026年12月28日 星期一" in month  # the phone agenda's day heading
    assert "09:30" in month
    week = page(client, rep, reverse("pipeline:calendar_week") + "?date=2026-12-28", "zh-hans")
    assert "12月28日 星期一" in week and "2026年12月28日 – 2027年1月3日" in week


def test_calendar_month_and_week_in_english(client, rep):
    make_task(owner=rep, team=rep.team, due_in=timezone.make_aware(datetime(2026, 12, 28, 21, 5)) - timezone.now())
    month = page(client, rep, reverse("pipeline:calendar") + "?month=2026-12", "en")
    assert '<h1 class="h3 mb-0 me-auto">December 2026</h1>' in month
    assert "Monday, December 28, 2026" in month and "9:05 p.m." in month
    week = page(client, rep, reverse("pipeline:calendar_week") + "?date=2026-12-28", "en")
    assert "Mon, Dec 28" in week


def test_forecast_periods_in_chinese_and_english(client, rep):
    Quota.objects.create(user=rep, month=date(2026, 12, 1), amount=Decimal("1000"))
    chinese = page(client, rep, reverse("pipeline:forecast") + "?period=2026-12", "zh-hans")
    assert "2026年12月销售预测" in chinese  # the heading
    assert "2026年11月" in chinese and "2027年1月" in chinese  # previous and next
    assert "2026-12销售预测" not in chinese and "十二月" not in chinese
    english = page(client, rep, reverse("pipeline:forecast") + "?period=2026-12", "en")
    assert "Forecast December 2026" in english and "November 2026" in english
    quarter = page(client, rep, reverse("pipeline:forecast") + "?period=2026-Q4", "en")
    assert "Forecast Q4 2026" in quarter and "Q1 2027" in quarter


def test_period_labels():
    from django.utils import translation

    with translation.override("zh-hans"):
        assert Period("month", 2026, 12).label == "2026年12月"
    with translation.override("en"):
        assert Period("month", 2026, 12).label == "December 2026"
        assert Period("quarter", 2026, 4).label == "Q4 2026"


def test_quota_months_in_chinese(client, rep):
    grid = page(client, rep, reverse("pipeline:quotas") + "?year=2026", "zh-hans")
    assert '<th scope="col" class="text-end">12月</th>' in grid and "十二月" not in grid


def test_opportunity_dates_in_lists_detail_and_timeline_in_chinese(client, rep):
    company = make_company(owner=rep, team=rep.team)
    deal = make_opportunity(
        owner=rep,
        team=rep.team,
        company=company,
        name="云平台扩容",
        expected_close_date=date(2026, 12, 28),
        next_step="报价",
        next_step_date=date(2026, 9, 5),
    )
    record_interaction(
        kind="note",
        summary="电话沟通",
        actor=rep,
        company=company,
        occurred_at=timezone.make_aware(datetime(2026, 9, 5, 14, 45)),
    )
    listed = page(client, rep, reverse("pipeline:opportunity_list"), "zh-hans")
    assert "2026年12月28日" in listed
    detail = page(client, rep, deal.get_absolute_url(), "zh-hans")
    assert "2026年12月28日" in detail and "2026年9月5日" in detail
    timeline = page(client, rep, company.get_absolute_url(), "zh-hans")
    assert "2026年9月5日 14:45" in timeline
