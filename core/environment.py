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
