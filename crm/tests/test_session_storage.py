"""Sessions live in the database with a short-lived copy in Redis: Redis being away signs nobody
out, and a copy that went stale while Redis was unreachable is trusted only briefly."""

import time
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.test import override_settings
from django.utils import timezone

from crm.tasks import purge_expired_sessions
from crm.testing import make_user

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery 42"
# Nothing listens on port 1: every cache call is refused, as while Redis restarts.
REDIS_AWAY = {"default": {"BACKEND": "crm.cache.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}}


@pytest.fixture
def user():
    return make_user(username="han.meimei", password=PASSWORD)


def sign_in(client):
    response = client.post("/accounts/login/", {"username": "han.meimei", "password": PASSWORD})
    assert response.status_code == 302
    return client


def test_signed_in_users_stay_signed_in_while_redis_is_away(client, user):
    sign_in(client)

    with override_settings(CACHES=REDIS_AWAY):
        assert client.get("/").status_code == 200
        assert client.get("/customers/companies/").status_code == 200


def test_people_can_sign_in_and_out_while_redis_is_away(client, user):
    with override_settings(CACHES=REDIS_AWAY):
        sign_in(client)
        assert client.get("/").status_code == 200
        client.post("/accounts/logout/")
        assert client.get("/").status_code == 302


@override_settings(SESSION_CACHE_TIMEOUT=1)
def test_a_copy_left_stale_in_the_cache_expires_quickly(client, user):
    sign_in(client)
    assert client.get("/").status_code == 200
    # Signed out elsewhere while this web process could not reach Redis: the row is gone,
    # the cached copy is not.
    Session.objects.all().delete()

    time.sleep(1.1)

    assert client.get("/").status_code == 302


def test_expired_sessions_are_purged_nightly(client, user):
    from django_celery_beat.models import PeriodicTask

    sign_in(client)
    Session.objects.create(session_key="x" * 32, session_data="", expire_date=timezone.now() - timedelta(days=1))

    purge_expired_sessions.delay()

    assert Session.objects.count() == 1  # the live one
    assert client.get("/").status_code == 200
    schedule = PeriodicTask.objects.get(task="crm.tasks.purge_expired_sessions")
    assert (schedule.crontab.hour, schedule.crontab.minute, schedule.enabled) == ("3", "30", True)
