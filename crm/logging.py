"""Context for log lines: every record carries the request id and user id, or the task id.

Requests bind it in `crm.middleware`; Celery tasks bind it through the task_prerun and
task_postrun signals connected in `crm.celery`.
"""

import logging
import re
from contextvars import ContextVar, Token

request_context: ContextVar[dict | None] = ContextVar("crm_request_context", default=None)

# Tokens of the contexts bound by running tasks, to restore what was there before (an eager
# task runs inside a request and must not erase the request's id from later lines).
_task_tokens: dict[str, Token] = {}


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        context = request_context.get() or {}
        for key in ("request_id", "user_id", "task_id"):
            setattr(record, key, getattr(record, key, None) or context.get(key))
        return True


class DropQueryStrings(logging.Filter):
    """The development server's request lines lose their query string: a search may carry a
    phone number or a name, which has no place in a log. (gunicorn's access log does the same
    through gunicorn.conf.py.)"""

    _QUERY = re.compile(r"\?[^\s\"]*")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "django.server" and isinstance(record.args, tuple):
            record.args = tuple(self._QUERY.sub("", arg) if isinstance(arg, str) else arg for arg in record.args)
        return True


def bind_task(*, task_id: str | None) -> None:
    """Add the running task's id to the log context."""
    if not task_id:
        return
    outer = request_context.get() or {}
    _task_tokens[task_id] = request_context.set({**outer, "task_id": task_id})


def unbind_task(*, task_id: str | None) -> None:
    token = _task_tokens.pop(task_id, None) if task_id else None
    if token is None:
        return
    try:
        request_context.reset(token)
    except ValueError:  # finished in another context (a green thread pool): nothing to restore
        request_context.set(None)
