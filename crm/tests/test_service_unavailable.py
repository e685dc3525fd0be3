"""A request that finds the database down gets a 503 asking to try again, not a 500.

test_service_restarts.py does this against a real PostgreSQL that is stopped and started.
"""

import pytest
from django.test import Client

from crm.testing import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser():
    # As a real server answers: the error page, not the exception raised into the test.
    browser = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="en")
    browser.force_login(make_user(username="wang.fang"))
    return browser


def test_a_page_asks_to_try_again_while_the_database_is_down(browser, database_down):
    response = browser.get("/customers/companies/")

    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    assert "The CRM is temporarily unavailable" in page
    assert "Please try again in a few seconds." in page
    assert database_down not in page


def test_a_form_post_while_the_database_is_down_gets_the_same_answer(browser, database_down):
    response = browser.post("/accounts/profile/", {"first_name": "芳"})

    assert response.status_code == 503
    assert response["Retry-After"] == "10"
