"""Suites for incoming files, one per import kind, applied to the staged frame before any write.

Each suite is a function of what it must know (the kind's fields, SKUs in the catalogue,
active channels and warehouses, the allowed codes) returning a builder for
:func:`expectations.runner.validate`. The fields and codes come from the caller
(:mod:`core.importing.prepare` passes :mod:`core.importing.fields`), so the import pipeline
imports these suites and never the other way round.
Columns follow :mod:`core.importing.stage`: ``<field>`` is the source text (None when empty),
``<field>_v`` the parsed value, ``<field>_bad`` the text that could not be read, and ``_…``
columns are facts derived by the import (``core.importing.orders`` and the service).

The ``meta`` of every expectation is what the per-row report says: reason ``code`` (catalog
``imp.reason.<code>``), the OMS ``field``, ``severity`` (errors block a row's order; warnings
are imported and reported) and optionally a ``detail`` column shown with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from core import product_rules
from core.domain import quantities, rulebook

Builder = Callable[[Any], list[Any]]


class Field(Protocol):
    """What a suite reads of an import field (:class:`core.importing.fields.FieldSpec`)."""

    @property
    def name(self) -> str: ...

    @property
    def type(self) -> str: ...

    @property
    def required(self) -> bool: ...


def _meta(code: str, field: str, severity: str = "error", detail: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"code": code, "field": field, "severity": severity}
    if detail:
        meta["detail"] = detail
    return meta


def _readable(gxe: Any, fields: Sequence[Field], mapped: set[str]) -> list[Any]:
    """Every mapped typed field must parse: dates by the profile's formats, numbers, phones…"""
    codes = {"date": "bad_date", "money": "not_a_number", "qty": "not_a_number", "int": "not_a_number",
             "phone": "bad_phone", "email": "bad_email", "bool": "bad_bool"}
    return [gxe.ExpectColumnValuesToBeNull(column=f"{f.name}_bad", meta=_meta(codes[f.type], f.name))
            for f in fields if f.type in codes and f.name in mapped]


def _required(gxe: Any, fields: Sequence[Field]) -> list[Any]:
    return [gxe.ExpectColumnValuesToNotBeNull(column=f.name, meta=_meta("required", f.name))
            for f in fields if f.required]


def _flag(gxe: Any, column: str, ok: bool, code: str, field: str, severity: str = "error",
          detail: str | None = None) -> Any:
    """A derived boolean column must be ``ok`` on every row."""
    return gxe.ExpectColumnValuesToBeInSet(column=column, value_set=[ok], meta=_meta(code, field, severity, detail))


def _zero(gxe: Any, column: str, code: str, field: str, detail: str | None = None) -> Any:
    return gxe.ExpectColumnValuesToBeBetween(column=column, min_value=0, max_value=0,
                                             meta=_meta(code, field, detail=detail))


def _min(gxe: Any, column: str, minimum: float, code: str, field: str) -> Any:
    return gxe.ExpectColumnValuesToBeBetween(column=column, min_value=minimum, meta=_meta(code, field))


def _in(gxe: Any, column: str, allowed: Iterable[str], code: str, field: str) -> Any:
    return gxe.ExpectColumnValuesToBeInSet(column=column, value_set=sorted(allowed), meta=_meta(code, field))


# Import column → rulebook text field whose width bounds it.
_TEXT_COLUMNS = {"customer_name": "customer_name", "province": "province", "city": "city", "district": "district",
                 "address": "address", "external_ref": "external_ref", "carrier": "carrier",
                 "tracking_no": "tracking_no", "note": "note"}
# Money columns in whole cents (derived by core.importing.orders, or read as cents).
_CENT_COLUMNS = {"_unit_price": "unit_price", "_disc": "line_discount", "_line_total": "line_total",
                 "_total": "order_total", "_shipping": "shipping_fee", "_order_disc": "order_discount"}


def _rulebook_limits(gxe: Any, mapped: set[str]) -> list[Any]:
    """The order rulebook's limits as expectations — read from it, never restated here:
    line quantity, money that fits its column, text widths, and the date window (the flags
    ``_future``/``_too_old`` are computed with the rulebook's bounds)."""
    cents = float(rulebook.MAX_AMOUNT * 100)
    checks = [
        gxe.ExpectColumnValuesToBeBetween(column="qty_v", max_value=rulebook.MAX_LINE_QTY,
                                          meta=_meta("rb_too_large", "qty")),
        _flag(gxe, "_too_old", False, "rb_date_range", "placed_at"),
    ]
    checks += [gxe.ExpectColumnValuesToBeBetween(column=column, max_value=cents, meta=_meta("rb_too_large", field))
               for column, field in _CENT_COLUMNS.items()]
    checks += [gxe.ExpectColumnValueLengthsToBeBetween(column=column, max_value=rulebook.TEXT_WIDTHS[name],
                                                       meta=_meta("rb_too_long", column))
               for column, name in _TEXT_COLUMNS.items() if column in mapped]
    return checks


def order_suite(*, fields: Sequence[Field], mapped: set[str], channels: Iterable[str], warehouses: Iterable[str],
                targets: Iterable[str]) -> Builder:
    """Orders: required columns, readable values, qty > 0 and whole, prices ≥ 0, the order
    rulebook's limits and enums (:func:`_rulebook_limits`), known active
    SKUs, statuses mapped to one of ``targets`` and known codes, one consistent header per order, no duplicate lines,
    totals that add up, no future dates; incomplete addresses and masked phones are warnings.
    A sale without any customer detail is a walk-in sale (no customer), not an error.

    Whether a SKU is in the catalogue is the derived flag ``_sku_known`` (True where the SKU is
    known or empty — an empty SKU is the ``required`` check's business), not a ``value_set``:
    GX deep-copies an expectation's arguments ~130 times per validation, and a catalogue of a
    few thousand SKUs made that one check cost more than all the others together."""

    def build(gxe: Any) -> list[Any]:
        checks = _required(gxe, fields) + _readable(gxe, fields, mapped) + [
            _min(gxe, "qty_v", 1, "qty_positive", "qty"),
            _zero(gxe, "_qty_frac", "whole_number", "qty"),
            _min(gxe, "_unit_price", 0, "negative", "unit_price"),
            _min(gxe, "_disc", 0, "negative", "line_discount"),
            _flag(gxe, "_disc_over", False, "discount_too_large", "line_discount"),
            _zero(gxe, "_line_gap", "line_mismatch", "line_total"),
            _flag(gxe, "_no_price", False, "no_price", "unit_price"),
            _flag(gxe, "_sku_known", True, "unknown_sku", "sku"),
            _flag(gxe, "_sku_inactive", False, "discontinued", "sku"),
            gxe.ExpectColumnValuesToNotBeNull(column="channel_v", meta=_meta("no_channel", "channel")),
            _in(gxe, "channel_v", channels, "unknown_value", "channel"),
            _in(gxe, "_target", targets, "unmapped_status", "status"),
            gxe.ExpectColumnValuesToBeNull(column="_conflict", meta=_meta("order_conflict", "external_ref",
                                                                           detail="_conflict")),
            _flag(gxe, "_dup", False, "duplicate_line", "line_ref", detail="_dup_of"),
            _zero(gxe, "_total_gap", "totals", "order_total", detail="_total_detail"),
            _flag(gxe, "_negative_total", False, "negative_total", "order_discount"),
            _flag(gxe, "_future", False, "future_date", "placed_at"),
            _flag(gxe, "phone_masked", False, "masked_phone", "phone", "warning"),
            _flag(gxe, "_address_complete", True, "address_incomplete", "address", "warning"),
        ] + _rulebook_limits(gxe, mapped)
        for name in ("shipping_fee", "order_discount", "order_total", "line_total"):
            if name in mapped:
                checks.append(_min(gxe, f"{name}_v", 0, "negative", name))
        for name, allowed in (("payment_method", rulebook.PAYMENT_METHODS),
                              ("payment_status", rulebook.PAYMENT_STATUSES),
                              ("delivery_method", rulebook.DELIVERY_METHODS), ("warehouse", warehouses)):
            if name in mapped:
                checks.append(_in(gxe, f"{name}_v", allowed, "unknown_value", name))
        return checks

    return build


def product_suite(*, fields: Sequence[Field], mapped: set[str]) -> Builder:
    """Products: SKU present and unique in the file, a name and price for new products,
    readable non-negative prices, pack size ≥ 1, barcodes unique (in the file and the shop),
    prices, pack size and lead time within the catalogue's bounds (core.product_rules, which
    the product editor applies too)."""

    def build(gxe: Any) -> list[Any]:
        checks = _required(gxe, fields) + _readable(gxe, fields, mapped) + [
            _flag(gxe, "_dup", False, "duplicate_row", "sku"),
            _flag(gxe, "_new_without_name", False, "new_product_field", "name"),
            _flag(gxe, "_new_without_price", False, "new_product_field", "unit_price"),
            _flag(gxe, "_barcode_dup", False, "duplicate_row", "barcode"),
            gxe.ExpectColumnValuesToBeNull(column="_barcode_taken", meta=_meta("barcode_taken", "barcode",
                                                                                detail="_barcode_taken")),
        ]
        for name, minimum in (("unit_price", 0), ("unit_cost", 0), ("pack_size", 1), ("lead_time_days", 0)):
            if name in mapped:
                checks.append(_min(gxe, f"{name}_v", minimum, "qty_positive" if minimum else "negative", name))
        # the catalogue's bounds (core.product_rules, applied by the product editor too); money in cents
        limits = {"unit_price": float(product_rules.MAX_PRICE * 100), "unit_cost": float(product_rules.MAX_PRICE * 100),
                  "pack_size": product_rules.MAX_PACK_SIZE, "lead_time_days": product_rules.MAX_LEAD_TIME_DAYS}
        checks += [gxe.ExpectColumnValuesToBeBetween(column=f"{name}_v", max_value=limit,
                                                     meta=_meta("rb_too_large", name))
                   for name, limit in limits.items() if name in mapped]
        for name in ("pack_size", "lead_time_days"):
            if name in mapped:
                checks.append(_zero(gxe, f"_{name}_frac", "whole_number", name))
        return checks

    return build


def stock_suite(*, fields: Sequence[Field], mapped: set[str], warehouses: Iterable[str]) -> Builder:
    """Stock levels: a known SKU (the flag ``_sku_known``, as in :func:`order_suite`), an active
    warehouse, a whole counted quantity in [0, the stock row ceiling], and each SKU × warehouse once."""

    def build(gxe: Any) -> list[Any]:
        return _required(gxe, fields) + _readable(gxe, fields, mapped) + [
            _min(gxe, "qty_v", 0, "negative", "qty"),
            gxe.ExpectColumnValuesToBeBetween(column="qty_v", max_value=quantities.MAX_ON_HAND,
                                              meta=_meta("rb_too_large", "qty")),
            _zero(gxe, "_qty_frac", "whole_number", "qty"),
            _flag(gxe, "_sku_known", True, "unknown_sku_stock", "sku"),
            _in(gxe, "warehouse_v", warehouses, "unknown_value", "warehouse"),
            _flag(gxe, "_dup", False, "duplicate_row", "sku"),
            gxe.ExpectColumnValuesToBeNull(column="_reserved_over", meta=_meta("count_below_reserved", "qty",
                                                                                detail="_reserved_over")),
        ]

    return build


def customer_suite(*, fields: Sequence[Field], mapped: set[str], channels: Iterable[str],
                   tiers: Iterable[str]) -> Builder:
    """Customers: a name, readable phone/e-mail, something to recognise the person by (phone,
    e-mail or a channel account), a tier of ``tiers`` and a known channel."""

    def build(gxe: Any) -> list[Any]:
        checks = _required(gxe, fields) + _readable(gxe, fields, mapped) + [
            _flag(gxe, "_has_key", True, "no_customer_key", "phone"),
            _flag(gxe, "_buyer_without_channel", False, "no_channel", "channel"),
            _flag(gxe, "phone_masked", False, "masked_phone", "phone", "warning"),
        ]
        if "tier" in mapped:
            checks.append(_in(gxe, "tier_v", tiers, "unknown_value", "tier"))
        if "channel" in mapped:
            checks.append(_in(gxe, "channel_v", channels, "unknown_value", "channel"))
        return checks

    return build


def settlement_suite(*, fields: Sequence[Field], mapped: set[str], channels: Iterable[str],
                     kinds: Iterable[str]) -> Builder:
    """Payout statement lines (issue 21): a readable date and amount, not zero and within the
    money limit (fees too), a known kind and channel, a date not in the future, references
    that fit their column."""
    limit = float(rulebook.MAX_AMOUNT * 100)

    def build(gxe: Any) -> list[Any]:
        checks = _required(gxe, fields) + _readable(gxe, fields, mapped) + [
            _flag(gxe, "_nonzero", True, "zero_amount", "amount"),
            _flag(gxe, "_has_channel", True, "no_channel", "channel"),
            _in(gxe, "channel_v", channels, "unknown_value", "channel"),
            _flag(gxe, "_future", False, "future_date", "settled_at"),
            _flag(gxe, "_too_old", False, "rb_date_range", "settled_at"),
        ]
        checks += [gxe.ExpectColumnValuesToBeBetween(column=f"{name}_v", min_value=-limit, max_value=limit,
                                                     meta=_meta("rb_too_large", name))
                   for name in ("amount", "fee", "commission", "net") if name in mapped]
        checks += [gxe.ExpectColumnValueLengthsToBeBetween(column=name, max_value=100, meta=_meta("rb_too_long", name))
                   for name in ("provider_ref", "order_ref") if name in mapped]
        if "kind" in mapped:
            checks.append(_in(gxe, "kind_v", kinds, "unknown_value", "kind"))
        return checks

    return build
