"""Runtime configuration: the environment, and the shop's own profile where it has one.

Read on every call (not cached at import) so tests and the CLI can point the same process at
another database or language by changing the environment.

Timezone, currency and default language are the shop's: what it stored with ``oms setup`` or
the Shop setup page (the ``shop`` setting, served cached by :func:`core.refdata.shop_profile`)
wins; ``OMS_TZ``, ``OMS_CURRENCY`` and ``OMS_LANG`` are the defaults until it has set them.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB_PATH = PROJECT_ROOT / "data" / "oms.db"


def database_url() -> str:
    """``DATABASE_URL`` or the embedded SQLite file ``data/oms.db``."""
    return os.environ.get("DATABASE_URL") or f"sqlite:///{DEFAULT_DB_PATH}"


def _stored(name: str) -> str | None:
    """The shop's stored profile value ``name``, or None where it has not set one."""
    from core.refdata import shop_profile  # lazy: refdata reads the database named here

    value = shop_profile().get(name)
    return str(value) if value else None


def env_timezone() -> str:
    return os.environ.get("OMS_TZ", "Asia/Shanghai")


def env_currency() -> str:
    return os.environ.get("OMS_CURRENCY", "CNY")


def env_language() -> str:
    lang = os.environ.get("OMS_LANG", "zh").lower()
    return lang if lang in ("zh", "en") else "zh"


def shop_timezone() -> str:
    """IANA name of the shop's timezone; the DB stores UTC and pages display in this zone."""
    return _stored("timezone") or env_timezone()


def currency() -> str:
    """ISO code of the shop's currency (money is shown with its symbol)."""
    return _stored("currency") or env_currency()


def default_language() -> str:
    """The UI language a session starts in (each user can switch)."""
    return _stored("language") or env_language()


def idle_timeout_minutes() -> float:
    """Minutes without a click after which a signed-in session is signed out (``OMS_IDLE_MINUTES``)."""
    return float(os.environ.get("OMS_IDLE_MINUTES", "30"))
