"""`manage.py devserver` runs background work on Redis only when Redis answers."""

import pytest

from crm.management.commands.devserver import Command, redis_answers, without_password


def test_redis_answers_when_it_is_up(settings):
    assert redis_answers(settings.REDIS_URL)


def test_redis_does_not_answer_on_a_closed_port():
    assert not redis_answers("redis://127.0.0.1:1/0")


def test_password_is_hidden_when_printing_a_url():
    assert without_password("redis://:s3cret@redis.internal:6380/2") == "redis://:***@redis.internal:6380/2"
    assert without_password("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


@pytest.mark.parametrize(
    ("redis_url", "postgres", "expect_workers"),
    [
        ("", True, False),
        ("redis://127.0.0.1:1/0", True, False),
        (None, False, False),  # the test Redis, but SQLite: a worker cannot share the file
        (None, True, True),
    ],
)
def test_mode_follows_what_is_reachable(settings, redis_url, postgres, expect_workers):
    settings.REDIS_URL = settings.REDIS_URL if redis_url is None else redis_url
    settings.USING_POSTGRES = postgres
    env = {"REDIS_URL": "redis://from-the-environment/0"}

    assert Command()._choose_mode(env) is expect_workers

    if expect_workers:
        assert env["REDIS_URL"] == "redis://from-the-environment/0"
    else:
        assert env["REDIS_URL"] == ""
