# Fixtures for the campaigns tests: a real SMTP server, and absolute links as in production.
import pytest

from crm.tests.smtp import smtp_inbox  # noqa: F401

SITE = "https://crm.example.com"


@pytest.fixture(autouse=True)
def _campaign_settings(settings):
    settings.SITE_URL = SITE
    settings.CAMPAIGN_FROM_EMAIL = "news@example.com"
    settings.CAMPAIGN_SENDER_DOMAIN = "mail.example.com"
    settings.CAMPAIGN_UNSUBSCRIBE_MAILTO = ""
    settings.CAMPAIGN_RATE_PER_MINUTE = 0
    settings.CAMPAIGN_BATCH_SIZE = 200
    settings.CAMPAIGN_MAX_ATTEMPTS = 5
