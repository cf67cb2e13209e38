"""Every UI string in Chinese and English, plus locale formatting of money.

One function, :func:`translate`, turns a key into text; a missing key comes back as the key
itself so a gap is visible on screen but never crashes a page. A unit test keeps the zh and
en catalogs on the same key set and checks every literal key the pages use.

Service errors carry English messages for the CLI and logs; :func:`translate_reason` maps the
recurring field-issue reasons to catalog keys and leaves anything else as it came.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
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


def translate(key: str, lang: str, **params: Any) -> str:
    """The text for ``key`` in ``lang`` with ``params`` filled in; the key itself if unknown."""
    catalog = CATALOGS.get(lang) or CATALOGS["zh"]
    text = catalog.get(key)
    if text is None:
        return key
    return text.format_map(_Params(params)) if params else text


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


# (pattern of a service's English reason, catalog key); named groups become parameters.
_REASONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), key) for pattern, key in (
        (r"required", "issue.required"),
        (r"required for delivery.*", "issue.address_incomplete"),
        (r"required to ship", "issue.required"),
        (r"an order needs at least one line|a template needs at least one line", "issue.no_lines"),
        (r"a phone number or e-mail is required", "issue.phone_or_email"),
        (r"not a valid phone number", "issue.bad_phone"),
        (r"must be a whole number", "issue.whole_number"),
        (r"must be greater than 0", "issue.positive"),
        (r"not a number", "issue.not_a_number"),
        (r"must not be negative", "issue.negative"),
        (r"larger than the line amount", "issue.discount_too_large"),
        (r"order discount is larger than the order amount", "issue.discount_too_large"),
        (r"unknown SKU (?P<sku>.+)", "issue.unknown_sku"),
        (r"SKU (?P<sku>.+) is discontinued", "issue.discontinued"),
        (r"unknown channel (?P<value>.*)", "issue.unknown_value"),
        (r"unknown or inactive warehouse (?P<value>.*)", "issue.unknown_value"),
        (r"must be one of (?P<choices>.+)", "issue.one_of"),
        (r"totals do not add up: .*", "issue.totals"),
        (r"at most (?P<n>\d+) characters", "issue.too_long"),
        (r"the last active admin (must stay admin|cannot be deactivated)", "issue.last_admin"),
        (r"you cannot deactivate your own account", "issue.self_deactivate"),
        (r"must be at most (?P<n>[\d.]+)", "issue.at_most"),
        (r"the text (contains a NUL character|is longer than its field allows)", "issue.bad_text"),
        (r"a number is too large", "issue.number_too_large"),
    )
)

# A feature catalog (core.locales.<area>) may add its own reasons: REASONS = ((pattern, key), ...).
_REASONS += tuple(
    (re.compile(pattern), key)
    for info in sorted(pkgutil.iter_modules(locales.__path__), key=lambda m: m.name)
    for pattern, key in getattr(importlib.import_module(f"{locales.__name__}.{info.name}"), "REASONS", ())
)


def translate_reason(message: str, lang: str) -> str:
    """A FieldIssue's reason in ``lang`` when it is a known one, else the message unchanged."""
    for pattern, key in _REASONS:
        match = pattern.fullmatch(message)
        if match:
            return translate(key, lang, **match.groupdict())
    return message


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
