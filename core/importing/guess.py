"""Guessing which source column holds which OMS field — by its header *and* its values.

A header alone misleads: a POS export's ``name`` column holds product names, yet ``name`` is
also what a customer list calls the customer. So every header match is checked against a
sample of the column's values before it is offered:

- typed fields want values of their type (phones, e-mails, dates, amounts, whole numbers);
- an order-level field (the customer's name, the order's status …) must not change between
  the lines of one order — a column that does is about the line (a product);
- a person's name is short and has no digits or units; text like ``Margherita 12"`` or
  ``可乐 330ml`` reads as a product, and a product-ish ``name`` column becomes the product name;
- a SKU is a code: one token of letters, digits and ``-_./``.

A header nobody listed (``sold_at``, ``member_phone``) is still found by its values where they
cannot be mistaken: the required date (when the order was placed), mainland mobile numbers and
e-mail addresses. The user sees every guess in the mapping editor before anything is imported.

Pure functions on small samples (the first few hundred rows); no database.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from core.importing.fields import FIELDS, FieldSpec

SAMPLE_ROWS = 500
SHARE = 0.8  # this share of a column's non-empty sample values must fit the field's type

_PHONE = re.compile(r"^\+?[\d\s\-()*]{7,20}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DATE = re.compile(r"^\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?([ T]\d{1,2}:\d{2}(:\d{2})?)?$"
                   r"|^\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}( \d{1,2}:\d{2}(:\d{2})?)?$")
_MONEY = re.compile(r"^[-+]?[¥￥$€£]?\s*(\d{1,3}(,\d{3})+|\d+)([.,]\d{1,4})?\s*(元|RMB|CNY)?$", re.IGNORECASE)
_WHOLE = re.compile(r"^[-+]?\d{1,9}$")
_MOBILE = re.compile(r"^(\+?86[\s-]?)?1\d{2}[\s-]?\d{4}[\s-]?\d{4}$")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-_./#]{1,63}$")
_PRODUCTISH = re.compile(r"\d|ml|kg|cm|mm|[\"“”″]|[号寸克斤升装件袋瓶盒包片个套]|\b(pack|size|pcs|oz|lb)\b",
                         re.IGNORECASE)
_TYPE_PATTERN = {"phone": _PHONE, "email": _EMAIL, "date": _DATE, "money": _MONEY, "qty": _WHOLE,
                 "int": _WHOLE}


@dataclass(frozen=True)
class ColumnShape:
    """What a sample of one column looks like (shares of its non-empty values)."""

    values: int
    shares: Mapping[str, float]  # phone | email | date | money | qty | int | code | mobile | productish
    varies_within_order: bool  # some order (by the guessed reference column) has two values

    def fits(self, kind: str) -> bool:
        return self.values == 0 or self.shares.get(kind, 0.0) >= SHARE


def _share(values: pd.Series, pattern: re.Pattern[str], *, anywhere: bool = False) -> float:
    """The share of ``values`` matching ``pattern`` (whole value, or ``anywhere`` in it)."""
    if not len(values):
        return 0.0
    test = pattern.search if anywhere else pattern.match
    return float(values.map(lambda v: test(v) is not None).mean())


def shape(values: pd.Series, order_refs: pd.Series | None = None) -> ColumnShape:
    """Describe a column's sample; ``order_refs`` (the same rows' order reference, when known)
    tells whether the column is constant within each order."""
    text = values.astype(str).str.strip()
    present = text[values.notna() & text.ne("")]
    shares = {name: _share(present, pattern) for name, pattern in _TYPE_PATTERN.items()}
    shares["code"] = _share(present, _CODE)
    shares["mobile"] = _share(present, _MOBILE)
    shares["productish"] = _share(present, _PRODUCTISH, anywhere=True)
    varies = False
    if order_refs is not None and len(present):
        pairs = pd.DataFrame({"ref": order_refs[present.index], "v": present}).dropna()
        varies = bool((pairs.groupby("ref", sort=False)["v"].nunique() > 1).any())
    return ColumnShape(len(present), shares, varies)


def fits(f: FieldSpec, s: ColumnShape) -> bool:
    """May column shape ``s`` hold field ``f``?"""
    if s.values == 0:
        return True
    if f.type in _TYPE_PATTERN:
        return s.fits(f.type)
    if f.level == "order" and f.name not in ("external_ref",) and s.varies_within_order:
        return False  # an order-level field cannot differ between the lines of one order
    if f.name == "customer_name":
        return s.shares["productish"] < 1 - SHARE and s.shares["email"] < SHARE and s.shares["phone"] < SHARE
    if f.name == "sku":
        return s.shares["code"] >= SHARE
    return True


def _header_hits(f: FieldSpec, columns: Sequence[str]) -> list[str]:
    """Columns whose header is the field's name or a synonym, best synonym first."""
    lowered: dict[str, str] = {}
    for c in columns:
        lowered.setdefault(c.strip().lower(), c)
    return [lowered[n.lower()] for n in dict.fromkeys([f.name, *f.synonyms]) if n.lower() in lowered]


def guess_mapping(kind: str, sample: pd.DataFrame) -> dict[str, str]:
    """OMS field → source column for ``sample`` (the first rows of the file, as text): each
    field takes the best header match whose values fit it and no earlier field took."""
    columns = [str(c) for c in sample.columns]
    fields = FIELDS[kind]
    ref_field = next((f for f in fields if f.name == "external_ref"), None)
    ref_col = next(iter(_header_hits(ref_field, columns)), None) if ref_field else None
    refs = sample[ref_col] if ref_col is not None else None
    shapes = {c: shape(sample[c], refs if c != ref_col else None) for c in columns}
    mapped: dict[str, str] = {}
    for f in fields:
        for column in _header_hits(f, columns):
            if column not in mapped.values() and fits(f, shapes[column]):
                mapped[f.name] = column
                break
    for f in fields:  # what no header named: by values that cannot be mistaken
        content = _BY_CONTENT.get(f.type)
        if f.name in mapped or content is None or (f.type == "date" and not f.required):
            continue
        free = [c for c in columns if c not in mapped.values() and shapes[c].values and shapes[c].fits(content)]
        if free:
            mapped[f.name] = max(free, key=lambda c: shapes[c].shares[content])
    return mapped


# field type → the shape share that identifies it without a header (a date only for a required
# field: several optional dates — paid, shipped, delivered — would be a guess among equals)
_BY_CONTENT = {"date": "date", "phone": "mobile", "email": "email"}
