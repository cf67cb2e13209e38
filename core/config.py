"""Runtime configuration: the environment (:mod:`core.environment`, re-exported here), and the
shop's own profile where it has one.

Read on every call (not cached at import) so tests and the CLI can point the same process at
another database or language by changing the environment.

Timezone, currency and default language are the shop's: what it stored with ``oms setup`` or
the Shop setup page (the ``shop`` setting, served cached by :func:`core.refdata.shop_profile`)
wins; ``OMS_TZ``, ``OMS_CURRENCY`` and ``OMS_LANG`` are the defaults until it has set them.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

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
    "DEFAULT_DB_PATH", "PROJECT_ROOT", "Letterhead", "currency", "database_url", "default_language", "env_currency",
    "env_language", "env_timezone", "idle_timeout_minutes", "letterhead", "shop_timezone",
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


@dataclass(frozen=True)
class Letterhead:
    """The shop as printed at the top of its documents (and as the sender on labels)."""

    name: str
    address: str = ""
    phone: str = ""
    logo: bytes | None = None  # PNG or JPEG, checked when it was uploaded (core.services.shop_setup)


def letterhead() -> Letterhead:
    """The shop's name, address, phone and logo as its printed documents show them."""
    profile = shop_profile()
    logo = profile.get("logo")
    return Letterhead(name=str(profile.get("name") or ""), address=str(profile.get("address") or ""),
                      phone=str(profile.get("phone") or ""), logo=base64.b64decode(logo) if logo else None)
