"""Reads of tasks, always starting from what the user may see.

"My tasks" reads the (owner, status, due_at) index: each bucket is one bounded range scan.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from crm.pagination import KeysetPage, keyset_page
from crm.permissions import restrict
from pipeline.models import Task

BUCKET_SIZE = 25
PANEL_SIZE = 10
CALENDAR_LIMIT = 500


def visible_tasks(user) -> QuerySet[Task]:
    return restrict(Task.objects.all(), user)


def _with_related(queryset: QuerySet[Task]) -> QuerySet[Task]:
    return queryset.select_related("company", "contact", "lead", "opportunity")


def day_bounds(now: datetime) -> tuple[datetime, datetime]:
    """Start of today and of tomorrow in the active time zone."""
    local = timezone.localtime(now)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


BUCKETS = ("overdue", "today", "upcoming")


def my_tasks_bucket(*, user, bucket: str, now: datetime | None = None, after=None, before=None, size=BUCKET_SIZE):
    """One bucket of the user's own open tasks, keyset-paginated over (due_at, id)."""
    now = now or timezone.now()
    _start, tomorrow = day_bounds(now)
    mine = _with_related(Task.objects.filter(owner=user, status=Task.Status.OPEN))
    if bucket == "overdue":
        queryset, ordering = mine.filter(due_at__lt=now), ("-due_at", "-id")
    elif bucket == "today":
        queryset, ordering = mine.filter(due_at__gte=now, due_at__lt=tomorrow), ("due_at", "id")
    else:
        queryset, ordering = mine.filter(due_at__gte=tomorrow), ("due_at", "id")
    return keyset_page(queryset, ordering=ordering, after=after, before=before, size=size)


@dataclass
class MyTasks:
    overdue: KeysetPage
    today: KeysetPage
    upcoming: KeysetPage


def my_tasks(*, user, now: datetime | None = None) -> MyTasks:
    now = now or timezone.now()
    return MyTasks(**{bucket: my_tasks_bucket(user=user, bucket=bucket, now=now) for bucket in BUCKETS})


def related_open_tasks(*, user, related_field: str, related, limit: int = PANEL_SIZE) -> list[Task]:
    """Open tasks the user may see on one company, contact, lead or opportunity."""
    queryset = visible_tasks(user).filter(**{related_field: related}, status=Task.Status.OPEN)
    return list(queryset.select_related("owner").order_by("due_at", "id")[:limit])


def calendar_tasks(*, user, start: datetime, end: datetime, limit: int = CALENDAR_LIMIT) -> list[Task]:
    """The user's own tasks, calls and meetings due in [start, end), cancelled ones left out."""
    return list(
        _with_related(
            Task.objects.filter(
                owner=user, status__in=[Task.Status.OPEN, Task.Status.DONE], due_at__gte=start, due_at__lt=end
            )
        ).order_by("due_at", "id")[:limit]
    )
