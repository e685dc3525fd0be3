"""Write a development `.env` with freshly generated secrets: `python -m crm.devenv`.

Runs before Django settings can load (they need these secrets), so it uses the standard
library only. An existing `.env` is never overwritten; only missing secret lines are appended.
It also knows where `make run` serves (`serving_address`) and how to explain settings that
stop Django from starting (`explain_settings_error`, used by manage.py).
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import secrets
import sys
from collections.abc import Callable
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def _random_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode("ascii")


# Each line `make run` guarantees, with how to make its value.
REQUIRED: dict[str, Callable[[], str]] = {
    "DEBUG": lambda: "true",
    "SECRET_KEY": lambda: secrets.token_urlsafe(50),
    "FIELD_ENCRYPTION_KEYS": _random_key,
    "FIELD_BLIND_INDEX_KEY": _random_key,
}

HEADER = """\
# Development settings for this checkout, written by `python -m crm.devenv` (make run).
# Never commit this file. Variables set in the environment win over the lines below.
"""

DOCUMENTED = """
# Uncomment to use PostgreSQL instead of the embedded SQLite file var/crm.sqlite3:
# DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm
# Uncomment for a cache, sessions and Celery on Redis (make run then starts a worker and beat):
# REDIS_URL=redis://127.0.0.1:6379/0
# Outgoing mail; without it, mail is printed to the console:
# EMAIL_URL=smtp://user:password@mail.example.com:587/?tls=True
# DEFAULT_FROM_EMAIL=crm@example.com
# LANGUAGE_CODE=zh-hans
# TIME_ZONE=Asia/Shanghai
# Where `make run` serves:
# HOST=127.0.0.1
# PORT=8000
# The full list of variables is in README.md.
"""

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = "8000"
# Addresses that mean "every interface": a browser reaches them at the loopback address.
_WILDCARD_HOSTS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": DEFAULT_HOST}  # noqa: S104 - read, not bound

_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=")


def defined_names(text: str) -> set[str]:
    """Names assigned on uncommented lines of an env file."""
    return {match.group(1) for line in text.splitlines() if (match := _ASSIGNMENT.match(line))}


def ensure_env_file(path: Path) -> list[str]:
    """Create `path` or append the required lines it lacks; return the names written."""
    existing = path.read_text(encoding="utf-8") if path.exists() else None
    present = defined_names(existing) if existing is not None else set()
    missing = [name for name in REQUIRED if name not in present]
    if existing is not None and not missing:
        return []
    lines = [f"{name}={REQUIRED[name]()}" for name in missing]
    if existing is None:
        content = HEADER + "\n".join(lines) + "\n" + DOCUMENTED
    else:
        separator = "" if existing.endswith("\n") or not existing else "\n"
        content = existing + separator + "# Added by crm.devenv:\n" + "\n".join(lines) + "\n"
    path.write_text(content, encoding="utf-8")
    path.chmod(0o600)
    return missing


def serving_address(host: str | None = None, port: str | None = None) -> str:
    """The address `make run` serves at, from HOST and PORT as `manage.py devserver` reads them:
    'http://127.0.0.1:8000' by default."""
    host = host if host is not None else os.environ.get("HOST") or DEFAULT_HOST
    port = port if port is not None else os.environ.get("PORT") or DEFAULT_PORT
    host = _WILDCARD_HOSTS.get(host, host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def explain_settings_error(error: Exception, env_path: Path | None = None) -> str:
    """What to do when settings are missing or wrong, for a person who just ran manage.py."""
    env_path = env_path or BASE_DIR / ".env"
    problem = str(error).strip().rstrip(".")
    if not env_path.exists():
        advice = (
            f"There is no {env_path.name} file in {env_path.parent}: for development, `make run` (or "
            "`python -m crm.devenv`) writes one with fresh secrets; in production, set the variables "
            "listed under Configuration in README.md."
        )
    else:
        advice = (
            f"Set it in the environment or in {env_path} (README.md lists every variable under "
            "Configuration); `python -m crm.devenv` adds missing development secrets."
        )
    return f"manage.py: {problem}.\n{advice}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", type=Path, default=BASE_DIR / ".env", help="env file to write")
    args = parser.parse_args(argv)
    # The embedded SQLite database and uploaded files live under var/, which git ignores.
    (BASE_DIR / "var").mkdir(exist_ok=True)
    created = not args.path.exists()
    written = ensure_env_file(args.path)
    if created:
        print(f"Wrote {args.path} with new development secrets.")
    elif written:
        print(f"Added {', '.join(written)} to {args.path}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
