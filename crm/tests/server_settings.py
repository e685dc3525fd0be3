"""Settings of a CRM that tests serve in a subprocess (crm/tests/outages.py): the test settings,
with tasks travelling through the broker as in production instead of running inline."""

from crm.test_settings import *  # noqa: F403

CELERY_TASK_ALWAYS_EAGER = False
TASK_OUTBOX_GRACE = 1  # beat runs the hand-over every second in these tests
