"""Throwaway Redis and PostgreSQL servers that a test may stop and start, and the CRM served
against them by gunicorn (and a Celery worker with beat), each in its own process.

Never the machine's own PostgreSQL (5432) or Redis (6379): other test runs use those. Each
server here listens on a free port of 127.0.0.1 and keeps its files in a temporary directory.
PostgreSQL refuses to run as root, so as root (the machine and CI) it runs as the `postgres`
user through `runuser`.
"""

from __future__ import annotations

import http.client
import http.cookiejar
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from django.conf import settings

PG_BIN = Path("/usr/lib/postgresql/15/bin")
VENV_BIN = Path(sys.executable).parent


def missing_binaries() -> list[str]:
    """What these tests need and the machine lacks (the tests skip, naming them)."""
    needed = [shutil.which("redis-server") or "redis-server", str(PG_BIN / "initdb"), str(PG_BIN / "pg_ctl")]
    needed += [str(VENV_BIN / "gunicorn"), str(VENV_BIN / "celery")]
    if os.geteuid() == 0:
        needed.append(shutil.which("runuser") or "runuser")
    return [path for path in needed if not os.access(path, os.X_OK)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition, *, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""


class Process:
    """A long-running child process whose output goes to a log file in `workdir`."""

    def __init__(self, name: str, command: list[str], *, workdir: Path, env: dict | None = None):
        self.name, self.command, self.env = name, command, env
        self.log = workdir / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                self.command,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=settings.BASE_DIR,
                env=self.env,
                start_new_session=True,  # its own process group: stopping it stops its children
            )

    def kill(self, sig=signal.SIGKILL) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            self.process.wait(timeout=30)
        self.process = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def output(self) -> str:
        return f"--- {self.name} log ({self.log}) ---\n{_tail(self.log)}"


class RedisServer:
    """A Redis that keeps nothing on disk: killed and started again, it comes back empty."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = Process("redis", command + ["--dir", str(workdir)], workdir=workdir)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process.start()
        if not wait_until(self.answers, timeout=10):
            raise RuntimeError(f"Redis did not start\n{self.process.output()}")

    def kill(self) -> None:
        """Stop it the hard way, as a crash or an OOM kill would."""
        self.process.kill()

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False


class PostgresCluster:
    """A PostgreSQL 15 cluster of its own (initdb), started and stopped with pg_ctl."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.root = workdir / "postgres"
        self.root.mkdir()
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self._as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as_owner:
            shutil.chown(self.root, user="postgres")
        self._run(
            PG_BIN / "initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8",
            "--no-sync",
        )  # fmt: skip

    def _run(self, *args) -> None:
        result = subprocess.run(
            [*self._as_owner, *map(str, args)], capture_output=True, text=True, timeout=120, check=False
        )
        if result.returncode:
            raise RuntimeError(f"{args[0]} failed: {result.stdout}{result.stderr}\n{_tail(self.log)}")

    def url(self, name: str = "crm") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-l", self.log, "-o", options, "-w", "-t", "60", "start")

    def stop(self) -> None:
        """A fast shutdown, as `systemctl restart postgresql` does: open connections are cut."""
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "-t", "60", "stop")

    @property
    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def create_database(self, name: str) -> None:
        self._run(PG_BIN / "createdb", "-h", "127.0.0.1", "-p", self.port, "-U", "postgres", name)

    def destroy(self) -> None:
        if self.running:
            self._run(PG_BIN / "pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")


def crm_environment(*, database_url: str, redis_url: str) -> dict:
    """The environment of a CRM process (web, worker, manage.py) using the throwaway services."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "COV_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="crm.tests.server_settings",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        DB_CONNECT_TIMEOUT="2",
        HEALTHZ_CHECK_CELERY="false",
        PYTHONPATH=str(settings.BASE_DIR),
    )
    return env


def manage(env: dict, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


class CrmServer:
    """The CRM under gunicorn, as in production: one worker process with a few threads."""

    def __init__(self, workdir: Path, env: dict):
        self.port = free_port()
        command = [str(VENV_BIN / "gunicorn"), "crm.wsgi", "--bind", f"127.0.0.1:{self.port}"]
        command += ["--workers", "1", "--threads", "4", "--timeout", "60", "--graceful-timeout", "5"]
        self.process = Process("gunicorn", command, workdir=workdir, env=env)

    def start(self) -> None:
        self.process.start()
        if not wait_until(lambda: self._listening() or not self.process.running, timeout=30) or not self._listening():
            self.process.kill()
            raise RuntimeError(f"the CRM did not start\n{self.process.output()}")

    def _listening(self) -> bool:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            connection.request("GET", "/healthz")
            connection.getresponse().read()
            return True
        except OSError:
            return False

    def stop(self) -> None:
        self.process.kill(signal.SIGTERM)

    def browser(self) -> Browser:
        return Browser(f"http://127.0.0.1:{self.port}")


class CeleryWorker:
    """A Celery worker with beat inside it (-B), reading schedules from the throwaway database."""

    def __init__(self, workdir: Path, env: dict):
        command = [str(VENV_BIN / "celery"), "-A", "crm", "worker", "-B", "--pool", "solo", "--loglevel", "INFO"]
        command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
        command += ["--schedule", str(workdir / "beat-schedule")]
        self.process = Process("celery", command, workdir=workdir, env=env)

    def start(self) -> None:
        self.process.start()
        ready = lambda: "ready." in _tail(self.process.log, 200)  # noqa: E731
        if not wait_until(lambda: ready() or not self.process.running, timeout=60) or not ready():
            self.process.kill()
            raise RuntimeError(f"the Celery worker did not start\n{self.process.output()}")

    def stop(self) -> None:
        self.process.kill(signal.SIGTERM)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Response:
    def __init__(self, status: int, headers, body: bytes):
        self.status, self.headers, self.text = status, headers, body.decode("utf-8", errors="replace")

    def json(self):
        return json.loads(self.text)


class Browser:
    """A person's browser, as far as the server can tell: cookies kept, redirects not followed."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.cookies = http.cookiejar.CookieJar()
        self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirects)

    def cookie(self, name: str) -> str | None:
        return next((cookie.value for cookie in self.cookies if cookie.name == name), None)

    def _send(self, request: urllib.request.Request) -> Response:
        request.add_header("Accept-Language", "en")
        try:
            with self._opener.open(request, timeout=30) as response:
                return Response(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            return Response(error.code, error.headers, error.read())

    def get(self, path: str) -> Response:
        return self._send(urllib.request.Request(self.base_url + path))  # noqa: S310 - http://127.0.0.1

    def post(self, path: str, data: dict) -> Response:
        body = urllib.parse.urlencode({"csrfmiddlewaretoken": self.cookie("csrftoken") or "", **data}).encode()
        request = urllib.request.Request(self.base_url + path, data=body, method="POST")  # noqa: S310
        request.add_header("Referer", self.base_url + path)
        return self._send(request)

    def sign_in(self, username: str, password: str) -> Response:
        self.get("/accounts/login/")  # sets the CSRF cookie
        response = self.post("/accounts/login/", {"username": username, "password": password})
        assert response.status == 302, f"sign-in failed with {response.status}"
        return response


class Stack:
    """Redis, PostgreSQL (migrated, with a signed-up sales rep and a company) and the CRM."""

    def __init__(self):
        self.workdir = Path(tempfile.mkdtemp(prefix="crm-outages-"))
        self.workdir.chmod(0o711)  # the postgres user reaches its own directory inside
        self.redis = RedisServer(self.workdir)
        self.postgres = PostgresCluster(self.workdir)
        self.env = crm_environment(database_url=self.postgres.url(), redis_url=self.redis.url)
        self.server = CrmServer(self.workdir, self.env)
        self.data: dict = {}

    def start(self) -> None:
        self.redis.start()
        self.postgres.start()
        self.postgres.create_database("crm")
        manage(self.env, "migrate", "--noinput", "-v", "0")
        self.data = json.loads(manage(self.env, "shell", "-c", SEED).strip().splitlines()[-1])
        self.server.start()

    def restore(self) -> None:
        """Put back whatever a test stopped, so the next test starts with everything up."""
        if not self.postgres.running:
            self.postgres.start()
        if not self.redis.process.running:
            self.redis.start()

    def output(self) -> str:
        return "\n".join([self.server.process.output(), _tail(self.postgres.log)])

    def destroy(self) -> None:
        self.server.stop()
        self.redis.kill()
        self.postgres.destroy()
        shutil.rmtree(self.workdir, ignore_errors=True)


# Run once in the throwaway database by `manage.py shell`: a rep who owns a company, and beat
# told to hand over waiting tasks every second rather than every minute (an administrator
# would change it in the admin site the same way). The last line printed is the JSON the tests read.
SEED = """
import json
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from crm.tests.factories import PASSWORD, UserFactory
from customers.tests.factories import CompanyFactory

rep = UserFactory(username="outage-rep")
company = CompanyFactory(owner=rep)
every_second, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
PeriodicTask.objects.exclude(task="crm.tasks.publish_pending_tasks").update(enabled=False)
PeriodicTask.objects.filter(task="crm.tasks.publish_pending_tasks").update(interval=every_second)
print(json.dumps({"username": rep.username, "password": PASSWORD, "company": company.pk}))
"""
