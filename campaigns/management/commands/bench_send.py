"""`make bench` (campaign sends): a personalised e-mail to every contact of a large segment,
sent by real Celery workers to an SMTP server that counts what arrives, with a worker killed
midway; then the segment count over a large contacts table.

1. The send (`<database>_bench_send`, dropped and created again every run): `--recipients`
   contacts are generated (COPY, through `customers.generators`), every one with an address and
   consent and in one dynamic segment, owned by a marketer. An aiosmtpd server in this process
   records each (Message-ID, recipient) it accepts. `--workers` `celery -A crm worker --pool solo`
   processes run on the bench database and a Redis database of the benchmark's own (emptied at
   the start and the end). The send starts through `services.campaign_send`; when `--kill-at` of
   the messages have arrived, one worker is killed with SIGKILL (`--kill-mode async`: from
   another thread, wherever the worker is in its loop; `rcpt`: by the SMTP server on a message's
   RCPT, as campaigns/tests/test_worker_kill.py does, never between "250 OK" and COMMIT). A
   replacement starts, `resume_sends` runs once and, when it leaves the send alone (another
   worker keeps the heartbeat fresh), `prepare_campaign` is queued as it would queue it for a
   silent send. The run ends when the campaign is SENT.
2. The segment count (`<database>_bench_send_segment`, kept between runs and topped up): up to
   `--segment-contacts` generated contacts, loaded for at most `--segment-budget` seconds (the
   size reached is the size reported), then `segments.estimated_count` timed on a few segments.

Reports the wall time, messages per second (overall, with both workers, after the kill), each
worker's peak resident memory, duplicates (a recipient with more than one distinct message, a
Message-ID received twice), losses (recipients never reached) and deliveries not marked sent.
Writes its section of docs/benchmarks.md; fails when a message was lost, a recipient got two
different messages, or more copies arrived than the one message a killed worker may have had in
flight.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import platform
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from psycopg import sql

from crm import benchmark
from crm.management.commands.bench import DOC, DOC_HEADER, machine
from crm.management.commands.bench import Command as PageBench

SITE = "https://crm.example.com"
DEFAULT_REDIS = "redis://127.0.0.1:6379/11"
SEGMENT_CHUNK = 1_000_000  # contacts per COPY of the segment table's load
CONTACTS_PER_COMPANY = 50
ESTIMATE_RUNS = 5
MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.I | re.M)
HTML = """<html><head><style>
body { font-family: Helvetica, Arial, sans-serif; color: #333333; }
h1 { font-size: 22px; color: #0b5394; }
p { line-height: 1.5; margin: 0 0 12px; }
.button { background: #0b5394; color: #ffffff; padding: 10px 18px; text-decoration: none; }
.footer { font-size: 12px; color: #888888; }
</style></head><body>
<h1>{{ contact.given_name }}，春季新品上市 · Spring is here</h1>
<p>{{ contact.name }}，您好！感谢{{ contact.company or "您" }}一直以来的支持。本周我们推出了春季新品，
老客户下单即享 8 折优惠，优惠截止到本周日。</p>
<p>Dear {{ contact.name }}, thank you for working with us. This week only, returning customers get 20% off
everything in the spring range.</p>
<p><a class="button" href="https://shop.example.com/spring?utm_source=mail&amp;utm_campaign=spring">
查看新品 See what's new</a></p>
<p>如有问题，请直接回复本邮件，或联系您的客户经理 {{ sender.name }}。</p>
<p><a href="https://shop.example.com/stores">门店地址 Our stores</a> ·
<a href="https://example.com/about">关于我们 About us</a></p>
<p class="footer">您收到此邮件是因为您同意接收我们的营销邮件。
<a href="{{ unsubscribe_url }}">退订 Unsubscribe</a></p>
</body></html>"""


# --- the mail server -----------------------------------------------------------------------------


class Inbox:
    """An aiosmtpd handler that accepts every message and records (Message-ID, recipient, time).
    With `kill_on_rcpt`, the first RCPT from the victim's connection from the `trigger_at`-th on
    (1-based) kills the victim first and is refused; another worker's RCPT is never refused (a 4xx
    would send its message to the retry queue, minutes later)."""

    def __init__(self, *, trigger_at: int, kill_on_rcpt: bool):
        self.received: list[tuple[str, str, float]] = []
        self.lock = threading.Lock()
        self.rcpts = 0
        self.trigger_at = trigger_at
        self.kill_on_rcpt = kill_on_rcpt
        self.victim: Worker | None = None
        self.reached = threading.Event()  # `trigger_at` messages have arrived (or the RCPT kill happened)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        with self.lock:
            self.rcpts += 1
            due = self.kill_on_rcpt and self.victim is not None and self.rcpts >= self.trigger_at
        victim = self.victim if due and self.victim.owns_port(session.peer[1]) else None
        if victim is not None:
            self.victim = None
            victim.kill()  # waits until it is gone
            self.reached.set()
            return "421 4.3.2 going away"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        found = MESSAGE_ID.search(envelope.original_content or envelope.content)
        message_id = found.group(1).decode() if found else ""
        now = time.monotonic()
        with self.lock:
            self.received.extend((message_id, rcpt, now) for rcpt in envelope.rcpt_tos)
            if not self.kill_on_rcpt and len(self.received) >= self.trigger_at:
                self.reached.set()
        return "250 Message accepted for delivery"

    def count(self) -> int:
        with self.lock:
            return len(self.received)


# --- the workers ---------------------------------------------------------------------------------


class Worker:
    """One `celery -A crm worker --pool solo` process in a session of its own, logging to a file."""

    def __init__(self, name: str, env: dict, workdir: Path, profile: str = ""):
        self.name, self.env, self.profile = name, env, profile
        self.log = workdir / f"{name}.log"
        self.process: subprocess.Popen | None = None
        self.peak_kb = 0  # the highest VmHWM read
        self.samples_kb = 0  # the highest VmRSS sampled (where /proc has no VmHWM)

    def start(self, timeout: float = 120) -> None:
        command = [str(Path(sys.executable).parent / "celery"), "-A", "crm", "worker", "--pool", "solo"]
        if self.profile:  # cProfile writes the file when the worker exits (a warm shutdown)
            command = [sys.executable, "-m", "cProfile", "-o", self.profile, *command]
        command += ["--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"]
        command += ["-n", f"{self.name}@%h"]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=settings.BASE_DIR,
                env=self.env,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if " ready." in self.log.read_text(errors="replace"):
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise CommandError(f"worker {self.name} did not start:\n{self.tail()}")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def owns_port(self, port: int) -> bool:
        """Whether this worker's end of a local TCP connection is `port` (its SMTP connection)."""
        import psutil

        if not self.running:
            return False
        connections = psutil.Process(self.process.pid).net_connections(kind="tcp")
        return any(c.laddr and c.laddr.port == port for c in connections)

    def sample(self) -> None:
        """Note the worker's peak resident memory so far (VmHWM), and its current size."""
        if not self.running:
            return
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            status = ""
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                self.peak_kb = max(self.peak_kb, int(line.split()[1]))
            elif line.startswith("VmRSS:"):
                self.samples_kb = max(self.samples_kb, int(line.split()[1]))
        if not status:
            with contextlib.suppress(Exception):  # no psutil, or the process just ended
                import psutil

                self.samples_kb = max(self.samples_kb, psutil.Process(self.process.pid).memory_info().rss // 1024)

    @property
    def peak_mb(self) -> int:
        return round(max(self.peak_kb, self.samples_kb) / 1024)

    def kill(self, sig=signal.SIGKILL) -> None:
        if self.running:
            self.sample()
            os.killpg(self.process.pid, sig)
            self.process.wait(timeout=60)

    def stop(self) -> None:
        """SIGTERM (a warm shutdown), SIGKILL after 20 s."""
        if not self.running:
            return
        self.sample()
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()

    def tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return f"--- {self.name} ({self.log}) ---\n" + "\n".join(text.splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def rate(times: list[float], first: int, last: int) -> float | None:
    """Messages per second between the first-th and the last-th arrival (indexes into `times`)."""
    last = min(last, len(times) - 1)
    if first < 0 or last <= first or times[last] <= times[first]:
        return None
    return (last - first) / (times[last] - times[first])


# --- the command ---------------------------------------------------------------------------------


class Command(BaseCommand):
    help = (
        "Send a personalised campaign through real Celery workers to a local SMTP server, kill a worker "
        "midway, and time the segment count on a large contacts table; writes docs/benchmarks.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("--recipients", type=int, default=100_000, help="Contacts in the campaign's segment.")
        parser.add_argument("--workers", type=int, default=2, help="Celery worker processes (solo pool).")
        parser.add_argument("--batch-size", type=int, default=200, help="CAMPAIGN_BATCH_SIZE of the workers.")
        parser.add_argument(
            "--kill-at", type=float, default=0.5, help="Kill a worker once this share of the messages arrived."
        )
        parser.add_argument(
            "--kill-mode",
            choices=("async", "rcpt"),
            default="async",
            help="async: SIGKILL from another thread, wherever the worker is; rcpt: on a message's RCPT.",
        )
        parser.add_argument(
            "--segment-contacts",
            type=int,
            default=10_000_000,
            help="Contacts of the segment-count table (0: skip that part).",
        )
        parser.add_argument(
            "--segment-budget",
            type=float,
            default=600,
            help="Seconds the segment table's load may take in this run; the size reached is reported.",
        )
        parser.add_argument(
            "--database-url", help="Send database (dropped and created); default <database>_bench_send."
        )
        parser.add_argument("--redis-url", default=DEFAULT_REDIS, help="A Redis database for the benchmark alone.")
        parser.add_argument("--timeout", type=float, default=0, help="Seconds to wait for the send (default: scaled).")
        parser.add_argument("--no-doc", action="store_true", help="Print the results only.")
        parser.add_argument(
            "--profile", default="", help="Run worker w1 (not the one killed) under cProfile, stats to this file."
        )
        parser.add_argument("--inside", choices=("send", "segment"), help="(internal) run one part")
        parser.add_argument("--result-file", help="(internal) where that part writes its results")

    def handle(self, *args, **options):
        if options["inside"]:
            part = self.run_send if options["inside"] == "send" else self.run_segment
            result = part(**options)
            Path(options["result_file"]).write_text(json.dumps(result))
            return
        if connection.vendor != "postgresql":
            raise CommandError("The benchmark needs PostgreSQL: set DATABASE_URL.")
        if options["recipients"] < 10:
            raise CommandError("--recipients: at least 10.")
        pages = PageBench()
        url = options["database_url"] or pages.default_url(0).replace("_bench_0", "_bench_send")
        self.recreate_database(url)
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "REDIS_URL": options["redis_url"],
            "DJANGO_SETTINGS_MODULE": "crm.settings",
            "DEBUG": "false",
            "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1",
            "SITE_URL": SITE,
            "CAMPAIGN_FROM_EMAIL": "news@example.com",
            "CAMPAIGN_SENDER_DOMAIN": "mail.example.com",
            "CAMPAIGN_UNSUBSCRIBE_MAILTO": "",
            "CAMPAIGN_RATE_PER_MINUTE": "0",
            "CAMPAIGN_BATCH_SIZE": str(options["batch_size"]),
            "CAMPAIGN_SEND_WORKERS": str(options["workers"]),
            "HEALTHZ_CHECK_CELERY": "false",
            **pages.field_keys(),
        }
        for name in ("EMAIL_URL", "CELERY_TASK_ALWAYS_EAGER", "PYTEST_CURRENT_TEST"):
            env.pop(name, None)
        send = self.part("send", env, options)
        segment = None
        if options["segment_contacts"]:
            segment_url = url.split("?")[0] + "_segment"
            pages.create_database(segment_url)
            segment = self.part("segment", {**env, "DATABASE_URL": segment_url, "LOG_LEVEL": "WARNING"}, options)
        section = self.section(send, segment, options)
        self.stdout.write(section)
        if not options["no_doc"]:
            document = DOC.read_text() if DOC.exists() else DOC_HEADER
            DOC.write_text(benchmark.replace_section(document, "campaign-sends", section))
            self.stdout.write(self.style.SUCCESS(f"wrote {DOC}"))
        self.stdout.write("RESULT " + json.dumps({"send": send, "segment": segment}))
        problems = self.problems(send)
        if problems:
            raise CommandError("The send was not exactly once: " + "; ".join(problems))

    def recreate_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1].split("?")[0]
        if "bench" not in name:
            raise CommandError(f"refusing to drop {name}: the send database's name must contain 'bench'")
        server = url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self.stdout.write(f"created database {name}")

    def part(self, name: str, env: dict, options: dict) -> dict:
        argv = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "bench_send", "--inside", name]
        for option in (
            "recipients",
            "workers",
            "batch_size",
            "kill_at",
            "kill_mode",
            "segment_contacts",
            "segment_budget",
            "redis_url",
            "timeout",
            "profile",
        ):
            argv += [f"--{option.replace('_', '-')}", str(options[option])]
        with tempfile.NamedTemporaryFile(prefix="crm-bench-send-", suffix=".json") as result:
            argv += ["--result-file", result.name]
            completed = subprocess.run(argv, env=env, cwd=settings.BASE_DIR, check=False)  # noqa: S603
            if completed.returncode:
                raise CommandError(f"the {name} part of the benchmark failed (status {completed.returncode})")
            return json.loads(Path(result.name).read_text())

    @staticmethod
    def problems(send: dict) -> list[str]:
        found = []
        if send["status"] != "sent":
            found.append(f"the campaign ended {send['status']}, not sent")
        if send["losses"]:
            found.append(f"{send['losses']} recipients got nothing")
        if send["not_sent"]:
            found.append(f"{send['not_sent']} deliveries not marked sent")
        if send["distinct_duplicates"]:
            found.append(f"{send['distinct_duplicates']} recipients got two different messages")
        if send["same_id_copies"] > 1:
            found.append(f"{send['same_id_copies']} messages arrived twice with the same Message-ID")
        if send["wrong_message_ids"]:
            found.append(f"{send['wrong_message_ids']} deliveries record a Message-ID that did not arrive")
        return found

    # --- the send, inside the bench database -------------------------------------------------

    def log(self, message: str) -> None:
        self.stdout.write(message)
        self.stdout.flush()

    def run_send(self, *, recipients, workers, kill_at, kill_mode, redis_url, timeout, **options) -> dict:
        from aiosmtpd.controller import Controller

        from campaigns import services
        from campaigns.models import Campaign, Delivery
        from campaigns.tasks import prepare_campaign, resume_sends
        from customers.models import Contact

        began = time.monotonic()
        call_command("migrate", verbosity=0, interactive=False)
        migrated = time.monotonic() - began
        marketer, generated = self.generate_recipients(recipients)
        self.log(f"migrated in {migrated:.0f} s; {recipients:,} contacts generated in {generated:.1f} s")
        segment = services.segment_create(
            actor=marketer, name="春季活动 Spring audience", kind="dynamic", criteria={"email_consent": "yes"}
        )
        campaign = services.campaign_create(
            actor=marketer,
            name="春季促销 Spring sale (bench)",
            segment=segment,
            from_name="示例公司 Example Co",
            subject="{{ contact.given_name }}，春季新品上市 Spring is here",
            preheader="仅限本周 This week only",
            html_body=HTML,
            text_body="",
        )

        flush_redis(redis_url)
        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command at INFO
        port = free_port()
        trigger = max(1, min(recipients - 1, round(recipients * kill_at)))
        inbox = Inbox(trigger_at=trigger, kill_on_rcpt=kill_mode == "rcpt")
        controller = Controller(inbox, hostname="127.0.0.1", port=port)
        controller.start()
        workdir = Path(tempfile.mkdtemp(prefix="crm-bench-send-"))
        env = {**os.environ, "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(port), "EMAIL_USE_TLS": "false"}
        env["EMAIL_BACKEND"] = "django.core.mail.backends.smtp.EmailBackend"
        started: list[Worker] = []

        def start_worker() -> Worker:
            name = f"w{len(started)}"
            worker = Worker(name, env, workdir, profile=options["profile"] if name == "w1" else "")
            started.append(worker)
            worker.start()
            return worker

        timeout = timeout or max(300, recipients / 20)
        events: dict[str, float | int | str | None] = {}
        rss_samples: list[tuple[float, dict[str, int]]] = []
        try:
            for _ in range(workers):
                start_worker()
            victim = started[0]
            inbox.victim = victim
            self.log(f"{workers} workers ready; sending {recipients:,} messages (logs in {workdir})")
            load_before = os.getloadavg()[0]
            t0 = time.monotonic()
            services.campaign_send(campaign=campaign, actor=marketer)
            deadline = t0 + timeout
            status = Campaign.Status.SENDING
            last_note = t0
            while time.monotonic() < deadline:
                if "kill" in events:
                    time.sleep(0.25)
                elif inbox.reached.wait(timeout=0.25):
                    if kill_mode == "async":
                        victim.kill()
                    events["kill"] = time.monotonic() - t0
                    events["received_at_kill"] = inbox.count()
                    self.log(f"killed {victim.name} at {events['kill']:.1f} s, {events['received_at_kill']:,} received")
                    start_worker()
                    events["replacement_ready"] = time.monotonic() - t0
                    resumed = resume_sends()
                    events["resume_sends"] = json.dumps(resumed)
                    if campaign.pk not in resumed["resumed"]:
                        prepare_campaign.delay(campaign.pk)  # what resume_sends queues for a silent send
                        events["prepare_queued"] = True
                    events["resumed"] = time.monotonic() - t0
                    events["received_at_resume"] = inbox.count()
                    self.log(f"replacement ready, send resumed at {events['resumed']:.1f} s ({resumed})")
                now = time.monotonic()
                for worker in started:
                    worker.sample()
                if now - last_note >= 5:
                    last_note = now
                    rss_samples.append(
                        (round(now - t0, 1), {w.name: w.samples_kb // 1024 for w in started if w.running})
                    )
                    self.log(f"  {now - t0:6.1f} s: {inbox.count():,} received")
                status = Campaign.objects.filter(pk=campaign.pk).values_list("status", flat=True).get()
                if status != Campaign.Status.SENDING:
                    break
            events["ended"] = time.monotonic() - t0
            time.sleep(2)  # a late copy would still arrive
            for worker in started:
                worker.sample()
        finally:
            for worker in started:
                worker.stop()
            controller.stop()
            flush_redis(redis_url)

        campaign.refresh_from_db()
        received = list(inbox.received)
        times = sorted(t - t0 for _mid, _rcpt, t in received)
        expected = set(Contact.objects.values_list("email", flat=True))  # every contact is in the segment
        pairs = Counter((mid, rcpt) for mid, rcpt, _t in received)
        ids_by_rcpt = defaultdict(set)
        for mid, rcpt, _t in received:
            ids_by_rcpt[rcpt].add(mid)
        recorded = set(
            Delivery.objects.filter(campaign=campaign, status=Delivery.Status.SENT).values_list("message_id", "email")
        )
        kill_index = int(events.get("received_at_kill") or len(times))
        resume_index = int(events.get("received_at_resume") or len(times))
        duration = events["ended"]
        db_seconds = (campaign.finished_at - campaign.started_at).total_seconds() if campaign.finished_at else None
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            pg_version = cursor.fetchone()[0]
        result = {
            "postgresql": pg_version,
            "load_before": round(load_before, 1),
            "load_after": round(os.getloadavg()[0], 1),
            "recipients": recipients,
            "workers": workers,
            "batch_size": options["batch_size"],
            "kill_mode": kill_mode,
            "status": campaign.status,
            "generate_seconds": round(generated, 1),
            "wall_seconds": round(duration, 1),
            "db_seconds": round(db_seconds, 1) if db_seconds else None,
            "first_message_seconds": round(times[0], 1) if times else None,
            "last_message_seconds": round(times[-1], 1) if times else None,
            "received": len(received),
            "overall_rate": round(len(set(pairs)) / duration, 1) if duration else 0,
            "sending_rate": round(rate(times, 0, len(times) - 1) or 0, 1),
            "steady_rate": round(rate(times, len(times) // 10, kill_index - 1) or 0, 1),
            "after_kill_rate": round(rate(times, kill_index, resume_index - 1) or 0, 1),
            "after_resume_rate": round(rate(times, resume_index, len(times) - 1) or 0, 1),
            "events": {k: round(v, 1) if isinstance(v, float) else v for k, v in events.items()},
            "peak_rss_mb": {w.name: w.peak_mb for w in started},
            "killed": victim.name,
            "rss_timeline": rss_samples,
            "distinct_duplicates": sum(1 for ids in ids_by_rcpt.values() if len(ids) > 1),
            "same_id_copies": sum(n - 1 for n in pairs.values()),
            "losses": len(expected - set(ids_by_rcpt)),
            "strangers": len(set(ids_by_rcpt) - expected),
            "not_sent": Delivery.objects.filter(campaign=campaign).exclude(status=Delivery.Status.SENT).count(),
            "wrong_message_ids": len(recorded - set(pairs)),
            "counters": [campaign.recipient_count, campaign.sent_count, campaign.failed_count],
            "message_bytes": self.message_size(campaign),
        }
        if not times or campaign.status != Campaign.Status.SENT:
            for worker in started:
                self.log(worker.tail())
        else:
            shutil.rmtree(workdir, ignore_errors=True)
        self.log(json.dumps(result))
        return result

    def generate_recipients(self, count: int):
        """A marketer in a team, and `count` contacts they own, each with an address and consent
        (customers.generators' rows, COPY)."""
        from django.contrib.auth.models import Group

        from crm import roles
        from crm.datagen import GenerationContext, Owner, copy_rows
        from crm.fields import blind_index_for, normalize_email
        from crm.models import TeamMembership, User
        from crm.services import team_create, team_set_member
        from customers import generators
        from customers.models import Company, Contact

        marketer = User.objects.create_user(
            username="bench-marketer", email="marketer@example.com", password=None, first_name="Mei", language="en"
        )
        marketer.groups.add(Group.objects.get(name=roles.MARKETING))
        team = team_create(name="市场部 Marketing")
        team_set_member(team=team, user=marketer, role=TeamMembership.Role.MEMBER)
        started = time.monotonic()
        ctx = GenerationContext(rng=random.Random(7), owners=[Owner(marketer.pk, team.pk)], encrypt=False)
        copy_rows(Company, generators.companies(ctx, max(1, count // 20)), batch_size=50_000)
        ids = Company.objects.order_by("pk").values_list("pk", flat=True)
        ctx.new_ids[Company] = (ids.first(), ids.last())
        consented = datetime(2025, 6, 1, tzinfo=UTC)

        def rows():
            for number, row in enumerate(generators.contacts(ctx, count)):
                email = row["email"].replace("@", f".r{number}@", 1)  # unique: losses are counted per address
                yield {
                    **row,
                    "email": email,
                    "email_bidx": blind_index_for(normalize_email, email),
                    "email_opt_in": True,
                    "email_opt_in_at": consented,
                    "email_opt_in_source": "bench",
                }

        copy_rows(Contact, rows(), batch_size=50_000)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE customers_contact")
            cursor.execute("ANALYZE customers_company")
        return marketer, time.monotonic() - started

    @staticmethod
    def message_size(campaign) -> int:
        """The size of one message as sent (the first delivery's)."""
        from campaigns import sending
        from campaigns.models import Delivery

        delivery = Delivery.objects.filter(campaign=campaign).select_related("contact__company").first()
        if delivery is None:
            return 0
        return len(sending.build_message(campaign, delivery).message().as_bytes())

    # --- the segment count, inside its own database -------------------------------------------

    def run_segment(self, *, segment_contacts, segment_budget, **options) -> dict:
        from crm.datagen import ensure_people

        began = time.monotonic()
        call_command("migrate", verbosity=0, interactive=False)
        owners = ensure_people()
        load = self.load_contacts(segment_contacts, segment_budget, owners)
        self.log(f"segment table ready in {time.monotonic() - began:.0f} s: {load}")
        return {**load, "segments": self.time_segments()}

    def load_contacts(self, wanted: int, budget: float, owners) -> dict:
        """Top the contacts up towards `wanted` for at most `budget` seconds of loading (COPY with
        the secondary indexes dropped, rebuilt after; foreign keys not checked: made-up ids known
        to exist), then VACUUM ANALYZE as autovacuum would."""
        from crm.datagen import GenerationContext, _create_indexes, _drop_secondary_indexes, copy_rows
        from customers import generators
        from customers.models import Company, Contact

        present = Contact.objects.count()
        note = {"contacts": present, "wanted": wanted, "loaded": 0, "load_seconds": 0.0, "index_seconds": 0.0}
        if present >= wanted:
            return note
        started = time.monotonic()
        rng = random.Random(present + 11)
        ctx = GenerationContext(rng=rng, owners=owners, encrypt=False)
        companies = max(1, wanted // CONTACTS_PER_COMPANY)
        if Company.objects.count() < companies:
            copy_rows(Company, generators.companies(ctx, companies - Company.objects.count()), batch_size=50_000)
        languages = ["zh-hans"] * 6 + ["en"] * 3 + [""]

        def rows(count: int):
            for row in generators.contacts(ctx, count):
                opted = rng.random() < 0.6
                yield {**row, "email_opt_in": opted, "preferred_language": rng.choice(languages)}

        rebuild = wanted - present >= present
        dropped = []
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")  # no FK triggers on the load
        try:
            if rebuild:
                with transaction.atomic():
                    dropped = _drop_secondary_indexes(Contact)
            while present < wanted and time.monotonic() - started < budget:
                chunk = min(SEGMENT_CHUNK, wanted - present)
                copy_rows(Contact, rows(chunk), batch_size=100_000)
                present += chunk
                note["loaded"] += chunk
                self.log(f"  {present:,} contacts ({time.monotonic() - started:.0f} s)")
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = DEFAULT")
            note["load_seconds"] = round(time.monotonic() - started, 1)
            indexing = time.monotonic()
            with transaction.atomic():
                _create_indexes(dropped)
            note["index_seconds"] = round(time.monotonic() - indexing, 1)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE customers_contact")
            cursor.execute("VACUUM ANALYZE customers_company")
        note["contacts"] = Contact.objects.count()
        return note

    def time_segments(self) -> list[dict]:
        from campaigns.models import Segment
        from campaigns.segments import audience, estimated_count, planner_estimate
        from crm import roles
        from crm.models import User
        from customers.models import Contact

        admin = User.objects.filter(groups__name=roles.ADMINISTRATOR).order_by("pk").first()
        manager = User.objects.filter(groups__name=roles.SALES_MANAGER).order_by("pk").first()
        rep = Contact.objects.order_by("pk").values_list("owner_id", flat=True).first()
        cases = [
            ("agreed to e-mail, as an administrator", admin, {"email_consent": "yes"}),
            ("上海 companies, agreed, as an administrator", admin, {"city": "上海", "email_consent": "yes"}),
            ("agreed, English, as a team manager", manager, {"email_consent": "yes", "language": "en"}),
            (
                "one rep's 上海 contacts in English, as an administrator",
                admin,
                {"owner": rep, "city": "上海", "language": "en"},
            ),
        ]
        results = []
        for name, user, criteria in cases:
            segment = Segment(kind=Segment.Kind.DYNAMIC, criteria=criteria, owner=user)
            queryset = audience(segment, user)
            timings = []
            for _ in range(ESTIMATE_RUNS + 1):
                started = time.perf_counter()
                count, estimated = estimated_count(queryset)
                timings.append((time.perf_counter() - started) * 1000)
            explain = []
            for _ in range(ESTIMATE_RUNS):
                started = time.perf_counter()
                planner_estimate(queryset)
                explain.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            exact = queryset.order_by().count()
            exact_ms = (time.perf_counter() - started) * 1000
            results.append(
                {
                    "name": name,
                    "shown": count,
                    "estimated": estimated,
                    "exact": exact,
                    "first_ms": round(timings[0], 1),
                    "median_ms": round(statistics.median(timings[1:]), 1),
                    "max_ms": round(max(timings[1:]), 1),
                    "explain_ms": round(statistics.median(explain), 1),
                    "exact_count_ms": round(exact_ms),
                }
            )
            self.log(json.dumps(results[-1], ensure_ascii=False))
        return results

    # --- the report ----------------------------------------------------------------------------

    def section(self, send: dict, segment: dict | None, options: dict) -> str:
        pg_version = send["postgresql"]
        e = send["events"]
        peaks = ", ".join(f"{name} {mb} MB" for name, mb in send["peak_rss_mb"].items())
        goal = "met" if send["steady_rate"] >= 200 else "**not met**"
        kill_how = (
            "SIGKILL from another thread, wherever the worker was in its loop"
            if send["kill_mode"] == "async"
            else "SIGKILL by the SMTP server on a message's RCPT (never between 250 and COMMIT)"
        )
        lines = [
            "## Campaign sends",
            "",
            f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}, PostgreSQL {pg_version}, "
            f"Python {platform.python_version()}, load average {send['load_before']} before the send and "
            f"{send['load_after']} after it (other work on the machine counts), with "
            f"`manage.py bench_send --recipients {send['recipients']}` (part of `make bench`). "
            f"{send['recipients']:,} contacts (generated in {send['generate_seconds']} s, every one with an "
            "address and consent) in one dynamic segment; the campaign's HTML has merge fields, a style sheet "
            f"inlined per message and three tracked links ({send['message_bytes']:,} bytes per message as sent). "
            f"{send['workers']} `celery -A crm worker --pool solo` processes (production settings, "
            f"`CAMPAIGN_BATCH_SIZE={send['batch_size']}`) send to an aiosmtpd server in the benchmark's "
            "process on 127.0.0.1, which records each (Message-ID, recipient). The database, the workers, the "
            "SMTP server and the benchmark share the machine's CPUs.",
            "",
            f"Worker `{send['killed']}` was killed ({kill_how}) at {e.get('kill', 0):.1f} s, once "
            f"{e.get('received_at_kill', 0):,} messages had arrived; a replacement was ready at "
            f"{e.get('replacement_ready', 0):.1f} s. `resume_sends` then returned `{e.get('resume_sends', '')}`"
            + (
                " — the surviving worker keeps the heartbeat fresh, so it does not pick the send up — and "
                "`prepare_campaign` was queued as it queues it for a silent send."
                if e.get("prepare_queued")
                else "."
            ),
            "",
            "| measure | result | goal |",
            "|---|---:|---|",
            f"| campaign status at the end | {send['status']} | sent |",
            f"| wall time, `campaign_send` to SENT | {send['wall_seconds']:.1f} s | |",
            f"| first message arrived after | {send['first_message_seconds']} s (listing the recipients) | |",
            f"| messages/s overall (wall time) | {send['overall_rate']:.1f} | |",
            f"| messages/s, first to last message | {send['sending_rate']:.1f} | |",
            f"| messages/s steady, {send['workers']} workers (10% of the messages to the kill) "
            f"| {send['steady_rate']:.1f} | ≥ 200 ({goal}) |",
            f"| messages/s from the kill to the resume | {send['after_kill_rate']:.1f} | |",
            f"| messages/s after the resume | {send['after_resume_rate']:.1f} | |",
            f"| peak resident memory per worker (VmHWM) | {peaks} | |",
            f"| messages received | {send['received']:,} | {send['recipients']:,} |",
            f"| recipients with two different messages | {send['distinct_duplicates']} | 0 |",
            f"| messages received twice with the same Message-ID | {send['same_id_copies']} | 0 |",
            f"| recipients never reached (losses) | {send['losses']} | 0 |",
            f"| deliveries not marked sent | {send['not_sent']} | 0 |",
            f"| campaign counters (recipients, sent, failed) | {', '.join(map(str, send['counters']))} | |",
        ]
        if segment:
            lines += [
                "",
                f"### Segment count over {segment['contacts']:,} contacts",
                "",
                f"`campaigns.segments.estimated_count` (exact up to 10,000, the planner's estimate beyond), as "
                f"the segment page calls it, on a table of {segment['contacts']:,} generated contacts"
                + (
                    f" (the run was asked for {segment['wanted']:,}; loading stops after "
                    f"`--segment-budget` {options['segment_budget']:.0f} s, and this run loaded "
                    f"{segment['loaded']:,} in {segment['load_seconds']} s plus {segment['index_seconds']} s of "
                    "index building)"
                    if segment["contacts"] < segment["wanted"]
                    else (
                        f" (loaded {segment['loaded']:,} in {segment['load_seconds']} s plus "
                        f"{segment['index_seconds']} s of index building)"
                        if segment["loaded"]
                        else " (loaded by an earlier run)"
                    )
                )
                + f", after VACUUM ANALYZE. Median of {ESTIMATE_RUNS} runs after a first one; the goal is "
                "< 300 ms. *EXPLAIN* is the planner estimate alone; *exact* is a full `COUNT(*)` for comparison.",
                "",
                "| segment | shown | exact | first | median | max | EXPLAIN | exact count |",
                "|---|---:|---:|---:|---:|---:|---:|---:|",
            ]
            for s in segment["segments"]:
                shown = f"about {s['shown']:,}" if s["estimated"] else f"{s['shown']:,}"
                lines.append(
                    f"| {s['name']} | {shown} | {s['exact']:,} | {s['first_ms']:.0f} ms | "
                    f"{_bold(s['median_ms'], 300)} | {_bold(s['max_ms'], 300)} | {s['explain_ms']:.1f} ms | "
                    f"{s['exact_count_ms']:,} ms |"
                )
        data = {"send": {k: v for k, v in send.items() if k != "rss_timeline"}, "segment": segment}
        lines += ["", "<!-- bench-send " + json.dumps(data, ensure_ascii=False) + " -->"]
        return "\n".join(lines)


def _bold(ms: float, budget: float) -> str:
    text = f"{ms:.0f} ms" if ms >= 10 else f"{ms:.1f} ms"
    return f"**{text}**" if ms >= budget else text
