"""The process environment: where the database is, and the defaults a shop starts with.

Imports nothing of ``core``: the lowest modules (:mod:`core.db`, :mod:`core.refdata`) read the
database URL here, and :mod:`core.config` adds the shop's stored profile on top — which it
reads through those modules, so it cannot sit below them.

Read on every call (not cached at import) so tests and the CLI can point the same process at
another database or language by changing the environment.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB_PATH = PROJECT_ROOT / "data" / "oms.db"


def database_url() -> str:
    """``DATABASE_URL`` or the embedded SQLite file ``data/oms.db``."""
    return os.environ.get("DATABASE_URL") or f"sqlite:///{DEFAULT_DB_PATH}"


def env_timezone() -> str:
    return os.environ.get("OMS_TZ", "Asia/Shanghai")


def env_currency() -> str:
    return os.environ.get("OMS_CURRENCY", "CNY")


def env_language() -> str:
    lang = os.environ.get("OMS_LANG", "zh").lower()
    return lang if lang in ("zh", "en") else "zh"


def idle_timeout_minutes() -> float:
    """Minutes without a click after which a signed-in session is signed out (``OMS_IDLE_MINUTES``)."""
    return float(os.environ.get("OMS_IDLE_MINUTES", "30"))


# --- background jobs (docs/jobs.md) ----------------------------------------------------------


def redis_url() -> str | None:
    """``REDIS_URL``: jobs go through Redis (``RedisHuey``); unset: an SQLite file beside the
    database (``SqliteHuey``), nothing to install."""
    return os.environ.get("REDIS_URL") or None


def jobs_queue_name() -> str:
    """``OMS_JOBS_QUEUE`` (default ``oms``): the queue's name, also its key prefix in Redis, so
    two installations (or test runs) can share one Redis server."""
    return os.environ.get("OMS_JOBS_QUEUE") or "oms"


def jobs_db_path() -> Path:
    """The SQLite file of the embedded queue: ``OMS_JOBS_DB``, else ``<name>-jobs.db`` beside
    the SQLite database (``data/oms.db`` → ``data/oms-jobs.db``), else ``data/oms-jobs.db``
    (a PostgreSQL database without ``REDIS_URL``: one machine runs the app and the worker)."""
    explicit = os.environ.get("OMS_JOBS_DB")
    if explicit:
        return Path(explicit)
    from sqlalchemy.engine import make_url  # lazy: the environment is read by everything

    url = make_url(database_url())
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        path = Path(url.database)
        return path.with_name(f"{path.stem}-jobs.db")
    return DEFAULT_DB_PATH.with_name("oms-jobs.db")


def job_heartbeat_seconds() -> float:
    """How often a running job tells the database it is alive and reads its cancel flag
    (``OMS_JOB_HEARTBEAT_SECONDS``, default 5)."""
    return float(os.environ.get("OMS_JOB_HEARTBEAT_SECONDS", "5"))


def job_stale_seconds() -> float:
    """A running job whose heartbeat is older than this (``OMS_JOB_STALE_SECONDS``, default
    600) is taken for dead when its worker runs on another machine (on this machine a dead
    worker process is recognised at once)."""
    return float(os.environ.get("OMS_JOB_STALE_SECONDS", "600"))


def import_background_bytes() -> int:
    """Uploads larger than this (``OMS_IMPORT_JOB_MB``, default 2 MB ≈ 15 000 order lines)
    are imported by the worker; smaller ones right away on the page."""
    return int(float(os.environ.get("OMS_IMPORT_JOB_MB", "2")) * 1024 * 1024)


# --- e-mail (the outbox's e-mail rows are sent by the worker) -------------------------------


def smtp_host() -> str | None:
    """``OMS_SMTP_HOST``: the mail server; unset: e-mails stay in the outbox, pending."""
    return os.environ.get("OMS_SMTP_HOST") or None


SMTP_SECURITY = ("none", "starttls", "tls")
_SMTP_DEFAULT_PORT = {"none": 25, "starttls": 587, "tls": 465}


def smtp_security() -> str:
    """``OMS_SMTP_TLS``: ``starttls`` (upgrade a plain connection before logging in), ``tls``
    (implicit TLS from the first byte, "SMTPS", usually port 465) or ``none``. Unset:
    ``starttls`` when the older ``OMS_SMTP_STARTTLS=1`` is set, else ``none``. An unknown
    value is taken as ``starttls``: a typo never sends a password in clear text."""
    value = os.environ.get("OMS_SMTP_TLS", "").strip().lower()
    if not value:
        return "starttls" if os.environ.get("OMS_SMTP_STARTTLS", "").lower() in ("1", "true", "yes") else "none"
    return value if value in SMTP_SECURITY else "starttls"


def smtp_port() -> int:
    """``OMS_SMTP_PORT``; unset: 25, 587 or 465 after ``OMS_SMTP_TLS``."""
    port = os.environ.get("OMS_SMTP_PORT")
    return int(port) if port else _SMTP_DEFAULT_PORT[smtp_security()]


def smtp_sender() -> str:
    """``OMS_SMTP_FROM``: the From address of every e-mail."""
    return os.environ.get("OMS_SMTP_FROM") or "oms@localhost"


def smtp_login() -> tuple[str, str] | None:
    """``OMS_SMTP_USER`` and ``OMS_SMTP_PASSWORD``, when the server wants a login."""
    user = os.environ.get("OMS_SMTP_USER")
    return (user, os.environ.get("OMS_SMTP_PASSWORD", "")) if user else None


# --- text messages (the outbox's SMS rows are sent by the worker) --------------------------


def sms_backend() -> str | None:
    """``OMS_SMS_BACKEND``: how SMS rows leave (``log``: written to the ``oms.sms`` log with the
    number masked — for trying the flow out, or a log shipper that forwards them); unset: SMS
    rows stay in the outbox, pending (``core.sms``)."""
    return os.environ.get("OMS_SMS_BACKEND", "").strip().lower() or None
