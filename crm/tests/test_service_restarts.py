"""The CRM rides out a restart of Redis or PostgreSQL: nobody is signed out, nothing queued is
lost, a request caught in a database restart is asked to try again, and the next one works.

Everything runs for real, each in its own process: a throwaway Redis and PostgreSQL that the
tests kill and start again, the CRM under gunicorn, and a Celery worker with beat.
"""

from datetime import date

import psycopg
import pytest

from crm.tests.outages import CeleryWorker, Stack, missing_binaries, wait_until

pytestmark = pytest.mark.slow

HOME = "/"
COMPANIES = "/customers/companies/"


@pytest.fixture(scope="module")
def stack():
    missing = missing_binaries()
    if missing:
        pytest.skip(f"needs a throwaway Redis and PostgreSQL 15; missing: {', '.join(missing)}")
    stack = Stack()
    try:
        stack.start()
        yield stack
    finally:
        stack.destroy()


@pytest.fixture
def crm(stack):
    """The running stack; whatever a test stops is started again afterwards."""
    try:
        yield stack
    finally:
        stack.restore()


@pytest.fixture
def worker(crm):
    worker = CeleryWorker(crm.workdir, crm.env)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()


def signed_in(crm):
    browser = crm.server.browser()
    browser.sign_in(crm.data["username"], crm.data["password"])
    return browser


def query(crm, sql, *params):
    with psycopg.connect(crm.postgres.url(), autocommit=True) as connection:
        return connection.execute(sql, params).fetchone()[0]


def test_a_signed_in_user_keeps_working_through_a_redis_restart(crm):
    browser = signed_in(crm)
    session = browser.cookie("sessionid")
    assert browser.get(HOME).status == 200

    crm.redis.kill()
    crm.redis.start()  # empty: it kept nothing on disk

    for path in (HOME, COMPANIES):
        response = browser.get(path)
        assert response.status == 200, f"{path} answered {response.status}\n{crm.output()}"
    assert browser.cookie("sessionid") == session


def test_pages_serve_and_people_sign_in_while_redis_is_down(crm):
    browser = signed_in(crm)

    crm.redis.kill()

    for path in (HOME, COMPANIES, HOME):
        response = browser.get(path)
        assert response.status == 200, f"{path} answered {response.status}\n{crm.output()}"
    newcomer = signed_in(crm)
    assert newcomer.get(COMPANIES).status == 200
    health = browser.get("/healthz")
    assert health.status == 503
    assert health.json()["checks"]["redis"]["status"] == "down"

    crm.redis.start()

    assert newcomer.get(COMPANIES).status == 200
    assert browser.get("/healthz").json()["checks"]["redis"]["status"] == "ok"


def test_a_task_queued_while_the_broker_is_down_runs_once_it_is_back(crm, worker):
    browser = signed_in(crm)
    company = crm.data["company"]

    crm.redis.kill()
    response = browser.post(
        f"/customers/companies/{company}/transactions/",
        {"date": date.today().isoformat(), "amount": "20000", "currency": "CNY", "status": "paid"},
    )

    assert response.status == 302, f"recording a purchase answered {response.status}\n{crm.output()}"
    assert query(crm, "SELECT count(*) FROM customers_transaction WHERE company_id = %s", company) == 1
    assert query(crm, "SELECT count(*) FROM crm_pendingtask WHERE task = 'customers.tasks.grade_company'") == 1
    assert query(crm, "SELECT graded_at FROM customers_company WHERE id = %s", company) is None

    crm.redis.start()

    assert wait_until(
        lambda: query(crm, "SELECT graded_at FROM customers_company WHERE id = %s", company) is not None,
        timeout=60,
        interval=0.5,
    ), f"the regrade never ran\n{worker.process.output()}"
    assert query(crm, "SELECT count(*) FROM crm_pendingtask") == 0


def test_a_request_during_a_database_restart_is_asked_to_try_again_and_the_next_succeeds(crm):
    browser = signed_in(crm)
    assert browser.get(COMPANIES).status == 200

    crm.postgres.stop()
    response = browser.get(COMPANIES)

    assert response.status == 503, f"answered {response.status}\n{crm.output()}"
    assert response.headers["Retry-After"].isdigit()
    assert "try again in a few seconds" in response.text
    assert "no-store" in response.headers["Cache-Control"]

    crm.postgres.start()

    # Every thread's connection died with the server; each is replaced on its next use.
    for _ in range(6):
        response = browser.get(COMPANIES)
        assert response.status == 200, f"answered {response.status} after the restart\n{crm.output()}"
