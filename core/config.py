"""Runtime configuration read from the environment.

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


def shop_timezone() -> str:
    """IANA name of the shop's timezone; the DB stores UTC and pages display in this zone."""
    return os.environ.get("OMS_TZ", "Asia/Shanghai")


def currency() -> str:
    return os.environ.get("OMS_CURRENCY", "CNY")


def default_language() -> str:
    lang = os.environ.get("OMS_LANG", "zh").lower()
    return lang if lang in ("zh", "en") else "zh"


def idle_timeout_minutes() -> float:
    """Minutes without a click after which a signed-in session is signed out (``OMS_IDLE_MINUTES``)."""
    return float(os.environ.get("OMS_IDLE_MINUTES", "30"))
