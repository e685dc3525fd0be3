"""Builders, and the real SMTP server (crm/tests/smtp.py), for the task, reminder, calendar and forecast tests."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from crm.tests.smtp import Inbox, smtp_inbox  # noqa: F401 (the fixture, for the tests that import it here)
from customers.models import Company
from pipeline.models import Task


def make_company(*, owner, team=None, name="星河科技有限公司") -> Company:
    return Company.objects.create(name=name, owner=owner, team=team)


def make_task(*, owner, team=None, due_in=timedelta(hours=2), **fields) -> Task:
    return Task.objects.create(
        owner=owner, team=team, title=fields.pop("title", "Call back"), due_at=timezone.now() + due_in, **fields
    )
