"""Calendar month and week views, and the secret, revocable iCalendar feed."""

import re
from datetime import timedelta

import icalendar
import pytest
from django.urls import reverse
from django.utils import timezone

from pipeline.models import CalendarFeed
from pipeline.tests.task_helpers import make_task

pytestmark = pytest.mark.django_db


def new_feed_url(client, user) -> str:
    client.force_login(user)
    response = client.post(reverse("pipeline:calendar_feed_new"))
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    url = re.search(r'id="feed-url" type="text" readonly value="([^"]+)"', response.content.decode())[1]
    client.logout()
    return url.replace("http://testserver", "")


def test_month_and_week_show_only_the_users_own_tasks(client, cast):
    mine = make_task(owner=cast.owner, team=cast.team, title="Demo for 华为", kind="meeting")
    make_task(owner=cast.teammate, team=cast.team, title="Teammate meeting", kind="meeting")
    make_task(owner=cast.owner, team=cast.team, title="Cancelled one", status="cancelled")
    client.force_login(cast.owner)
    local = timezone.localtime(mine.due_at)
    month = client.get(reverse("pipeline:calendar") + f"?month={local:%Y-%m}").content.decode()
    week = client.get(reverse("pipeline:calendar_week") + f"?date={local:%Y-%m-%d}").content.decode()
    for page in (month, week):
        assert "Demo for 华为" in page and "Teammate meeting" not in page and "Cancelled one" not in page
    assert client.get(reverse("pipeline:calendar") + "?month=garbage").status_code == 200
    assert client.get(reverse("pipeline:calendar_week") + "?date=2026-13-45").status_code == 200


def test_calendar_pages_need_the_task_role(client, cast):
    from crm.testing import make_user

    support = make_user(role="Support agent")
    client.force_login(support)
    for name in ("calendar", "calendar_week", "calendar_feed", "my_tasks"):
        assert client.get(reverse(f"pipeline:{name}")).status_code == 403
    assert client.post(reverse("pipeline:calendar_feed_new")).status_code == 403
    assert not CalendarFeed.objects.exists()


def test_the_feed_parses_and_carries_only_the_owners_tasks(client, cast):
    meeting = make_task(owner=cast.owner, team=cast.team, title="Site visit", kind="meeting", duration_minutes=90)
    proposal = make_task(
        owner=cast.owner, team=cast.team, title="Write proposal", kind="task", due_in=timedelta(days=1)
    )
    make_task(owner=cast.teammate, team=cast.team, title="Not in my feed")
    url = new_feed_url(client, cast.owner)
    response = client.get(url)  # no session: calendar clients send no cookies
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(response.content)
    events = calendar.walk("VEVENT")
    todos = calendar.walk("VTODO")
    assert [str(e["SUMMARY"]) for e in events] == ["Site visit"]
    assert [str(t["SUMMARY"]) for t in todos] == ["Write proposal"]
    event = events[0]
    assert str(event["UID"]) == f"crm-task-{meeting.pk}@crm.invalid"
    assert event.decoded("DTSTART") == meeting.due_at.replace(microsecond=0)
    assert event.decoded("DURATION") == timedelta(minutes=90)
    assert "DTSTAMP" in event and event["DTSTART"].params.get("TZID") == "Asia/Shanghai"
    assert calendar.walk("VTIMEZONE"), "the time zone is described for clients"
    todo = todos[0]
    assert todo.decoded("DUE") == proposal.due_at.replace(microsecond=0), "a to-do carries its due date"
    assert "DURATION" not in todo  # RFC 5545: never beside DUE
    assert str(todo["URL"]) == f"http://testserver/pipeline/tasks/{proposal.pk}/"
    assert b"Not in my feed" not in response.content
    # The UID stays the same on the next fetch, so clients update rather than duplicate.
    again = icalendar.Calendar.from_ical(client.get(url).content)
    assert [str(e["UID"]) for e in again.walk("VEVENT")] == [str(event["UID"])]


def test_the_token_is_stored_hashed_and_a_new_one_revokes_the_old(client, cast):
    first = new_feed_url(client, cast.owner)
    token = first.rsplit("/", 1)[1].removesuffix(".ics")
    assert len(token) >= 43
    assert token not in CalendarFeed.objects.get(user=cast.owner).token_hash
    second = new_feed_url(client, cast.owner)
    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 200
    client.force_login(cast.owner)
    client.post(reverse("pipeline:calendar_feed_off"))
    client.logout()
    assert client.get(second).status_code == 404
    assert client.get(reverse("pipeline:calendar_ics", args=["made-up-token"])).status_code == 404


def test_a_deactivated_user_feed_stops_working(client, cast):
    url = new_feed_url(client, cast.owner)
    cast.owner.is_active = False
    cast.owner.save()
    assert client.get(url).status_code == 404


def test_the_feed_page_does_not_show_the_address_again(client, cast):
    url = new_feed_url(client, cast.owner)
    client.force_login(cast.owner)
    page = client.get(reverse("pipeline:calendar_feed")).content.decode()
    assert url.rsplit("/", 1)[1] not in page and "not shown again" in page


def test_calendar_query_count_does_not_grow(client, cast, django_assert_max_num_queries):
    client.force_login(cast.owner)
    make_task(owner=cast.owner, team=cast.team)
    client.get(reverse("pipeline:calendar"))
    with django_assert_max_num_queries(10) as captured:
        client.get(reverse("pipeline:calendar"))
    baseline = len(captured.captured_queries)
    for i in range(15):
        make_task(owner=cast.owner, team=cast.team, due_in=timedelta(hours=i))
    with django_assert_max_num_queries(baseline):
        client.get(reverse("pipeline:calendar"))


def test_feed_links_use_the_configured_site_address(client, cast, settings):
    settings.SITE_URL = "https://crm.example.com/"
    task = make_task(owner=cast.owner, team=cast.team, title="Call back", kind="task")
    url = new_feed_url(client, cast.owner)
    assert url.startswith("https://crm.example.com/pipeline/calendar/")
    calendar = icalendar.Calendar.from_ical(client.get(url.removeprefix("https://crm.example.com")).content)
    [todo] = calendar.walk("VTODO")
    assert str(todo["URL"]) == f"https://crm.example.com/pipeline/tasks/{task.pk}/"
