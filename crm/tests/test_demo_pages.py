"""Every page, as every demo user, on the demo data: no server error and no link to nothing.

`make test` runs this module twice: with the whole suite on PostgreSQL, and alone on the
embedded SQLite database that `make run` starts with (`DATABASE_URL=sqlite:// REDIS_URL=`), so a
page that works on only one of them fails CI. The crawl follows what each user's pages link to
(see crm/tests/crawl.py), then checks that it reached every URL pattern of the project.
"""

import logging

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from crm.demo import seed_demo
from crm.models import User
from crm.tests.crawl import Tour, Visitor, all_routes, visit_siblings

pytestmark = pytest.mark.slow

# Where a signed-out visitor starts, and the pages shown only after a form elsewhere succeeded.
PUBLIC = [
    "/",
    "/healthz",
    "/jsi18n/",
    "/accounts/password/reset/",
    "/accounts/password/reset/done/",
    "/accounts/reset/MQ/not-a-token/",
    "/accounts/reset/done/",
    "/pipeline/forms/contact-us/",
    "/admin/",
    "/admin/no-such-page/",
]
SIGNED_IN = ["/", "/accounts/password/change/done/", "/admin/password_change/done/"]
IMPORT_FILE = "name,city,phone\n烟台海昌机械有限公司,烟台,+86 535 1234 5678\nNorth Gate Trading,Singapore,\n"
# URL patterns no tour can open, and why.
UNREACHABLE = {
    "^media/(?P<path>.*)$": "Django serves uploaded files itself only with DEBUG on",
    "customers/exports/<int:pk>/": "exports run in the background only past 5000 rows",
    "customers/exports/<int:pk>/download/": "exports run in the background only past 5000 rows",
    "service/feedback/<str:token>/": "opened from the rating e-mail only (tickets/tests/test_customer_links.py)",
    **{
        f"marketing/r/{kind}/<str:token>/": "reached from campaign e-mails only (campaigns/tests/test_tracking.py)"
        for kind in ("o", "c", "u")
    },
    "marketing/bounces/": "posted by a mail provider's server (campaigns/tests/test_bounces.py)",
    "marketing/sms/status/": "posted by the SMS provider's server (campaigns/tests/test_sms.py)",
    "marketing/sms/replies/": "posted by the SMS provider's server (campaigns/tests/test_sms.py)",
    **{
        f"admin/{model}/<path:object_id>/{page}": "the demo has none of these rows"
        for model in (
            "django_celery_beat/clockedschedule",  # nothing is scheduled by clock or by the sun
            "django_celery_beat/solarschedule",
            "pipeline/reminderdelivery",  # written when reminder e-mails go out
            "axes/accessfailurelog",  # kept only with AXES_ENABLE_ACCESS_FAILURE_LOG
            "crm/pendingtask",  # tasks wait there only while the broker is away; the demo runs them inline
        )
        for page in ("", "change/", "delete/", "history/")
    },
}


def _set_up(visitor: Visitor, capture_on_commit) -> None:
    """What a user does before looking around: a calendar address, an import run to the end."""
    visitor.post("/pipeline/calendar/feed/new/")
    upload = SimpleUploadedFile("公司.csv", IMPORT_FILE.encode(), content_type="text/csv")
    with capture_on_commit(execute=True):
        response = visitor.post("/customers/imports/upload/", {"target": "companies", "file": upload})
    if response is not None and response.status_code == 302:
        columns = {"column_0": "name", "column_1": "city", "column_2": "phone"}
        with capture_on_commit(execute=True):
            visitor.post(f"{response['Location']}start/", {"duplicates": "skip", **columns})


def test_every_page_answers_every_demo_user(db, settings, tmp_path, monkeypatch, django_capture_on_commit_callbacks):
    settings.MEDIA_ROOT = tmp_path
    settings.HEALTHZ_CHECK_CELERY = False  # no worker runs beside the tests: /healthz would rightly say 503
    # Hundreds of expected 403s, 404s and 405s would each log a warning; failures are listed below.
    monkeypatch.setattr(logging.getLogger("django.request"), "disabled", True)
    seed_demo(admin_password="a-demo-admin-password")
    tour = Tour()
    stranger = Visitor(Client(), user="(signed out)", tour=tour)
    stranger.post("/accounts/login/", {"username": "no.such.user", "password": "a-wrong-guess"})  # for axes' pages
    stranger.crawl(PUBLIC)
    visitors = {}
    for user in User.objects.filter(is_active=True).order_by("username"):
        client = Client()
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        visitor = visitors[user.username] = Visitor(client, user=user.username, tour=tour)
        _set_up(visitor, django_capture_on_commit_callbacks)
        visitor.crawl(SIGNED_IN)
    visit_siblings(visitors, tour, all_routes() - tour.routes - set(UNREACHABLE))

    assert not tour.failures, f"{len(tour.failures)} pages failed:\n" + "\n".join(map(str, tour.failures))
    unvisited = all_routes() - tour.routes - set(UNREACHABLE)
    assert not unvisited, (
        "No page of the demo links to these URL patterns, so this test cannot open them: link them "
        "from a page, or list them in UNREACHABLE with the reason:\n" + "\n".join(sorted(unvisited))
    )
