"""A real SMTP server (aiosmtpd) on a loopback port for tests that send mail: `smtp_inbox`
points Django's SMTP backend at it and yields what it receives, parsed."""

from __future__ import annotations

import socket
from email import message_from_bytes
from email.header import decode_header, make_header

import pytest


class Inbox:
    """Messages received by the aiosmtpd handler, parsed."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        message = message_from_bytes(envelope.content)
        message.recipients = list(envelope.rcpt_tos)
        message.envelope_from = envelope.mail_from
        self.messages.append(message)
        return "250 Message accepted for delivery"

    @staticmethod
    def subject(message) -> str:
        return str(make_header(decode_header(message["Subject"])))

    @staticmethod
    def body(message) -> str:
        part = (
            message.get_payload(decode=True)
            if not message.is_multipart()
            else message.get_payload(0).get_payload(decode=True)
        )
        return part.decode(message.get_content_charset() or "utf-8")


@pytest.fixture
def smtp_inbox(settings):
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    try:
        yield inbox
    finally:
        controller.stop()
