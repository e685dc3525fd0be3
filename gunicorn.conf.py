"""gunicorn's settings for the CRM, read from the working directory at start (gunicorn's default
`--config ./gunicorn.conf.py`); command-line options still win.

The access log leaves out query strings and referrers: searches carry phone numbers and names in
their query string, and a log is no place for them."""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
# Like gunicorn's default format, with the path (%(U)s) instead of the request line and no referrer.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s"'
