"""A real IMAP server for mailbox tests: Debian's dovecot on a loopback port.

`running_imap(users=...)` starts dovecot in the foreground as a child process, with its own
configuration, sockets, state, log and Maildirs in a temporary folder, and stops it on leaving the
block; the `imap_server` fixture wraps it for one test. `ImapServer.deliver` drops a message into a
user's Maildir as a mail transfer agent would, so a test can then read it over IMAP.

Dovecot refuses to run its login and mail processes as root, so when the tests run as root (CI)
the whole server runs as `nobody` instead, over a folder handed to that account; otherwise it runs
as the current user. Messages are stored byte for byte, but IMAP serves them with CRLF line
endings: a message delivered with bare LF comes back longer.
"""

from __future__ import annotations

import base64
import ctypes
import grp
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import pytest

HOST = "127.0.0.1"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
# Services besides imap-login that chroot by default: an unprivileged master cannot chroot.
_UNCONFINED_SERVICES = ("anvil", "ipc", "old-stats")
_USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+@-]*")
_PORT_TAKEN = "Address already in use"


@dataclass(frozen=True)
class _Account:
    """The system account every dovecot process runs as."""

    name: str
    group: str
    uid: int
    gid: int


@dataclass
class ImapServer:
    """A running dovecot and what a test needs to reach it and fill its mailboxes."""

    host: str
    port: int
    users: dict[str, str]
    root: Path
    config_path: Path
    log_path: Path
    instance_name: str
    process: subprocess.Popen
    account: _Account = field(repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def maildir(self, user: str, folder: str = "INBOX") -> Path:
        """The Maildir of one of the user's folders (Maildir++: `.Name` below the INBOX)."""
        if user not in self.users:
            raise ValueError(f"{user!r} is not a user of this server")
        inbox = self.root / "mail" / user / "Maildir"
        if folder.upper() == "INBOX":
            return inbox
        if not folder or "/" in folder or folder.startswith("."):
            raise ValueError(f"{folder!r} is not a folder name this Maildir layout can hold")
        return inbox / f".{imap_utf7(folder)}"

    def deliver(self, user: str, raw: bytes, folder: str = "INBOX") -> Path:
        """Put a message, byte for byte, into the folder's `new/` as an unread message.

        Written under `tmp/` and renamed, so dovecot never sees half a message. Returns its path.
        """
        maildir = self.maildir(user, folder)
        for part in ("tmp", "new", "cur"):
            self._make_dir(maildir / part)
        if maildir.name.startswith("."):
            marker = maildir / "maildirfolder"
            marker.touch()
            self._hand_over(marker)
        name = f"{time.time_ns()}.P{os.getpid()}R{secrets.token_hex(8)}.crm-tests"  # unique, no ":" or "/"
        staged = maildir / "tmp" / name
        staged.write_bytes(raw)
        self._hand_over(staged)
        delivered = maildir / "new" / name
        staged.rename(delivered)
        return delivered

    def read_log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        """Stop dovecot and everything it started; return once the port no longer answers."""
        # Signalling only the master makes it wait a second for idle children; its process group
        # (its own session, started here) is dovecot and nothing else, so the whole group is told.
        # Repeated until the master is gone, for a child forked just as the signal went out.
        deadline = time.monotonic() + STOP_TIMEOUT
        while self.process.poll() is None and time.monotonic() < deadline:
            _signal_group(self.process.pid, signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=0.2)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        grace = time.monotonic() + 2
        while _process_group_members(self.process.pid) and time.monotonic() < deadline:
            _signal_group(self.process.pid, signal.SIGKILL if time.monotonic() > grace else signal.SIGTERM)
            time.sleep(0.02)
        while _answers(self.host, self.port) and time.monotonic() < deadline:
            time.sleep(0.02)

    def _make_dir(self, path: Path) -> None:
        missing = [path, *path.parents]
        missing = [folder for folder in missing if not folder.exists()]
        path.mkdir(parents=True, exist_ok=True)
        for folder in missing:
            self._hand_over(folder)

    def _hand_over(self, path: Path) -> None:
        if os.geteuid() != self.account.uid:
            os.chown(path, self.account.uid, self.account.gid)


@contextmanager
def running_imap(users: Mapping[str, str] | None = None) -> Iterator[ImapServer]:
    """Run dovecot with these users (name -> plain password) for the duration of the block.

    Skips the test when dovecot is not installed. On a failed start the error carries dovecot's log.
    """
    users = dict({"support": "secret"} if users is None else users)
    _check_users(users)
    dovecot = _find_dovecot()
    account = _run_as()
    root = Path(tempfile.mkdtemp(prefix="crm-imap-"))
    try:
        _prepare(root, users, account)
        server = None
        for _attempt in range(3):
            server = _start(dovecot, root, users, account)
            try:
                _wait_until_answering(server)
                break
            except _PortTaken:
                continue
        else:
            raise RuntimeError(f"dovecot found no free port to listen on:\n{server.read_log() if server else ''}")
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(name="imap_server")
def imap_server_fixture() -> Iterator[ImapServer]:
    """A dovecot IMAP server with one user, `support` (password `secret`), for one test."""
    with running_imap() as server:
        yield server


def imap_utf7(name: str) -> str:
    """A folder name in IMAP's modified UTF-7 (RFC 3501 5.1.3), as dovecot names Maildir folders."""
    encoded: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            chunk = base64.b64encode("".join(pending).encode("utf-16-be")).decode("ascii")
            encoded.append("&" + chunk.rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for character in name:
        if "\x20" <= character <= "\x7e":
            flush()
            encoded.append("&-" if character == "&" else character)
        else:
            pending.append(character)
    flush()
    return "".join(encoded)


# --- Starting and watching dovecot --------------------------------------------------------------


class _PortTaken(Exception):
    """Another process took the chosen port between choosing it and dovecot binding it."""


def _find_dovecot() -> Path:
    search_path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin", "/sbin"])
    found = shutil.which("dovecot", path=search_path)
    if found is None:
        pytest.skip("dovecot is not installed: install Debian's dovecot-imapd package to run the IMAP tests")
    dovecot = Path(found)
    prefix = dovecot.resolve().parent.parent
    if not any((prefix / folder / "dovecot" / "imap").exists() for folder in ("lib", "libexec")):
        pytest.skip("dovecot has no IMAP server: install Debian's dovecot-imapd package to run the IMAP tests")
    return dovecot


def _run_as() -> _Account:
    uid = os.geteuid()
    try:
        user = pwd.getpwnam("nobody") if uid == 0 else pwd.getpwuid(uid)
        group = grp.getgrgid(user.pw_gid).gr_name
    except KeyError as error:
        raise RuntimeError(f"dovecot needs a named account and group to run as: {error}") from None
    return _Account(name=user.pw_name, group=group, uid=user.pw_uid, gid=user.pw_gid)


def _check_users(users: Mapping[str, str]) -> None:
    if not users:
        raise ValueError("an IMAP server needs at least one user")
    for name, password in users.items():
        if not _USER_NAME.fullmatch(name):
            raise ValueError(f"{name!r} cannot be an IMAP user name here (letters, digits and ._+@- only)")
        if not password or any(character in password for character in ":\r\n\0"):
            raise ValueError(f"the password of {name!r} must be non-empty, without ':' or line breaks")


def _prepare(root: Path, users: Mapping[str, str], account: _Account) -> None:
    for folder in ("run", "state", "mail"):
        (root / folder).mkdir()
    # A passwd-file refuses uid 0 and any uid is given by mail_uid anyway: the ids stay empty.
    (root / "users").write_text("".join(f"{name}:{{PLAIN}}{password}::::::\n" for name, password in users.items()))
    (root / "users").chmod(0o600)
    if os.geteuid() != account.uid:
        for path in (root, *root.rglob("*")):
            os.chown(path, account.uid, account.gid)


def _config(root: Path, port: int, instance_name: str, account: _Account) -> str:
    unconfined = "".join(f"service {name} {{\n  chroot =\n}}\n" for name in _UNCONFINED_SERVICES)
    return f"""\
# Generated for one test run: everything lives in {root}.
instance_name = {instance_name}
base_dir = {root / "run"}
state_dir = {root / "state"}
log_path = {root / "dovecot.log"}
protocols = imap
listen = {HOST}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_verbose = yes
auth_failure_delay = 0
default_internal_user = {account.name}
default_internal_group = {account.group}
default_login_user = {account.name}
mail_uid = {account.uid}
mail_gid = {account.gid}
first_valid_uid = {account.uid}
first_valid_gid = {account.gid}
mail_location = maildir:{root / "mail"}/%u/Maildir

passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root / "users"}
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root / "users"}
  default_fields = home={root / "mail"}/%u
}}

service imap-login {{
  chroot =
  inet_listener imap {{
    address = {HOST}
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
{unconfined}"""


def _start(dovecot: Path, root: Path, users: Mapping[str, str], account: _Account) -> ImapServer:
    port = _free_port()
    instance_name = f"crm-imap-{secrets.token_hex(4)}"
    config_path = root / "dovecot.conf"
    config_path.write_text(_config(root, port, instance_name, account))
    log_path = root / "dovecot.log"
    log_path.write_bytes(b"")
    if os.geteuid() != account.uid:
        os.chown(config_path, account.uid, account.gid)
        os.chown(log_path, account.uid, account.gid)
    drop_to = {"user": account.uid, "group": account.gid, "extra_groups": []} if os.geteuid() != account.uid else {}
    with log_path.open("ab") as output:
        # -F keeps the master in the foreground as our child. Its own session keeps a Ctrl-C meant
        # for pytest from reaching it before the fixture stops it in order.
        process = subprocess.Popen(
            [str(dovecot), "-F", "-c", str(config_path)],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_stop_with_parent,
            **drop_to,
        )
    return ImapServer(
        host=HOST,
        port=port,
        users=dict(users),
        root=root,
        config_path=config_path,
        log_path=log_path,
        instance_name=instance_name,
        process=process,
        account=account,
    )


def _stop_with_parent() -> None:
    """Ask Linux to send the master SIGTERM if the test process dies without stopping it."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _find_prctl() -> Callable[..., int] | None:
    # Looked up in the parent: the child, between fork and exec, only makes the call.
    try:
        return ctypes.CDLL(None).prctl
    except (OSError, AttributeError):
        return None


_PR_SET_PDEATHSIG = 1
_prctl = _find_prctl()


def _wait_until_answering(server: ImapServer) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if server.process.poll() is not None:
            log = server.read_log()
            server.stop()
            if _PORT_TAKEN in log:
                raise _PortTaken
            raise RuntimeError(f"dovecot stopped at start (exit status {server.process.returncode}):\n{log}")
        if _greets(server.host, server.port):
            return
        if time.monotonic() > deadline:
            log = server.read_log()
            server.stop()
            raise RuntimeError(f"dovecot did not answer on port {server.port} in {START_TIMEOUT:.0f} s:\n{log}")
        time.sleep(0.05)


def _greets(host: str, port: int) -> bool:
    """Whether an IMAP server on the port sends its greeting."""
    try:
        with socket.create_connection((host, port), timeout=1) as connection:
            greeted = connection.recv(64).startswith(b"* OK")
            connection.sendall(b"probe LOGOUT\r\n")
            return greeted
    except OSError:
        return False


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _signal_group(group: int, signal_number: int) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal_number)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def _process_group_members(group: int) -> list[int]:
    """Live (not zombie) processes of a process group, read from /proc."""
    members = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 2 and fields[0] != "Z" and int(fields[2]) == group:
            members.append(int(entry.name))
    return members
