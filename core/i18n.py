"""Every UI string in Chinese and English, with plural rules and locale formats from Babel.

The catalogs are gettext ``.po`` files (``core/locales/<lang>/LC_MESSAGES/<area>.po``, one
domain per feature area so features add their strings without editing a shared file); the
message ids are the codes services raise (``Refused(key)``, ``FieldIssue(..., code)``) and pages
pass to ``t()``. One function, :func:`translate`, turns a code into text; a missing code comes
back as the code itself so a gap is visible on screen but never crashes a page. Unit tests keep
zh and en on the same codes and parameters and extract every code the code base uses.

An entry with plural forms picks its form by the ``n`` (or ``count``) parameter and the
language's ``Plural-Forms`` rule (Chinese has one form, English two). Money, numbers, percents
and dates are formatted by Babel with the language's CLDR conventions.

Services refuse with message codes and parameters (``FieldIssue.message``, ``OMSError.key``);
the pages, the API and the CLI translate those codes — no English text is parsed back.
"""

from __future__ import annotations

import datetime as dt
import gettext
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from babel import dates as babel_dates
from babel import numbers as babel_numbers
from babel.messages.pofile import read_po

from core import locales

LANGUAGES = ("zh", "en")
LOCALES = {"zh": "zh_Hans_CN", "en": "en"}  # Babel/CLDR locale of each UI language
CATALOG_DIR = Path(locales.__file__).resolve().parent


class _Params(dict[str, Any]):
    """Format parameters that leave an unknown ``{name}`` visible instead of raising."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _load_catalogs() -> tuple[dict[str, dict[str, str]], dict[str, dict[str, tuple[str, ...]]],
                              dict[str, Callable[[int], int]]]:
    """``(texts, plural forms, plural rule)`` per language from every domain's ``.po`` file.

    ``texts`` holds every code (a plural entry by its most general form, so code that only
    asks "is there a text?" needs no special case); a code defined twice is a bug and fails at
    import (and in the unit test).
    """
    texts: dict[str, dict[str, str]] = {lang: {} for lang in LANGUAGES}
    plurals: dict[str, dict[str, tuple[str, ...]]] = {lang: {} for lang in LANGUAGES}
    rules: dict[str, Callable[[int], int]] = {}
    for lang in LANGUAGES:
        for path in sorted((CATALOG_DIR / lang / "LC_MESSAGES").glob("*.po")):
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=LOCALES[lang], domain=path.stem)
            rules.setdefault(lang, gettext.c2py(catalog.plural_expr))
            for message in catalog:
                if not message.id:
                    continue  # the header
                code = str(message.id[0] if isinstance(message.id, (tuple, list)) else message.id)
                if code in texts[lang]:
                    raise ValueError(f"message code defined twice ({lang}/{path.name}): {code}")
                if isinstance(message.string, (tuple, list)):
                    plurals[lang][code] = tuple(str(form) for form in message.string)
                    texts[lang][code] = plurals[lang][code][-1]
                else:
                    texts[lang][code] = str(message.string or "")
    return texts, plurals, rules


CATALOGS, PLURALS, _PLURAL_RULES = _load_catalogs()
ZH, EN = CATALOGS["zh"], CATALOGS["en"]


def _count(params: dict[str, Any]) -> int | None:
    """The count a plural entry depends on: ``n`` or ``count``, also when passed formatted."""
    value = params.get("n", params.get("count"))
    if value is None:
        return None
    try:
        return int(Decimal(str(value).replace(",", "")))
    except (InvalidOperation, ValueError):
        return None


def translate(key: str, lang: str, /, **params: Any) -> str:
    """The text for ``key`` in ``lang`` with ``params`` filled in; the key itself if unknown
    (positional-only, so a parameter may be called ``key`` or ``lang``). A plural entry picks
    its form by ``n`` or ``count``. A parameter given as ``{"key": code}`` is itself translated:
    a refusal or a stored message that names a status (``{"key": "status.confirmed"}``) shows
    the status's name in ``lang``."""
    if lang not in CATALOGS:
        lang = "zh"
    text = CATALOGS[lang].get(key)
    if text is None:
        return key
    forms = PLURALS[lang].get(key)
    if forms is not None:
        count = _count(params)
        if count is not None:
            text = forms[min(_PLURAL_RULES[lang](count), len(forms) - 1)]
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


_CURRENCY_ALIASES = {"RMB": "CNY"}  # what shops write for the yuan; ISO 4217 says CNY


def _money_text(value: Decimal, currency: str, lang: str) -> str:
    return babel_numbers.format_currency(value, currency, locale=LOCALES.get(lang, LOCALES["zh"]),
                                         currency_digits=True)


def format_money(amount: Decimal | float | int | str | None, currency: str, lang: str = "zh") -> str:
    """The amount in ``currency`` as the language writes it (CLDR via Babel): ``¥1,234.50`` in
    Chinese, ``CN¥1,234.50`` in English, ``JP¥1,234`` — the currency's own number of decimals,
    rounded half up like the ledger; empty for a missing amount."""
    if amount is None:
        return ""
    code = _CURRENCY_ALIASES.get(currency.upper(), currency.upper())
    try:
        digits = babel_numbers.get_currency_precision(code)
        value = Decimal(str(amount)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        return str(amount)
    try:
        return _money_text(value, code, lang)
    except babel_numbers.UnknownCurrencyError:
        return f"{code} {value:,}"


def format_number(value: Decimal | float | int | None, lang: str, decimals: int = 0) -> str:
    """``12,345`` / ``1,234.5`` with the language's separators; empty for a missing value."""
    if value is None:
        return ""
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return babel_numbers.format_decimal(value, format=pattern, locale=LOCALES.get(lang, LOCALES["zh"]),
                                        decimal_quantization=True)


def format_percent(ratio: Decimal | float | None, lang: str, decimals: int = 1) -> str:
    """A ratio as a percent (0.123 → ``12.3%``) in the language's format; empty when missing."""
    if ratio is None:
        return ""
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "") + "%"
    return babel_numbers.format_percent(ratio, format=pattern, locale=LOCALES.get(lang, LOCALES["zh"]),
                                        decimal_quantization=True)


def number_symbols(locale: str) -> str:
    """Plotly's ``separators``: the locale's decimal mark, then its grouping mark."""
    return babel_numbers.get_decimal_symbol(locale) + babel_numbers.get_group_symbol(locale)


def format_date(day: dt.date | None, lang: str, size: str = "medium") -> str:
    """A calendar day in the language's words: ``2026年11月25日`` / ``Nov 25, 2026``."""
    if day is None:
        return ""
    return babel_dates.format_date(day, format=size, locale=LOCALES.get(lang, LOCALES["zh"]))
