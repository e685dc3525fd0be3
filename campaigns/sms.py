"""The SMS channel: a pluggable backend and the length rules of text messages.

A provider adapter is a class with one method, named in CAMPAIGN_SMS_BACKEND:

    class MyProviderBackend(BaseSmsBackend):
        def send(self, *, to: str, text: str, reference: str) -> str:
            # call the provider; return its id for the message (status reports name it)
            # raise TemporarySmsError to try again later, PermanentSmsError to give up

`ConsoleBackend` (the default) writes each message to the log instead of sending it;
`LocmemBackend` keeps them in `outbox` (tests). Providers that report delivery post to
`/marketing/sms/status/` (campaigns.public_views.sms_status).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

# The GSM 03.38 basic character set and its extension table (each extension character costs two).
GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = set("^{}\\[~]|€\f")


class SmsError(Exception):
    pass


class TemporarySmsError(SmsError):
    """The provider could not take the message now: try again later."""


class PermanentSmsError(SmsError):
    """The provider refused the message for good (an invalid number, say)."""


@dataclass(frozen=True)
class SmsLength:
    characters: int
    parts: int
    unicode: bool  # UCS-2 (Chinese, emoji): 70 characters a message, 67 a part when split


def length(text: str) -> SmsLength:
    """How many messages `text` takes: GSM-7 160 (153 a part) or UCS-2 70 (67 a part)."""
    if all(ch in GSM_BASIC or ch in GSM_EXTENDED for ch in text):
        units = sum(2 if ch in GSM_EXTENDED else 1 for ch in text)
        single, part, unicode = 160, 153, False
    else:
        units = sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)  # beyond the BMP: a surrogate pair
        single, part, unicode = 70, 67, True
    parts = 1 if units <= single else -(-units // part)
    return SmsLength(characters=len(text), parts=parts if text else 0, unicode=unicode)


class BaseSmsBackend:
    def send(self, *, to: str, text: str, reference: str) -> str:  # pragma: no cover - interface
        raise NotImplementedError


class ConsoleBackend(BaseSmsBackend):
    """Writes messages to the log (development, and until a provider is configured)."""

    def send(self, *, to: str, text: str, reference: str) -> str:
        masked = f"{to[:3]}****{to[-4:]}" if len(to) > 7 else "****"
        logger.info("SMS %s to %s: %s", reference, masked, text)
        return reference


outbox: list[dict] = []


class LocmemBackend(BaseSmsBackend):
    """Keeps messages in `campaigns.sms.outbox` (tests); numbers in `fail_numbers` are refused."""

    fail_numbers: dict[str, str] = {}  # number -> "temporary" | "permanent"

    def send(self, *, to: str, text: str, reference: str) -> str:
        failure = self.fail_numbers.get(to)
        if failure == "temporary":
            raise TemporarySmsError("provider busy")
        if failure == "permanent":
            raise PermanentSmsError("invalid number")
        outbox.append({"to": to, "text": text, "reference": reference})
        return f"locmem-{reference}"


def backend() -> BaseSmsBackend:
    return import_string(settings.CAMPAIGN_SMS_BACKEND)()
