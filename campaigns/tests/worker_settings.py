"""Settings of the Celery worker process test_worker_kill.py starts: the test settings (the
pytest test database and test Redis come through DATABASE_URL and REDIS_URL), with tasks going
through the broker and mail to the test's SMTP server."""

import os

from crm.tests.server_settings import *  # noqa: F403

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = "127.0.0.1"
EMAIL_PORT = int(os.environ["CAMPAIGN_TEST_SMTP_PORT"])
EMAIL_USE_TLS = False
EMAIL_HOST_USER = EMAIL_HOST_PASSWORD = ""
SITE_URL = "https://crm.example.com"
CAMPAIGN_FROM_EMAIL = "news@example.com"
CAMPAIGN_SENDER_DOMAIN = "mail.example.com"
CAMPAIGN_BATCH_SIZE = int(os.environ.get("CAMPAIGN_BATCH_SIZE", "20"))
CAMPAIGN_SEND_WORKERS = 2
