"""Every UI string in Chinese and English, plus locale formatting of money.

One function, :func:`translate`, turns a key into text; a missing key comes back as the key
itself so a gap is visible on screen but never crashes a page. A unit test keeps the zh and
en catalogs on the same key set and checks every literal key the pages use.

Services refuse with message codes and parameters (``FieldIssue.message``, ``OMSError.key``);
the pages, the API and the CLI translate those codes — no English text is parsed back.
"""

from __future__ import annotations

import importlib
import pkgutil
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from core import locales

LANGUAGES = ("zh", "en")
CURRENCY_SYMBOLS = {"CNY": "¥", "RMB": "¥", "USD": "$", "EUR": "€", "GBP": "£", "HKD": "HK$", "JPY": "¥"}


class _Params(dict[str, Any]):
    """Format parameters that leave an unknown ``{name}`` visible instead of raising."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _load_catalogs() -> dict[str, dict[str, str]]:
    """Merge every module of ``core.locales`` (each defines ``ZH`` and ``EN``).

    One module per feature area lets features add their strings without editing a shared
    file; a key defined twice is a bug and fails at import (and in the unit test).
    """
    merged: dict[str, dict[str, str]] = {"zh": {}, "en": {}}
    for info in sorted(pkgutil.iter_modules(locales.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{locales.__name__}.{info.name}")
        for lang, catalog in (("zh", module.ZH), ("en", module.EN)):
            clash = merged[lang].keys() & catalog.keys()
            if clash:
                raise ValueError(f"translation keys defined twice ({info.name}): {sorted(clash)[:5]}")
            merged[lang].update(catalog)
    return merged


CATALOGS: dict[str, dict[str, str]] = _load_catalogs()
ZH, EN = CATALOGS["zh"], CATALOGS["en"]


def translate(key: str, lang: str, /, **params: Any) -> str:
    """The text for ``key`` in ``lang`` with ``params`` filled in; the key itself if unknown
    (positional-only, so a parameter may be called ``key`` or ``lang``). A parameter given as
    ``{"key": code}`` is itself translated: a refusal or a stored message that names a status
    (``{"key": "status.confirmed"}``) shows the status's name in ``lang``."""
    catalog = CATALOGS.get(lang) or CATALOGS["zh"]
    text = catalog.get(key)
    if text is None:
        return key
    if not params:
        return text
    return text.format_map(_Params({
        name: translate(str(value["key"]), lang) if isinstance(value, dict) and "key" in value else value
        for name, value in params.items()}))


def has_key(key: str, lang: str) -> bool:
    return key in CATALOGS.get(lang, {})


def label(prefix: str, value: object, lang: str) -> str:
    """Display name of a code such as ``status.confirmed``; the raw code when not catalogued
    (data-driven codes — a new channel kind — must still show something meaningful); empty
    for a missing value."""
    if value is None:
        return ""
    key = f"{prefix}.{value}"
    return translate(key, lang) if has_key(key, lang) else str(value)


def stored_text(codes: object, text: object, lang: str) -> str:
    """A message kept in the database (core.errors.stored) in ``lang``: its codes translated and
    joined by "; ", or — a person's note, a row written before codes were kept — the plain text."""
    if isinstance(codes, list) and codes:
        return "; ".join(translate(str(c.get("key", "")), lang, **dict(c.get("params") or {}))
                         for c in codes if isinstance(c, dict))
    return text if isinstance(text, str) else ""  # None, or a DataFrame's NaN


def format_money(amount: Decimal | float | int | str | None, currency: str) -> str:
    """``¥1,234.50`` (``-¥5.00`` for negatives); empty for a missing amount."""
    if amount is None:
        return ""
    try:
        value = Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return str(amount)
    symbol = CURRENCY_SYMBOLS.get(currency.upper(), currency.upper() + " ")
    sign = "-" if value < 0 else ""
    return f"{sign}{symbol}{abs(value):,.2f}"


# --- catalogs --------------------------------------------------------------------------------
# Keys are grouped by screen; code names (status.*, payment.*, delivery.*, kind.*, role.*) use
# the exact codes stored in the database so ``label(prefix, code)`` can look them up.
