"""What a product record may hold: one rulebook for the catalog editor and the product import,
and the typed-input checks (text, whole numbers, exact decimals) every master-data form shares.

The bounds are the shop's sanity limits, inside what the columns can store: a price above a
million or a pack of more than 10,000 is a typo (an extra zero, a barcode in the wrong box),
not a product. Money is parsed from text to ``Decimal`` exactly — more than two decimals is
refused, never rounded — so what the user typed is what is stored.

Pure functions: no database, no I/O. Each check appends :class:`FieldIssue` message codes
(``issue.*`` shared with the rest of the app, ``mdp.*`` for the catalog's own) and returns
the cleaned value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Column, String

from core.errors import FieldIssue
from core.models import Product, ProductBarcode
from core.models.personal import Encrypted


def column_length(column: Column[Any]) -> int:
    """The declared length of a ``String(n)`` column: the longest text it can store."""
    if isinstance(column.type, Encrypted) and column.type.length is not None:  # personal data: the plain text's limit
        return column.type.length
    if not isinstance(column.type, String) or column.type.length is None:
        raise TypeError(f"{column} is not a String column with a length")
    return column.type.length


CENT = Decimal("0.01")
GRAM = Decimal("0.001")
MAX_SKU = column_length(Product.__table__.c.sku)
MAX_NAME = column_length(Product.__table__.c.name)
MAX_CATEGORY = column_length(Product.__table__.c.category)
MAX_BRAND = column_length(Product.__table__.c.brand)
MAX_BARCODE = column_length(ProductBarcode.__table__.c.barcode)
MAX_BARCODES = 10  # per product: an EAN, the shop's label, a few old packagings
MAX_PRICE = Decimal("1000000.00")  # price and cost (well inside core.domain.rulebook.MAX_AMOUNT)
MAX_PACK_SIZE = 10_000
MAX_LEAD_TIME_DAYS = 365
MAX_WEIGHT_KG = Decimal("1000.000")
MAX_ATTRIBUTES = 20
MAX_ATTRIBUTE_KEY = 32
MAX_ATTRIBUTE_VALUE = 64
DEFAULT_CATEGORY = "未分类"

_SKU = re.compile(r"^[^\s\x00-\x1f\x7f]+$")  # printable, no blanks: SKUs are typed and scanned
_BARCODE = re.compile(r"^[0-9A-Za-z._\-]+$")  # what label printers and scanners produce
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def text(raw: Any) -> str:
    """Text as typed, trimmed; None is empty."""
    return "" if raw is None else str(raw).strip()


def bounded_text(raw: Any, field: str, limit: int, issues: list[FieldIssue], *, required: bool = False) -> str:
    value = text(raw)
    if required and not value:
        issues.append(FieldIssue(field, "issue.required"))
    elif len(value) > limit:
        issues.append(FieldIssue(field, "issue.too_long", value=value[:20] + "…", params={"n": limit}))
    elif _CONTROL.search(value):  # a NUL, a bare CR or a tab would break slips, labels and exports
        issues.append(FieldIssue(field, "issue.bad_text"))
    return value


def sku(raw: Any, issues: list[FieldIssue]) -> str:
    value = bounded_text(raw, "sku", MAX_SKU, issues, required=True)
    if value and len(value) <= MAX_SKU and not _SKU.match(value):
        issues.append(FieldIssue("sku", "mdp.sku_chars", value=value))
    return value


def decimal(raw: Any, field: str, issues: list[FieldIssue], *, places: Decimal, high: Decimal,
            required: bool) -> Decimal | None:
    """A non-negative amount with at most ``places`` decimals, up to ``high``; None when empty
    and not ``required``. Floats are refused: they cannot say 0.1 exactly."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            issues.append(FieldIssue(field, "issue.required"))
        return None
    if isinstance(raw, bool | float):
        issues.append(FieldIssue(field, "issue.not_a_number", value=raw))
        return None
    try:
        amount = Decimal(str(raw).strip().replace(",", ""))
    except InvalidOperation:
        issues.append(FieldIssue(field, "issue.not_a_number", value=raw))
        return None
    if not amount.is_finite():
        issues.append(FieldIssue(field, "issue.not_a_number", value=raw))
        return None
    if amount < 0:
        issues.append(FieldIssue(field, "issue.negative", value=raw))
    elif amount > high:
        issues.append(FieldIssue(field, "issue.at_most", value=raw, params={"n": str(high)}))
    elif amount != amount.quantize(places):
        issues.append(FieldIssue(field, "mdp.decimals", value=raw, params={"n": -int(places.as_tuple().exponent)}))
    else:
        return amount.quantize(places)
    return None


def money(raw: Any, field: str, issues: list[FieldIssue], *, required: bool) -> Decimal | None:
    """A price or cost in the shop's currency, exact to the cent."""
    return decimal(raw, field, issues, places=CENT, high=MAX_PRICE, required=required)


def whole(raw: Any, field: str, issues: list[FieldIssue], *, low: int, high: int, required: bool) -> int | None:
    """A whole number in ``low..high``; None when empty and not ``required``."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            issues.append(FieldIssue(field, "issue.required"))
        return None
    if isinstance(raw, bool):
        issues.append(FieldIssue(field, "issue.whole_number", value=raw))
        return None
    try:
        number = Decimal(str(raw).strip())
    except InvalidOperation:
        issues.append(FieldIssue(field, "issue.whole_number", value=raw))
        return None
    if not number.is_finite() or number != number.to_integral_value():
        issues.append(FieldIssue(field, "issue.whole_number", value=raw))
    elif not low <= number <= high:
        issues.append(FieldIssue(field, "mdp.between", value=raw, params={"low": low, "high": high}))
    else:
        return int(number)
    return None


def barcode_list(raw: Iterable[Any] | str | None, issues: list[FieldIssue]) -> list[str]:
    """Distinct barcodes in the order given (the first is the primary one). A string may list
    them separated by commas, semicolons, blanks or new lines; None (a JSON null) is none."""
    items = re.split(r"[,;，；\s]+", raw) if isinstance(raw, str) else [text(c) for c in raw or ()]
    codes: list[str] = []
    for code in (text(c) for c in items):
        if not code:
            continue
        if len(code) > MAX_BARCODE:
            issues.append(FieldIssue("barcodes", "issue.too_long", value=code[:20] + "…", params={"n": MAX_BARCODE}))
        elif not _BARCODE.match(code):
            issues.append(FieldIssue("barcodes", "mdp.barcode_chars", value=code, params={"code": code}))
        elif code in codes:
            issues.append(FieldIssue("barcodes", "mdp.barcode_twice", value=code, params={"code": code}))
        else:
            codes.append(code)
    if len(codes) > MAX_BARCODES:
        issues.append(FieldIssue("barcodes", "mdp.too_many", params={"n": MAX_BARCODES}))
    return codes


def attribute_pairs(raw: str) -> list[tuple[str, str]]:
    """``"size=M; color=black"`` (or one ``key=value`` per line) as pairs; a part without
    ``=`` is a value without a name."""
    parts = [p.strip() for p in re.split(r"[;\n；]", raw) if p.strip()]
    return [(k, v) if sep else ("", k) for k, sep, v in (p.partition("=") for p in parts)]


def attributes(raw: Mapping[Any, Any] | Iterable[tuple[Any, Any]] | str, issues: list[FieldIssue]) -> dict[str, str]:
    """Key/value attributes (size, colour …) as a mapping, as pairs (typed text may repeat a
    key) or as text (:func:`attribute_pairs`): keys and values trimmed and bounded, a key
    without a value dropped (the attribute was cleared), a key at most once."""
    out: dict[str, str] = {}
    pairs = raw.items() if isinstance(raw, Mapping) else attribute_pairs(raw) if isinstance(raw, str) else raw
    for key_raw, value_raw in pairs:
        key, value = text(key_raw), text(value_raw)
        if not value:
            continue
        if not key:
            issues.append(FieldIssue("attributes", "mdp.attribute_key", value=value))
        elif len(key) > MAX_ATTRIBUTE_KEY or len(value) > MAX_ATTRIBUTE_VALUE:
            issues.append(FieldIssue("attributes", "mdp.attribute_long", value=key[:20],
                                     params={"key": key[:20], "k": MAX_ATTRIBUTE_KEY, "v": MAX_ATTRIBUTE_VALUE}))
        elif key in out:
            issues.append(FieldIssue("attributes", "mdp.attribute_twice", value=key, params={"key": key}))
        else:
            out[key] = value
    if len(out) > MAX_ATTRIBUTES:
        issues.append(FieldIssue("attributes", "mdp.too_many", params={"n": MAX_ATTRIBUTES}))
    return out
