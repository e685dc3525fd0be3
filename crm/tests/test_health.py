"""/healthz tells a load balancer or monitor whether the CRM and its services are up."""

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db

CLOSED_PORT_REDIS = "redis://127.0.0.1:6390/0"


def _get(client, **headers):
    response = client.get("/healthz", **headers)
    assert response["Content-Type"] == "application/json"
    return response, response.json()


@override_settings(HEALTHZ_CHECK_CELERY=False)
def test_up_answers_200_with_each_service_ok(client):
    response, body = _get(client)

    assert response.status_code == 200
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["redis"]["status"] == "ok"
    assert "celery" not in body["checks"]


def test_is_never_cached_and_needs_no_sign_in(client):
    response = client.get("/healthz")

    assert "no-store" in response["Cache-Control"]
    assert response.status_code in (200, 503)  # not a redirect to the sign-in page


@override_settings(SECURE_SSL_REDIRECT=True, HEALTHZ_CHECK_CELERY=False)
def test_is_served_over_plain_http_when_everything_else_redirects_to_https(client):
    assert client.get("/healthz").status_code == 200
    assert client.get("/accounts/login/").status_code == 301


@override_settings(REDIS_URL=CLOSED_PORT_REDIS, HEALTHZ_CHECK_CELERY=False)
def test_redis_down_answers_503_without_naming_the_host(client):
    response, body = _get(client)

    assert response.status_code == 503
    assert body["status"] == "down"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["redis"]["status"] == "down"
    assert body["checks"]["redis"]["error"] == "ConnectionError"
    assert "6390" not in response.content.decode() and "127.0.0.1" not in response.content.decode()


@override_settings(HEALTHZ_CHECK_CELERY=False)
def test_database_down_answers_503_without_leaking_the_error(client, database_down):
    response, body = _get(client)

    assert response.status_code == 503
    database = body["checks"]["database"]
    assert (database["status"], database["error"]) == ("down", "OperationalError")
    assert database_down not in response.content.decode()
    assert body["checks"]["redis"]["status"] == "ok"


@override_settings(HEALTHZ_CHECK_CELERY=True, HEALTHZ_CELERY_TIMEOUT=0.3)
def test_no_celery_worker_answers_503(client):
    # Nobody runs a worker on this test run's Redis database, and pings do not cross databases.
    response, body = _get(client)

    assert response.status_code == 503
    assert body["checks"]["redis"]["status"] == "ok"
    assert body["checks"]["celery"]["status"] == "down"
    assert body["status"] == "down"
