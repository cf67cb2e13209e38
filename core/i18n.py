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

Service errors carry English messages for the CLI and logs; :func:`translate_reason` maps the
recurring field-issue reasons to catalog keys and leaves anything else as it came.
"""

from __future__ import annotations

import datetime as dt
import gettext
import re
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


def translate(key: str, lang: str, **params: Any) -> str:
    """The text for ``key`` in ``lang`` with ``params`` filled in; the key itself if unknown."""
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

# The feature areas' reasons (the after-sales, carrier, inventory and settings services).
_REASONS += tuple((re.compile(pattern), key) for pattern, key in (
        ('the order is not paid: there is nothing to refund', 'issue.rma_not_paid'),  # aftersales
        ('choose at least one line and quantity', 'issue.rma_no_lines'),  # aftersales
        ('order (?P<number>\\S+) has no line (?P<line>\\d+)', 'issue.rma_no_such_line'),  # aftersales
        ('listed twice', 'issue.rma_listed_twice'),  # aftersales
        ('at most (?P<n>\\d+) left to return \\(shipped (?P<shipped>\\d+), already returned (?P<returned>\\d+)\\)', 'issue.rma_over_return'),  # aftersales
        ('only an exchange has a replacement', 'issue.rma_replacement_only_exchange'),  # aftersales
        ('already returned by someone else', 'issue.rma_claimed'),  # aftersales
        ('required when overriding the return policy', 'issue.rma_override_note'),  # aftersales
        ('required: tell the customer why', 'issue.rma_reject_note'),  # aftersales
        ('not on this RMA', 'issue.rma_not_on_rma'),  # aftersales
        ('must be between (?P<low>\\d+) and (?P<high>\\d+)', 'issue.rma_between'),  # aftersales
        ('required for units that are written off', 'issue.rma_damage_reason'),  # aftersales
        ('every returned line needs an inspection result', 'issue.rma_inspect_all'),  # aftersales
        ('only (?P<amount>[\\d.]+) of the order total is left to refund', 'issue.rma_refund_remaining'),  # aftersales
        ('at most (?P<amount>[\\d.]+) \\(the computed refund\\); a manager can refund more', 'issue.rma_refund_limit'),  # aftersales
        ('required when refunding more than the computed amount', 'issue.rma_refund_note'),  # aftersales
        ('enter exactly the last 4 digits of the phone', 'issue.lookup_last4'),  # aftersales
        ('missing session', 'issue.lookup_session'),  # aftersales
        ('not a valid order number', 'issue.lookup_number'),  # aftersales
        ('(?P<carrier>.+) has no tracking numbers left: add a number range', 'alert_msg.tracking_exhausted'),  # carriers
        ('a transfer needs at least one line', 'inv_issue.no_lines'),  # inventory
        ('must differ from the source warehouse', 'inv_issue.same_warehouse'),  # inventory
        ('SKU (?P<sku>.+) is listed twice', 'inv_issue.listed_twice'),  # inventory
        ('only (?P<n>\\d+) of (?P<sku>.+) available in (?P<warehouse>.+)', 'inv_issue.only_available'),  # inventory
        ('line (?P<line>\\d+) is not on (?P<number>.+)', 'inv_issue.not_on_document'),  # inventory
        ('must be a whole number ≥ 0', 'inv_issue.whole_nonneg'),  # inventory
        ('(?P<sku>.+): shipped (?P<shipped>\\d+), already received (?P<received>\\d+), cannot receive (?P<qty>-?\\d+) more', 'inv_issue.over_receipt'),  # inventory
        ('nothing to receive', 'inv_issue.nothing_to_receive'),  # inventory
        ('must not be 0', 'inv_issue.not_zero'),  # inventory
        ('(?P<sku>.+) @ (?P<warehouse>.+): removing (?P<qty>\\d+) would leave (?P<left>-?\\d+) on hand but (?P<reserved>\\d+) are reserved for orders; release or move those orders first', 'inv_issue.reserved_shortfall'),  # inventory
        ('the count sheet is empty', 'inv_issue.empty_sheet'),  # inventory
        ('(?P<sku>.+): the system quantity changed from (?P<was>-?\\d+) to (?P<now>-?\\d+) since the sheet was opened; reload and recount', 'inv_issue.stale_sheet'),  # inventory
        ('(?P<sku>.+): counted (?P<counted>\\d+) but (?P<reserved>\\d+) are reserved for orders; release or move those orders first', 'inv_issue.counted_below_reserved'),  # inventory
        ('order (?P<number>.+) has no line (?P<line>\\d+)', 'inv_issue.no_such_line'),  # inventory
        ('already served from (?P<warehouse>.+)', 'inv_issue.already_there'),  # inventory
        ('pick at least one order', 'inv_issue.pick_orders'),  # inventory
        ('no order (?P<number>.+)', 'inv_issue.no_order'),  # inventory
        ('(?P<number>\\S+) is (?P<status>\\w+); only confirmed orders can be picked', 'inv_issue.not_pickable'),  # inventory
        ('(?P<number>\\S+) is (?P<status>\\w+); only packed orders can ship', 'inv_issue.not_shippable'),  # inventory
        ('(?P<number>\\S+) is (?P<status>\\w+); only shipped orders can be delivered', 'inv_issue.not_deliverable'),  # inventory
        ('not a readable CSV file: .*', 'inv_issue.bad_csv'),  # inventory
        ('not a UTF-8 or GB18030 text file', 'inv_issue.bad_encoding'),  # inventory
        ('missing column (?P<name>\\w+) \\(one of: (?P<accepted>.+)\\)', 'inv_issue.missing_column'),  # inventory
        ('at most (?P<n>\\d+) rows per upload', 'inv_issue.too_many_rows'),  # inventory
        ('no rows to ship', 'inv_issue.no_rows'),  # inventory
        ('(?:tracking number )?(?P<value>.+) is already on line (?P<line>\\d+)', 'inv_issue.duplicate_in_file'),  # inventory
        ("unknown field '?(?P<field>[^']*)'? for (?P<kind>\\w+) rules; .*", 'inv_issue.unknown_fact'),  # inventory
        ("unknown operator '?(?P<op>[^']*)'?; .*", 'inv_issue.unknown_op'),  # inventory
        ('(?P<op>\\S+) compares a number field with a number', 'inv_issue.needs_number'),  # inventory
        ('(?P<op>\\S+) needs a list of values', 'inv_issue.needs_list'),  # inventory
        ('(?P<op>\\S+) only applies to yes/no fields .*', 'inv_issue.needs_yes_no'),  # inventory
        ('(?P<op>\\S+) needs a value', 'inv_issue.needs_value'),  # inventory
        ('a rule needs an action', 'inv_issue.no_action'),  # inventory
        ('not valid JSON: .*', 'inv_issue.bad_json'),  # inventory
        ('must be a whole number between (?P<low>-?\\d+) and (?P<high>-?\\d+)', 'inv_issue.priority_range'),  # inventory
        ('pick at least one alert', 'inv_issue.pick_alerts'),  # inventory
        ('(?P<number>\\S+) confirmed (?P<hours>\\d+) h ago and not shipped \\(SLA (?P<sla>\\d+) h\\)', 'alert_msg.sla_breach'),  # inventory
        ('(?P<number>\\S+) was due (?P<hours>\\d+) h ago and is still (?P<status>\\w+)', 'alert_msg.overdue'),  # inventory
        ('(?P<number>\\S+) is due within (?P<hours>\\d+) h and is still (?P<status>\\w+)', 'alert_msg.due_soon'),  # inventory
        ('(?P<number>\\S+) shipped (?P<days>\\d+) days ago \\((?P<carrier>.*)\\) and not delivered \\(limit (?P<limit>\\d+) days\\)', 'alert_msg.delivery_overdue'),  # inventory
        ('(?P<number>\\S+) is waiting for stock \\(reservation refused\\)', 'alert_msg.backorder'),  # inventory
        ('(?P<sku>.+) in (?P<warehouse>\\S+): (?P<available>-?\\d+) available, safety stock (?P<safety>\\d+)', 'alert_msg.below_safety'),  # inventory
        ('(?P<sku>[^;]+): need (?P<need>\\d+), (?P<available>-?\\d+) available in (?P<warehouse>\\S+)', 'alert_msg.shortage'),  # inventory
        ('stock reconciliation found (?P<n>\\d+) discrepancies: (?P<detail>.*)', 'alert_msg.reconciliation'),  # inventory
        ('must be yes or no', 'issue.yes_no'),  # settings
        ('unknown setting', 'issue.unknown_setting'),  # settings
        ('(?P<sku>.+) short by (?P<missing>\\d+) on (?P<wave>\\S+) \\((?P<reason>\\w+)\\): (?P<orders>.*) back in the queue; count the bin', 'alert_msg.pick_short'),  # waves
))


def translate_reason(message: str, lang: str) -> str:
    """A FieldIssue's reason in ``lang`` when it is a known one, else the message unchanged."""
    for pattern, key in _REASONS:
        match = pattern.fullmatch(message)
        if match:
            return translate(key, lang, **match.groupdict())
    return message


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
