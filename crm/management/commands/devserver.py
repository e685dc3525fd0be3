"""Serve the CRM for development, with a Celery worker and beat when the full stack is there.

With PostgreSQL (DATABASE_URL) and a Redis that answers (REDIS_URL), this supervises three
child processes: Django's runserver, a Celery worker and celery beat, and stops them all on
Ctrl-C or SIGTERM. Otherwise it serves alone, with Redis switched off for the web process so
that background tasks run inline in the request and scheduled jobs do not run.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core.management.base import BaseCommand

from crm.devenv import DEFAULT_HOST, DEFAULT_PORT, serving_address

STOP_GRACE_SECONDS = 10


def redis_answers(url: str) -> bool:
    """Whether a Redis server at `url` answers PING within a second."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        return bool(client.ping())
    except (redis.RedisError, OSError, ValueError):
        return False


def without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class Command(BaseCommand):
    help = "Serve on http://HOST:PORT (default 127.0.0.1:8000) with a Celery worker and beat when Redis answers."
    requires_system_checks = []  # runserver runs them in the web process

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST") or DEFAULT_HOST)
        parser.add_argument("--port", default=os.environ.get("PORT") or DEFAULT_PORT)
        parser.add_argument("--noreload", action="store_true", help="do not restart the web server on code changes")

    def handle(self, *args, **options):
        self.children: list[tuple[str, subprocess.Popen]] = []
        self.stopping = False
        env = os.environ.copy()
        # runserver's "do not use in production" banner: this command exists only for development.
        env["DJANGO_RUNSERVER_HIDE_WARNING"] = "true"
        with_workers = self._choose_mode(env)

        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        web = [*manage, "runserver", f"{options['host']}:{options['port']}"]
        if options["noreload"]:
            web.append("--noreload")
        celery = [sys.executable, "-m", "celery", "-A", "crm"]

        signal.signal(signal.SIGINT, self._request_stop)
        signal.signal(signal.SIGTERM, self._request_stop)
        if with_workers:
            self._start("worker", [*celery, "worker", "--loglevel=INFO", "--concurrency=2"], env)
            self._start("beat", [*celery, "beat", "--loglevel=INFO"], env)
        self._start("web", web, env)
        address = serving_address(options["host"], options["port"])
        self.stdout.write(f"Serving on {address}/ — press Ctrl-C to stop.")
        return self._supervise()

    def _choose_mode(self, env: dict[str, str]) -> bool:
        """Decide whether to run Celery, and switch Redis off in `env` when we do not."""
        redis_url = settings.REDIS_URL
        db = settings.DATABASES["default"]
        if settings.USING_POSTGRES:
            self.stdout.write(f"Database: PostgreSQL {db.get('NAME')} on {db.get('HOST') or 'localhost'}.")
        else:
            self.stdout.write(f"Database: embedded SQLite file {db['NAME']}.")

        reason = ""
        if not redis_url:
            reason = "REDIS_URL is not set"
        elif not redis_answers(redis_url):
            reason = f"Redis at {without_password(redis_url)} does not answer"
        elif not settings.USING_POSTGRES:
            reason = "a Celery worker needs PostgreSQL (set DATABASE_URL) rather than the SQLite file"
        if reason:
            # An empty REDIS_URL in the environment wins over .env, so the web process gets a
            # local-memory cache, database sessions and eager Celery.
            env["REDIS_URL"] = ""
            self.stdout.write(
                f"{reason}: background tasks run inline in the web request, and scheduled jobs (celery beat) are off."
            )
            return False
        self.stdout.write(f"Redis at {without_password(redis_url)} answers: starting a Celery worker and celery beat.")
        return True

    def _start(self, name: str, command: list[str], env: dict[str, str]) -> None:
        # Each child leads its own process group so that stopping it also stops what it spawned
        # (runserver's autoreloader child, the worker's pool processes).
        process = subprocess.Popen(command, env=env, start_new_session=True)  # noqa: S603
        self.children.append((name, process))

    def _request_stop(self, signum, frame) -> None:
        self.stopping = True

    def _supervise(self) -> None:
        exit_code = 0
        while not self.stopping:
            for name, process in self.children:
                if process.poll() is not None:
                    self.stderr.write(f"{name} exited with status {process.returncode}; stopping the others.")
                    exit_code = process.returncode or 1
                    self.stopping = True
                    break
            else:
                time.sleep(0.5)
        self._stop_children()
        if exit_code:
            sys.exit(exit_code)

    def _stop_children(self) -> None:
        # Web and beat first so nothing new is queued; the worker finishes its task (warm shutdown).
        for _name, process in self.children[::-1]:
            self._signal(process, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for name, process in self.children[::-1]:
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"{name} did not stop in {STOP_GRACE_SECONDS} s; killing it.")
                self._signal(process, signal.SIGKILL)
                process.wait()
            else:
                # Grandchildren that outlived their parent (e.g. a reloader's server) go too.
                self._signal(process, signal.SIGKILL)
        self.stdout.write("Stopped.")

    @staticmethod
    def _signal(process: subprocess.Popen, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signum)
