"""The IMAP server for mailbox tests (tickets/tests/imap_server.py): a real dovecot that imaplib
signs in to, reads and flags messages on, and that leaves nothing running once stopped."""

import imaplib
import re
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from tickets.tests import imap_server as imap_server_module
from tickets.tests.imap_server import imap_server_fixture, running_imap  # noqa: F401 (fixture)

FIRST = (
    b"From: Anna Schmidt <anna.schmidt@example.org>\r\n"
    b"To: support@example.com\r\n"
    b"Subject: Printer on floor 3 is offline\r\n"
    b"Message-ID: <first@example.org>\r\n"
    b"Date: Tue, 6 Jan 2026 09:15:42 +0100\r\n"
    b"\r\n"
    b"The printer shows offline.\r\n"
)
SECOND = (
    b"From: =?UTF-8?B?546L5by6?= <wang.qiang@example.cn>\r\n"
    b"To: support@example.com\r\n"
    b"Subject: =?UTF-8?B?5Y+R56Wo5oqs5aS0?=\r\n"
    b"Message-ID: <second@example.cn>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n" + "请修改发票抬头。\r\n".encode()
)


def _connect(server, user="support", password="secret") -> imaplib.IMAP4:
    client = imaplib.IMAP4(server.host, server.port, timeout=10)
    client.login(user, password)
    return client


def _running(pattern: str) -> list[str]:
    """Command lines of live processes matching `pattern` (pgrep -f, or /proc where pgrep is missing)."""
    if shutil.which("pgrep"):
        found = subprocess.run(["pgrep", "-af", pattern], capture_output=True, text=True, check=False)
        return found.stdout.splitlines()
    lines = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if re.search(pattern, command):
            lines.append(command)
    return lines


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def test_delivered_messages_are_read_and_flagged_over_imap(imap_server):
    imap_server.deliver("support", FIRST)
    imap_server.deliver("support", SECOND)
    client = _connect(imap_server)
    try:
        assert client.select("INBOX") == ("OK", [b"2"])
        assert client.search(None, "UNSEEN") == ("OK", [b"1 2"])

        status, data = client.fetch("1", "(RFC822)")
        assert status == "OK"
        assert data[0][1] == FIRST
        # Fetching RFC822 (rather than BODY.PEEK[]) marks the message read, as IMAP says.
        assert client.search(None, "UNSEEN") == ("OK", [b"2"])

        status, data = client.fetch("2", "(BODY.PEEK[])")
        assert data[0][1] == SECOND
        assert client.store("2", "+FLAGS", "\\Seen")[0] == "OK"
        assert client.search(None, "UNSEEN") == ("OK", [b""])
        assert client.search(None, "SEEN") == ("OK", [b"1 2"])
        status, data = client.fetch("2", "(FLAGS)")
        assert b"\\Seen" in data[0]
    finally:
        client.logout()


def test_mail_delivered_while_connected_shows_up_after_noop(imap_server):
    imap_server.deliver("support", FIRST)
    client = _connect(imap_server)
    try:
        assert client.select("INBOX") == ("OK", [b"1"])
        imap_server.deliver("support", SECOND)
        client.noop()
        assert client.search(None, "ALL") == ("OK", [b"1 2"])
    finally:
        client.logout()


def test_bare_lf_messages_are_served_with_crlf(imap_server):
    imap_server.deliver("support", FIRST.replace(b"\r\n", b"\n"))
    client = _connect(imap_server)
    try:
        client.select("INBOX")
        assert client.fetch("1", "(BODY.PEEK[])")[1][0][1] == FIRST
    finally:
        client.logout()


def test_messages_can_be_delivered_into_other_folders(imap_server):
    imap_server.deliver("support", FIRST, folder="Archive")
    imap_server.deliver("support", SECOND, folder="工单")
    client = _connect(imap_server)
    try:
        status, folders = client.list()
        assert status == "OK"
        names = {line.decode().rsplit(" ", 1)[-1] for line in folders}
        assert names == {"INBOX", "Archive", "&XeVTVQ-"}  # 工单 in IMAP's modified UTF-7
        assert client.select("INBOX") == ("OK", [b"0"])
        assert client.select("Archive") == ("OK", [b"1"])
        assert client.select("&XeVTVQ-") == ("OK", [b"1"])
    finally:
        client.logout()


def test_each_user_has_a_password_and_a_mailbox_of_their_own():
    with running_imap(users={"support": "secret", "billing": "s3cret-账单"}) as server:
        server.deliver("billing", SECOND)
        client = _connect(server)
        try:
            assert client.select("INBOX") == ("OK", [b"0"])
        finally:
            client.logout()
        # imaplib's LOGIN sends ASCII only; SASL PLAIN carries the UTF-8 password.
        billing = imaplib.IMAP4(server.host, server.port, timeout=10)
        try:
            billing.authenticate("PLAIN", lambda _challenge: "\0billing\0s3cret-账单".encode())
            assert billing.select("INBOX") == ("OK", [b"1"])
        finally:
            billing.logout()
        with pytest.raises(imaplib.IMAP4.error):
            _connect(server, password="wrong")
        with pytest.raises(ValueError):
            server.deliver("nobody-here", FIRST)


def test_each_server_has_its_own_port_and_stopping_leaves_nothing_running():
    with running_imap() as first:
        with running_imap(users={"support": "other"}) as second:
            assert second.port != first.port
            assert second.config_path != first.config_path
            second.deliver("support", SECOND)
            client = _connect(second, password="other")
            try:
                assert client.select("INBOX") == ("OK", [b"1"])
            finally:
                client.logout()
            assert _running(str(second.config_path))
            assert _running(second.instance_name)  # dovecot's own processes carry the instance name
        assert not _running(str(second.config_path))
        assert not _running(second.instance_name)
        assert not _answers(second.host, second.port)
        # The first server is untouched by the second one stopping.
        client = _connect(first)
        client.logout()
    assert not _running(str(first.config_path))
    assert not _running(first.instance_name)
    assert not _answers(first.host, first.port)
    assert not first.root.exists()


@pytest.mark.slow  # dovecot itself retries a busy port for about nine seconds before giving up
def test_a_port_taken_meanwhile_is_given_up_for_another(monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        ports = iter([busy])
        real_free_port = imap_server_module._free_port
        monkeypatch.setattr(imap_server_module, "_free_port", lambda: next(ports, None) or real_free_port())
        with running_imap() as server:
            assert server.port != busy
            _connect(server).logout()


def test_a_failed_start_reports_dovecot_s_log(monkeypatch):
    real_config = imap_server_module._config
    monkeypatch.setattr(imap_server_module, "_config", lambda *args: real_config(*args) + "no_such_setting = 1\n")
    with pytest.raises(RuntimeError, match="no_such_setting"), running_imap():
        pass


def test_without_dovecot_the_tests_are_skipped(monkeypatch):
    monkeypatch.setattr(imap_server_module.shutil, "which", lambda *args, **kwargs: None)
    with pytest.raises(pytest.skip.Exception, match="dovecot-imapd"), running_imap():
        pass
