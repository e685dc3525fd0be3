"""The user's calendar: month and week views of their tasks and meetings, and a secret,
revocable iCalendar feed that Outlook or Thunderbird can subscribe to (they send no cookies).

The feed token is shown once and stored only as its SHA-256; a new one invalidates the old.
"""

from __future__ import annotations

import calendar as stdlib_calendar
import hashlib
import secrets
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from crm.models import User
from crm.network import absolute_url
from crm.params import QueryParams
from crm.permissions import has_role_permission
from pipeline.models import CalendarFeed, Task
from pipeline.task_selectors import calendar_tasks

FEED_PAST_DAYS = 60
FEED_FUTURE_DAYS = 366
FEED_LIMIT = 2000


# --- Services ----------------------------------------------------------------------------------


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def calendar_feed_regenerate(*, user: User) -> str:
    """A new secret feed token for the user; the previous address stops working at once."""
    token = secrets.token_urlsafe(32)
    CalendarFeed.objects.update_or_create(user=user, defaults={"token_hash": _hash(token)})
    return token


@transaction.atomic
def calendar_feed_revoke(*, user: User) -> None:
    CalendarFeed.objects.filter(user=user).delete()


def feed_owner(token: str) -> User | None:
    """The active user a feed token belongs to, or None."""
    if not token or len(token) > 100:
        return None
    feed = CalendarFeed.objects.select_related("user").filter(token_hash=_hash(token)).first()
    if feed is None or not feed.user.is_active:
        return None
    return feed.user


# --- Month and week views -----------------------------------------------------------------------


def _aware(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


def _by_day(tasks: list[Task]) -> dict[date, list[Task]]:
    days: dict[date, list[Task]] = {}
    for task in tasks:
        days.setdefault(timezone.localtime(task.due_at).date(), []).append(task)
    return days


def _require_view(user) -> None:
    if not has_role_permission(user, Task, "view"):
        raise PermissionDenied


@login_required
@require_GET
def calendar_month(request):
    _require_view(request.user)
    today = timezone.localdate()
    first = QueryParams(request).month("month", default=today.replace(day=1))
    weeks = stdlib_calendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
    start, end = weeks[0][0], weeks[-1][-1] + timedelta(days=1)
    by_day = _by_day(calendar_tasks(user=request.user, start=_aware(start), end=_aware(end)))
    previous_month = (first - timedelta(days=1)).replace(day=1)
    next_month = (first + timedelta(days=32)).replace(day=1)
    return render(
        request,
        "pipeline/calendar_month.html",
        {
            "first": first,
            "today": today,
            "weekdays": weeks[0],
            "weeks": [[(day, by_day.get(day, [])) for day in week] for week in weeks],
            "agenda": [(day, by_day[day]) for day in sorted(by_day) if day.month == first.month],
            "previous": f"{previous_month:%Y-%m}",
            "next": f"{next_month:%Y-%m}",
        },
    )


@login_required
@require_GET
def calendar_week(request):
    _require_view(request.user)
    today = timezone.localdate()
    day = QueryParams(request).date("date", default=today)
    monday = day - timedelta(days=day.weekday())
    days = [monday + timedelta(days=i) for i in range(7)]
    by_day = _by_day(calendar_tasks(user=request.user, start=_aware(monday), end=_aware(monday + timedelta(days=7))))
    return render(
        request,
        "pipeline/calendar_week.html",
        {
            "today": today,
            "monday": monday,
            "sunday": days[-1],
            "days": [(d, by_day.get(d, [])) for d in days],
            "previous": (monday - timedelta(days=7)).isoformat(),
            "next": (monday + timedelta(days=7)).isoformat(),
        },
    )


@login_required
def calendar_feed_page(request):
    """Where the user gets (once), replaces or turns off their feed address."""
    _require_view(request.user)
    feed = CalendarFeed.objects.filter(user=request.user).first()
    return render(request, "pipeline/calendar_feed.html", {"feed": feed, "feed_url": None})


@login_required
@require_POST
def calendar_feed_new(request):
    _require_view(request.user)
    token = calendar_feed_regenerate(user=request.user)
    feed_url = absolute_url(reverse("pipeline:calendar_ics", args=[token]), request)
    messages.success(request, _("Your calendar address is ready. Copy it now: it is shown only once."))
    feed = CalendarFeed.objects.get(user=request.user)
    response = render(request, "pipeline/calendar_feed.html", {"feed": feed, "feed_url": feed_url})
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def calendar_feed_off(request):
    _require_view(request.user)
    calendar_feed_revoke(user=request.user)
    messages.success(request, _("Your calendar address no longer works."))
    return redirect("pipeline:calendar_feed")


# --- The iCalendar feed ----------------------------------------------------------------------------


def _uid(task: Task) -> str:
    # Stable for the task's lifetime, so a client updates the entry instead of duplicating it.
    return f"crm-task-{task.pk}@{getattr(settings, 'CALENDAR_UID_DOMAIN', 'crm.invalid')}"


def build_ics(user: User, tasks: list[Task], *, base_url: str = "") -> bytes:
    zone = ZoneInfo(settings.TIME_ZONE)
    cal = icalendar.Calendar()
    cal.add("prodid", "-//CRM//Tasks//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", _("CRM tasks of %(name)s") % {"name": user.get_full_name() or user.get_username()})
    cal.add("x-wr-timezone", settings.TIME_ZONE)
    for task in tasks:
        is_event = task.kind in (Task.Kind.MEETING, Task.Kind.CALL)
        component = icalendar.Event() if is_event else icalendar.Todo()
        component.add("uid", _uid(task))
        component.add("dtstamp", task.updated_at.astimezone(ZoneInfo("UTC")))
        component.add("dtstart", task.due_at.astimezone(zone))
        if is_event:
            component.add("duration", timedelta(minutes=task.duration_minutes))
        else:
            # A to-do's deadline is DUE (RFC 5545 forbids DUE beside DURATION in a VTODO).
            component.add("due", task.due_at.astimezone(zone))
        component.add("summary", task.title)
        related = task.company or task.contact or task.opportunity or task.lead
        description = task.description
        if related is not None:
            description = f"{related}\n{description}".strip()
        if description:
            component.add("description", description)
        if base_url:
            component.add("url", base_url + task.get_absolute_url())
        component.add("last-modified", task.updated_at.astimezone(ZoneInfo("UTC")))
        if is_event:
            component.add("status", "CANCELLED" if task.status == Task.Status.CANCELLED else "CONFIRMED")
        else:
            component.add("status", "COMPLETED" if task.status == Task.Status.DONE else "NEEDS-ACTION")
            if task.completed_at:
                component.add("completed", task.completed_at.astimezone(ZoneInfo("UTC")))
        cal.add_component(component)
    cal.add_missing_timezones()
    return cal.to_ical()


@require_GET
def calendar_ics(request, token):
    """The public feed: no login; the secret token is the only key, and it reveals one user's tasks."""
    user = feed_owner(token)
    if user is None or not has_role_permission(user, Task, "view"):
        raise Http404
    now = timezone.now()
    tasks = calendar_tasks(
        user=user,
        start=now - timedelta(days=FEED_PAST_DAYS),
        end=now + timedelta(days=FEED_FUTURE_DAYS),
        limit=FEED_LIMIT,
    )
    body = build_ics(user, tasks, base_url=absolute_url("/", request).rstrip("/"))
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, max-age=300"
    response["Content-Disposition"] = 'inline; filename="tasks.ics"'
    response["X-Robots-Tag"] = "noindex"
    return response
