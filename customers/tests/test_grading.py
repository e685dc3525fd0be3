"""RFM grading: scores at the threshold edges, the window, configuration edited in the admin site,
the nightly task in batches, the per-company task through a real worker, and the explanation."""

import time
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from crm.testing import make_user
from customers.grading import grade_companies, policy, rfm_for
from customers.models import Company, GradeLevel, GradingPolicy, Transaction
from customers.services import transaction_record
from customers.tasks import grade_all_companies
from customers.tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 6, 30)


def buy(company, *, days_ago=0, amount="100", status=Transaction.Status.PAID, today=TODAY):
    return Transaction.objects.create(
        company=company, date=today - timedelta(days=days_ago), amount=Decimal(amount), status=status
    )


@pytest.fixture
def superuser(db):
    return make_user(role=None, username="root", is_staff=True, is_superuser=True)


@pytest.mark.parametrize(
    ("days", "expected"),
    [(0, 5), (30, 5), (31, 4), (90, 4), (91, 3), (180, 3), (181, 2), (365, 2), (366, 1), (None, 1)],
)
def test_recency_scores_at_the_threshold_edges(days, expected):
    last = None if days is None else TODAY - timedelta(days=days)
    rfm = rfm_for(last_purchase=last, frequency=0, monetary=Decimal(0), rules=policy(), today=TODAY)
    assert rfm.r == expected


@pytest.mark.parametrize(
    ("count", "expected"), [(0, 1), (1, 1), (2, 2), (3, 2), (4, 3), (8, 4), (15, 4), (16, 5), (500, 5)]
)
def test_frequency_reaching_a_threshold_scores_it(count, expected):
    rfm = rfm_for(last_purchase=None, frequency=count, monetary=Decimal(0), rules=policy(), today=TODAY)
    assert rfm.f == expected


@pytest.mark.parametrize(
    ("amount", "expected"),
    [("0", 1), ("9999.99", 1), ("10000", 2), ("49999.99", 2), ("50000", 3), ("200000", 4), ("1000000", 5)],
)
def test_monetary_reaching_a_threshold_scores_it(amount, expected):
    rfm = rfm_for(last_purchase=None, frequency=0, monetary=Decimal(amount), rules=policy(), today=TODAY)
    assert rfm.m == expected


def test_a_company_that_never_bought_gets_the_lowest_grade_with_its_reason(cast):
    company = CompanyFactory(owner=cast.owner)
    assert grade_companies(today=TODAY) == 1
    company.refresh_from_db()
    assert company.grade == "D"
    reason = company.grade_reason
    assert (reason["r"], reason["f"], reason["m"], reason["score"]) == (1, 1, 1, 3)
    assert reason["last_purchase"] is None and reason["recency_days"] is None
    assert reason["tier"] == "potential"
    assert company.graded_at is not None


def test_only_paid_purchases_inside_the_window_count_for_frequency_and_money(cast):
    company = CompanyFactory(owner=cast.owner)
    buy(company, days_ago=365, amount="60000")  # on the window's first day: counts
    buy(company, days_ago=366, amount="900000")  # before the window: recency only
    buy(company, days_ago=1, amount="500000", status=Transaction.Status.REFUNDED)
    buy(company, days_ago=2, amount="500000", status=Transaction.Status.CANCELLED)
    grade_companies([company.pk], today=TODAY)
    company.refresh_from_db()
    reason = company.grade_reason
    assert reason["frequency"] == 1 and Decimal(reason["monetary"]) == Decimal("60000")
    assert reason["recency_days"] == 365 and reason["last_purchase"] == (TODAY - timedelta(days=365)).isoformat()
    assert (reason["r"], reason["f"], reason["m"]) == (2, 1, 3)
    assert company.grade == "C" and reason["window_days"] == 365


def test_an_old_customer_falls_to_a_lower_grade_as_time_passes(cast):
    company = CompanyFactory(owner=cast.owner)
    for i in range(16):
        buy(company, days_ago=i, amount="70000")
    grade_companies([company.pk], today=TODAY)
    company.refresh_from_db()
    assert company.grade == "A" and company.grade_reason["score"] == 15
    grade_companies([company.pk], today=TODAY + timedelta(days=400))
    company.refresh_from_db()
    assert company.grade == "D" and company.grade_reason["score"] == 3


def test_changed_thresholds_and_levels_regrade_on_the_next_run(cast):
    company = CompanyFactory(owner=cast.owner)
    buy(company, days_ago=10, amount="60000")
    grade_companies(today=TODAY)
    company.refresh_from_db()
    assert company.grade == "B"  # R5 F1 M3 = 9
    rules = GradingPolicy.objects.get()
    rules.monetary_amounts = [100, 200, 300, 400]
    rules.save()
    GradeLevel.objects.filter(code="A").update(min_score=11)
    assert grade_companies(today=TODAY) == 1
    company.refresh_from_db()
    assert company.grade == "A" and company.grade_reason["m"] == 5


def test_second_run_changes_nothing(cast):
    for _ in range(3):
        buy(CompanyFactory(owner=cast.owner), days_ago=3)
    assert grade_companies(today=TODAY) == 3
    assert grade_companies(today=TODAY) == 0


def test_the_nightly_task_grades_every_company_in_batches(cast, django_assert_max_num_queries):
    companies = CompanyFactory.create_batch(25, owner=cast.owner)
    for company in companies[::2]:
        buy(company, days_ago=5, amount="20000", today=timezone.localdate())
    # Policy and levels once; per batch of 10: the ids, the aggregates, the grouped update.
    with django_assert_max_num_queries(2 + 3 * 3 + 1 + 3):
        assert grade_companies(batch_size=10) == 25
    grades = dict(Company.objects.values_list("pk", "grade"))
    assert all(grades[c.pk] == "B" for c in companies[::2])  # R5 F1 M2 = 8
    assert all(grades[c.pk] == "D" for c in companies[1::2])
    assert grade_all_companies.delay().get() == 0  # through Celery (eager here): idempotent


def test_a_nightly_schedule_exists_for_the_regrade():
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="customers.tasks.grade_all_companies")
    assert (task.crontab.hour, task.crontab.minute, task.enabled) == ("2", "0", True)


# --- Admin: the policy form refuses what grading cannot use; the action regrades. ----------------


def policy_post(**overrides):
    data = {
        "window_days": "365",
        "recency_days": "30, 90, 180, 365",
        "frequency_counts": "2, 4, 8, 16",
        "monetary_amounts": "10000, 50000, 200000, 1000000",
    }
    return {**data, **overrides}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("recency_days", "30, 90, 180", "Enter exactly 4 numbers"),
        ("recency_days", "90, 30, 180, 365", "larger than the one before"),
        ("frequency_counts", "2, 2, 8, 16", "larger than the one before"),
        ("monetary_amounts", "-1, 50000, 200000, 1000000", "cannot be negative"),
        ("monetary_amounts", "ten, 50000, 200000, 1000000", "is not a number"),
        ("frequency_counts", "1.5, 4, 8, 16", "whole numbers"),
        ("monetary_amounts", "0.001, 1, 2, 3", "two decimal places"),
        ("window_days", "0", "at least one day"),
    ],
)
def test_the_policy_form_refuses_unusable_thresholds(client, superuser, field, value, message):
    rules = GradingPolicy.objects.get()
    before = (rules.recency_days, rules.frequency_counts, rules.monetary_amounts, rules.window_days)
    client.force_login(superuser)
    url = reverse("admin:customers_gradingpolicy_change", args=[rules.pk])
    response = client.post(url, policy_post(**{field: value}))
    assert response.status_code == 200
    assert message in response.content.decode()
    rules.refresh_from_db()
    assert (rules.recency_days, rules.frequency_counts, rules.monetary_amounts, rules.window_days) == before


def test_the_policy_form_saves_numbers(client, superuser):
    rules = GradingPolicy.objects.get()
    client.force_login(superuser)
    url = reverse("admin:customers_gradingpolicy_change", args=[rules.pk])
    response = client.post(url, policy_post(monetary_amounts="[100, 200.5, 300，400]", recency_days="7,14,28,56"))
    assert response.status_code == 302
    rules.refresh_from_db()
    assert rules.monetary_amounts == [100, 200.5, 300, 400]
    assert rules.recency_days == [7, 14, 28, 56]
    assert "7, 14, 28, 56" in client.get(url).content.decode()


def test_grade_level_above_the_highest_score_is_refused(client, superuser):
    level = GradeLevel.objects.get(code="A")
    client.force_login(superuser)
    url = reverse("admin:customers_gradelevel_change", args=[level.pk])
    response = client.post(url, {"code": "A", "label": level.label, "tier": level.tier, "min_score": "16"})
    assert "The highest possible RFM score is 15" in response.content.decode()
    level.refresh_from_db()
    assert level.min_score == 12


def test_the_admin_action_recomputes_grades_now(client, superuser, cast, django_capture_on_commit_callbacks):
    company = CompanyFactory(owner=cast.owner)
    buy(company, days_ago=1, amount="60000", today=timezone.localdate())
    rules = GradingPolicy.objects.get()
    client.force_login(superuser)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:customers_gradingpolicy_changelist"),
            {"action": "recompute_grades", "_selected_action": [rules.pk]},
            follow=True,
        )
    assert "being recomputed" in response.content.decode()
    company.refresh_from_db()
    assert company.grade == "B"  # R5 F1 M3 = 9


def test_the_admin_action_needs_the_change_permission(client, cast):
    from django.contrib.auth.models import Permission

    viewer = make_user(role=None, username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_gradingpolicy"))
    company = CompanyFactory(owner=cast.owner)
    client.force_login(viewer)
    response = client.post(
        reverse("admin:customers_gradingpolicy_changelist"),
        {"action": "recompute_grades", "_selected_action": [GradingPolicy.objects.get().pk]},
    )
    assert response.status_code in (200, 302, 403)
    company.refresh_from_db()
    assert company.grade == ""


# --- The explanation on the detail page. ----------------------------------------------------------


def test_the_grade_partial_explains_the_grade_in_words(cast):
    company = CompanyFactory(owner=cast.owner)
    buy(company, days_ago=1, amount="300000", today=timezone.localdate())
    buy(company, days_ago=2, amount="1", today=timezone.localdate())
    grade_companies([company.pk])
    company.refresh_from_db()
    html = " ".join(render_to_string("customers/_grade.html", {"company": company}).split())
    assert "RFM score 11 of 15" in html
    assert "last paid purchase 1 day ago" in html
    assert "2 paid purchases in the last 365 days" in html
    assert "300,001.00 paid in the last 365 days" in html
    assert "Important customer" not in html and "General customer" in html


def test_the_grade_partial_for_an_ungraded_company(cast):
    html = render_to_string("customers/_grade.html", {"company": CompanyFactory(owner=cast.owner)})
    assert "Not graded yet" in html


# --- Through a real worker. ----------------------------------------------------------------------


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_recording_a_purchase_regrades_the_company_through_the_worker(live_celery_worker):
    owner = make_user(username="worker-owner")
    company = CompanyFactory(owner=owner)
    for i in range(5):
        transaction_record(
            actor=owner,
            company=company,
            date=timezone.localdate() - timedelta(days=i),
            amount=Decimal("60000"),
            reference=f"SO-{i}",
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        company.refresh_from_db()
        if company.grade_reason.get("frequency") == 5:  # each purchase queues a regrade; wait for the last
            break
        time.sleep(0.2)
    # Bought today (R5), five purchases (F3), 300,000 (M4): 12 -> A, computed by the worker.
    assert company.grade == "A"
    assert company.grade_reason["score"] == 12
