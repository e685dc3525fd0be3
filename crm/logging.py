"""Request context for log lines: every record carries the request id and the user id."""

import logging
from contextvars import ContextVar

request_context: ContextVar[dict | None] = ContextVar("crm_request_context", default=None)


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        context = request_context.get() or {}
        record.request_id = getattr(record, "request_id", None) or context.get("request_id")
        record.user_id = getattr(record, "user_id", None) or context.get("user_id")
        return True
