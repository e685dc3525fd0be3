import pytest

from crm.testing import Cast, build_cast

# Browser fixtures (Playwright + Debian's chromium) for every app's browser tests.
pytest_plugins = ["crm.tests.browser"]


@pytest.fixture(scope="session", autouse=True)
def _empty_cache():
    """The run starts with an empty cache (the test Redis database): answers cached per user by an
    earlier run must not meet a user of this one with the same id and creation time (a test
    with a frozen clock)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _fresh_choices():
    """Each test starts with no dropdown choices in memory: the database is emptied between
    tests without the signals that would tell crm/choices.py."""
    from crm import choices

    choices.forget()


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language: a request of an earlier test (the test client
    runs LocaleMiddleware in this thread) leaves its language active otherwise."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture
def cast(db) -> Cast:
    return build_cast()


@pytest.fixture
def database_down():
    """Point the default connection at a database that does not exist, then put it back.

    Yields that database's name, which no page or response may reveal.
    """
    from django.db import connections

    name = "crm_test_no_such_database"
    real = connections["default"]
    broken = real.__class__({**real.settings_dict, "NAME": name}, alias="default")
    connections["default"] = broken
    try:
        yield name
    finally:
        broken.close()
        connections["default"] = real


@pytest.fixture
def live_celery_worker(transactional_db):
    """A real Celery worker thread consuming from the test Redis: `.delay()` goes through the broker.

    Tasks run in the worker's own thread and database connection, so the test sees their effects
    only once committed (hence `transactional_db`).
    """
    from celery.contrib.testing.worker import start_worker
    from celery.signals import setup_logging, task_postrun
    from django.db import connections

    from crm.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False

    def keep_django_logging(**kwargs):
        # Answering this signal stops Celery from reconfiguring logging (it would stop task loggers
        # from propagating), so later tests still see log lines through Django's LOGGING.
        pass

    def close_worker_connections(**kwargs):
        # The worker thread's connection would otherwise keep the test database from being dropped.
        connections.close_all()

    setup_logging.connect(keep_django_logging, weak=False)
    task_postrun.connect(close_worker_connections, weak=False)
    app.control.purge()  # messages left by an interrupted run
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30) as worker:
            yield worker
    finally:
        task_postrun.disconnect(close_worker_connections)
        setup_logging.disconnect(keep_django_logging)
        app.conf.task_always_eager = eager
