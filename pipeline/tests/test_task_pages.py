"""Task pages over the owner / teammate / manager / outsider / auditor / admin cast: who sees,
who changes, and that a refusal changes nothing."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import Interaction
from pipeline.models import Task
from pipeline.tests.task_helpers import make_company, make_task

pytestmark = pytest.mark.django_db

VIEW = {"owner": 200, "teammate": 404, "manager": 200, "outsider": 404, "auditor": 200, "admin": 200}
CHANGE = {"owner": 302, "teammate": 404, "manager": 302, "outsider": 404, "auditor": 403, "admin": 302}


@pytest.fixture
def task(cast):
    company = make_company(owner=cast.owner, team=cast.team)
    return make_task(owner=cast.owner, team=cast.team, company=company, kind="call", title="Call 王经理")


def snapshot():
    return list(Task.objects.order_by("pk").values()), Interaction.objects.count()


@pytest.mark.parametrize("who", list(VIEW))
def test_task_detail_and_edit_page(client, cast, task, who):
    client.force_login(getattr(cast, who))
    assert client.get(reverse("pipeline:task_detail", args=[task.pk])).status_code == VIEW[who]
    expected_edit = {302: 200}.get(CHANGE[who], CHANGE[who])
    assert client.get(reverse("pipeline:task_edit", args=[task.pk])).status_code == expected_edit


@pytest.mark.parametrize("who", list(CHANGE))
@pytest.mark.parametrize("action", ["task_complete", "task_cancel"])
def test_state_changes_over_the_cast(client, cast, task, who, action):
    client.force_login(getattr(cast, who))
    before = snapshot()
    response = client.post(reverse(f"pipeline:{action}", args=[task.pk]))
    assert response.status_code == CHANGE[who]
    if CHANGE[who] != 302:
        assert snapshot() == before
    else:
        assert Task.objects.get(pk=task.pk).status != Task.Status.OPEN


@pytest.mark.parametrize("who", list(CHANGE))
def test_edit_post_over_the_cast(client, cast, task, who):
    client.force_login(getattr(cast, who))
    before = snapshot()
    data = {"kind": "call", "title": "Renamed", "due_at": "2030-01-02T10:00", "duration_minutes": "30"}
    response = client.post(reverse("pipeline:task_edit", args=[task.pk]), data)
    assert response.status_code == CHANGE[who]
    if CHANGE[who] != 302:
        assert snapshot() == before
    else:
        assert Task.objects.get(pk=task.pk).title == "Renamed"


def test_anonymous_users_are_sent_to_sign_in(client, task):
    for name, args in (("my_tasks", []), ("task_detail", [task.pk]), ("task_create", []), ("calendar", [])):
        response = client.get(reverse(f"pipeline:{name}", args=args))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.post(reverse("pipeline:task_complete", args=[task.pk])).status_code == 302
    assert Task.objects.get(pk=task.pk).status == Task.Status.OPEN


def test_create_form_refuses_a_company_the_user_cannot_see(client, cast):
    foreign = make_company(owner=cast.outsider, team=cast.other_team)
    client.force_login(cast.owner)
    data = {"kind": "task", "title": "Sneak", "due_at": "2030-01-02T10:00", "duration_minutes": "30"}
    response = client.post(reverse("pipeline:task_create"), {**data, "company": foreign.pk})
    assert response.status_code == 400 and "Choose a record you can see." in response.content.decode()
    assert not Task.objects.exists()
    # The form's dropdown of assignees offers only what the rep may pick: themselves.
    form = client.get(reverse("pipeline:task_create")).context["form"]
    assert list(form.fields["owner"].queryset) == [cast.owner]


def test_bad_input_is_a_form_error_not_a_crash(client, cast):
    client.force_login(cast.owner)
    response = client.post(reverse("pipeline:task_create"), {"kind": "nope", "title": "", "due_at": "tomorrow"})
    assert response.status_code == 400
    assert not Task.objects.exists()
    assert client.post(reverse("pipeline:task_create"), {"company": "x" * 5000}).status_code == 400


def test_create_with_a_related_company_and_back_to_it(client, cast):
    company = make_company(owner=cast.owner, team=cast.team)
    client.force_login(cast.owner)
    page = client.get(reverse("pipeline:task_create") + f"?company={company.pk}")
    assert company.name in page.content.decode()
    data = {"kind": "meeting", "title": "Demo", "due_at": "2030-01-02T10:00", "duration_minutes": "60"}
    response = client.post(
        reverse("pipeline:task_create"), {**data, "company": company.pk, "next": company.get_absolute_url()}
    )
    assert response.status_code == 302 and response["Location"] == company.get_absolute_url()
    task = Task.objects.get()
    assert task.company == company and task.owner == cast.owner and task.duration_minutes == 60


def test_quick_add_from_the_company_page_returns_the_panel(client, cast):
    company = make_company(owner=cast.owner, team=cast.team)
    client.force_login(cast.owner)
    detail = client.get(company.get_absolute_url()).content.decode()
    assert 'id="tasks-panel"' in detail and reverse("pipeline:task_quick_add") in detail
    data = {"company": company.pk, "title": "Send brochure", "kind": "task", "due_at": "2030-01-02T10:00"}
    response = client.post(reverse("pipeline:task_quick_add"), data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Send brochure" in response.content.decode()
    assert Task.objects.get().company == company
    invalid = client.post(reverse("pipeline:task_quick_add"), {**data, "title": ""}, HTTP_HX_REQUEST="true")
    assert invalid.status_code == 422 and Task.objects.count() == 1
    plain = client.post(reverse("pipeline:task_quick_add"), {**data, "title": "No JS"})
    assert plain.status_code == 302 and plain["Location"] == company.get_absolute_url()


def test_quick_add_on_a_company_out_of_reach_is_404(client, cast):
    foreign = make_company(owner=cast.outsider, team=cast.other_team)
    client.force_login(cast.owner)
    data = {"company": foreign.pk, "title": "x", "kind": "task", "due_at": "2030-01-02T10:00"}
    assert client.post(reverse("pipeline:task_quick_add"), data).status_code == 404
    client.force_login(cast.auditor)
    own = make_company(owner=cast.owner, team=cast.team)
    assert client.post(reverse("pipeline:task_quick_add"), {**data, "company": own.pk}).status_code == 403
    assert not Task.objects.exists()


def test_the_panel_lists_only_tasks_the_viewer_may_see(client, cast):
    company = make_company(owner=cast.owner, team=cast.team)
    make_task(owner=cast.owner, team=cast.team, company=company, title="Owner's call")
    make_task(owner=cast.outsider, team=cast.other_team, company=company, title="Someone else's")
    client.force_login(cast.owner)
    body = client.get(company.get_absolute_url()).content.decode()
    assert "Owner&#x27;s call" in body and "Someone else" not in body


def test_completing_from_the_page_writes_the_timeline(client, cast, task):
    client.force_login(cast.owner)
    client.post(reverse("pipeline:task_complete", args=[task.pk]), {"note": "Agreed on price"})
    entry = Interaction.objects.get(company=task.company)
    assert entry.kind == "call" and entry.body == "Agreed on price"


def test_my_tasks_buckets(client, cast):
    now = timezone.now()
    make_task(owner=cast.owner, team=cast.team, title="Late one", due_in=-timedelta(hours=3))
    tomorrow = make_task(owner=cast.owner, team=cast.team, title="Later one", due_in=timedelta(days=2))
    make_task(owner=cast.owner, team=cast.team, title="Finished", due_in=-timedelta(hours=1), status="done")
    make_task(owner=cast.teammate, team=cast.team, title="Not mine", due_in=-timedelta(hours=1))
    local_end = timezone.localtime(now).replace(hour=23, minute=59)
    if local_end - now > timedelta(minutes=5):
        Task.objects.create(owner=cast.owner, team=cast.team, title="Today one", due_at=local_end)
    client.force_login(cast.owner)
    response = client.get(reverse("pipeline:my_tasks"))
    buckets = response.context["buckets"]
    assert [t.title for t in buckets.overdue.items] == ["Late one"]
    assert [t.title for t in buckets.upcoming.items] == ["Later one"]
    assert all(t.title == "Today one" for t in buckets.today.items)
    body = response.content.decode()
    assert "Not mine" not in body and "Finished" not in body
    more = client.get(reverse("pipeline:my_tasks") + "?bucket=upcoming")
    assert [t.pk for t in more.context["page"].items] == [tomorrow.pk]


def test_my_tasks_pages_through_a_bucket(client, cast):
    for i in range(30):
        make_task(owner=cast.owner, team=cast.team, title=f"T{i:02d}", due_in=timedelta(days=2, minutes=i))
    client.force_login(cast.owner)
    first = client.get(reverse("pipeline:my_tasks") + "?bucket=upcoming").context["page"]
    second = client.get(reverse("pipeline:my_tasks") + f"?bucket=upcoming&after={first.next_cursor}").context["page"]
    titles = [t.title for t in first.items + second.items]
    assert titles == [f"T{i:02d}" for i in range(30)]


def test_my_tasks_query_count_does_not_grow(client, cast, django_assert_max_num_queries):
    company = make_company(owner=cast.owner, team=cast.team)
    client.force_login(cast.owner)
    make_task(owner=cast.owner, team=cast.team, company=company, due_in=-timedelta(hours=1))
    client.get(reverse("pipeline:my_tasks"))
    with django_assert_max_num_queries(12) as captured:
        client.get(reverse("pipeline:my_tasks"))
    baseline = len(captured.captured_queries)
    for i in range(20):
        other = make_company(owner=cast.owner, team=cast.team, name=f"C{i}")
        for due_in in (-timedelta(hours=2), timedelta(days=3)):
            make_task(owner=cast.owner, team=cast.team, company=other, due_in=due_in)
    with django_assert_max_num_queries(baseline):
        client.get(reverse("pipeline:my_tasks"))


def test_company_page_query_count_with_the_tasks_panel(client, cast, django_assert_max_num_queries):
    company = make_company(owner=cast.owner, team=cast.team)
    client.force_login(cast.owner)
    client.get(company.get_absolute_url())
    with django_assert_max_num_queries(40) as captured:
        client.get(company.get_absolute_url())
    baseline = len(captured.captured_queries)
    for i in range(8):
        make_task(owner=cast.owner, team=cast.team, company=company, title=f"Task {i}")
    with django_assert_max_num_queries(baseline):
        client.get(company.get_absolute_url())
