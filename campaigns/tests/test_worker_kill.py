"""A send survives its worker being killed: `kill -9` a real Celery worker process in the middle
of a batch, start another, resume, and every address has exactly one message.

The SMTP server (aiosmtpd, in this process) kills the worker itself when the Nth message's RCPT
arrives, so the kill always lands at the same point: inside a batch, with a row claimed (locked,
in an open transaction) and earlier rows committed. A kill between the server's final "250 OK"
and the worker's COMMIT could, by design (campaigns/sending.py), send one message twice with the
same Message-ID; this test does not aim at that instant, it checks that nothing else duplicates
or loses a message.
"""

import os
import signal
import socket
import tempfile
import threading
from collections import Counter
from email import message_from_bytes
from pathlib import Path

import pytest
from django.db import connection

from campaigns import services
from campaigns.models import Campaign, Delivery
from campaigns.tests.factories import CampaignFactory, SegmentFactory
from crm.tests.factories import TeamFactory, UserFactory
from crm.tests.outages import VENV_BIN, Process, missing_binaries, wait_until
from customers.tests.factories import CompanyFactory, ContactFactory

pytestmark = [pytest.mark.slow, pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

RECIPIENTS = 300
KILL_AT = 97  # the RCPT of this message (1-based) kills the worker: batch 5 of 20, mid-batch


class KillingInbox:
    """Accepts every message; on the KILL_AT-th RCPT, kill -9 the worker and answer nothing useful."""

    def __init__(self):
        self.received: list[tuple[str, str]] = []  # (Message-ID, recipient)
        self.rcpts = 0
        self.victim: Process | None = None
        self.killed = threading.Event()
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        with self.lock:
            self.rcpts += 1
            kill = self.victim is not None and self.rcpts == KILL_AT
        if kill:
            self.victim.kill(signal.SIGKILL)  # waits until it is gone
            self.victim = None
            self.killed.set()
            return "421 4.3.2 going away"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        message = message_from_bytes(envelope.content)
        with self.lock:
            self.received.extend((message["Message-ID"], rcpt) for rcpt in envelope.rcpt_tos)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = KillingInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def workers(smtp_server, settings):
    """Starts Celery worker processes on the test database and test Redis; stops them all after."""
    missing = [path for path in missing_binaries() if path.endswith("celery")]
    if missing:
        pytest.skip(f"needs the celery command: {missing}")
    from crm.celery import app

    _inbox, port = smtp_server
    database = connection.settings_dict
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "COV_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="campaigns.tests.worker_settings",
        DATABASE_URL=f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        REDIS_URL=settings.CELERY_BROKER_URL,
        CAMPAIGN_TEST_SMTP_PORT=str(port),
        CAMPAIGN_BATCH_SIZE="20",
        PYTHONPATH=str(settings.BASE_DIR),
    )
    workdir = Path(tempfile.mkdtemp(prefix="campaign-worker-"))
    started: list[Process] = []
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    app.control.purge()

    def start() -> Process:
        command = [str(VENV_BIN / "celery"), "-A", "crm", "worker", "--pool", "solo", "--loglevel", "INFO"]
        command += ["--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"w{len(started)}@%h"]
        worker = Process(f"celery-{len(started)}", command, workdir=workdir, env=env)
        worker.start()
        started.append(worker)
        ready = lambda: "ready." in worker.log.read_text(errors="replace") if worker.log.exists() else False  # noqa: E731
        assert wait_until(lambda: ready() or not worker.running, timeout=60) and ready(), worker.output()
        return worker

    try:
        yield start
    finally:
        for worker in started:
            worker.kill(signal.SIGKILL)
        app.control.purge()
        app.conf.task_always_eager = eager


def test_killing_the_worker_mid_send_loses_and_duplicates_nothing(smtp_server, workers):
    from campaigns.tasks import prepare_campaign

    inbox, _port = smtp_server
    team = TeamFactory()
    marketer = UserFactory(marketing=True, team=team, team_role="manager")
    company = CompanyFactory(owner=marketer, city="上海")
    contacts = ContactFactory.create_batch(RECIPIENTS, owner=marketer, company=company, opted_in=True)
    campaign = CampaignFactory(owner=marketer, segment=SegmentFactory(owner=marketer, criteria={"city": "上海"}))

    first = workers()
    inbox.victim = first
    services.campaign_send(campaign=campaign, actor=marketer)  # committed: the task goes through Redis

    assert inbox.killed.wait(timeout=120), f"the send never reached message {KILL_AT}\n{first.output()}"
    assert not first.running
    sent_before = Delivery.objects.filter(campaign=campaign, status=Delivery.Status.SENT).count()
    assert sent_before == KILL_AT - 1, "the kill did not land where it was aimed"
    assert len(inbox.received) == KILL_AT - 1
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SENDING

    second = workers()
    prepare_campaign.delay(campaign.pk)  # what resume_sends does for a send gone silent

    done = lambda: Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SENT  # noqa: E731
    assert wait_until(done, timeout=180, interval=0.5), f"the send did not finish\n{second.output()}"

    received = Counter(inbox.received)
    duplicates = {key: n for key, n in received.items() if n > 1}
    assert not duplicates
    by_address = Counter(rcpt for _id, rcpt in inbox.received)
    assert sorted(by_address) == sorted(c.email for c in contacts)
    assert set(by_address.values()) == {1}
    deliveries = Delivery.objects.filter(campaign=campaign)
    assert deliveries.count() == RECIPIENTS
    assert set(deliveries.values_list("status", flat=True)) == {Delivery.Status.SENT}
    assert set(deliveries.values_list("message_id", "email")) == set(inbox.received)
    campaign.refresh_from_db()
    assert (campaign.recipient_count, campaign.sent_count, campaign.failed_count) == (RECIPIENTS, RECIPIENTS, 0)
