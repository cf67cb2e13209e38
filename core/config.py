"""Runtime configuration: the environment (:mod:`core.environment`, re-exported here), and the
shop's own profile where it has one.

Read on every call (not cached at import) so tests and the CLI can point the same process at
another database or language by changing the environment.

Timezone, currency and default language are the shop's: what it stored with ``oms setup`` or
the Shop setup page (the ``shop`` setting, served cached by :func:`core.refdata.shop_profile`)
wins; ``OMS_TZ``, ``OMS_CURRENCY`` and ``OMS_LANG`` are the defaults until it has set them.
"""

from __future__ import annotations

from core.environment import (
    DEFAULT_DB_PATH,
    PROJECT_ROOT,
    database_url,
    env_currency,
    env_language,
    env_timezone,
    idle_timeout_minutes,
)
from core.refdata import shop_profile

__all__ = [
    "DEFAULT_DB_PATH", "PROJECT_ROOT", "currency", "database_url", "default_language", "env_currency",
    "env_language", "env_timezone", "idle_timeout_minutes", "shop_timezone",
]


def _stored(name: str) -> str | None:
    """The shop's stored profile value ``name``, or None where it has not set one."""
    value = shop_profile().get(name)
    return str(value) if value else None


def shop_timezone() -> str:
    """IANA name of the shop's timezone; the DB stores UTC and pages display in this zone."""
    return _stored("timezone") or env_timezone()


def currency() -> str:
    """ISO code of the shop's currency (money is shown with its symbol)."""
    return _stored("currency") or env_currency()


def default_language() -> str:
    """The UI language a session starts in (each user can switch)."""
    return _stored("language") or env_language()
