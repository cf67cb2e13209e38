"""Suites for the database itself (``oms dq run`` and the Data Quality page).

Each suite validates one frame the data-quality service reads with aggregate SQL
(core.services.data_quality): one row per product × warehouse, one per order, one per orphan
order line. The ``meta.code`` of each expectation names the check (catalog ``dq.check.<code>``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd

Builder = Callable[[Any], list[Any]]
STOCK_INDEX = ["sku", "warehouse"]
ORDER_INDEX = ["number"]
LINE_INDEX = ["line_id", "order_id"]


def _meta(code: str, field: str) -> dict[str, Any]:
    return {"code": code, "field": field, "severity": "error"}


def stock_suite(now: dt.datetime) -> Builder:
    """Per product × warehouse: Σ ledger = on_hand, 0 ≤ reserved ≤ on_hand, reserved = what
    open orders hold, no movement dated in the future."""

    def build(gxe: Any) -> list[Any]:
        return [
            gxe.ExpectColumnPairValuesToBeEqual(column_A="ledger_sum", column_B="on_hand",
                                                meta=_meta("ledger", "on_hand")),
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="on_hand", column_B="reserved", or_equal=True,
                                                        meta=_meta("reserved_le_on_hand", "reserved")),
            gxe.ExpectColumnValuesToBeBetween(column="on_hand", min_value=0, meta=_meta("on_hand_nonneg", "on_hand")),
            gxe.ExpectColumnPairValuesToBeEqual(column_A="reserved", column_B="open_reserved",
                                                meta=_meta("reserved_matches", "reserved")),
            gxe.ExpectColumnValuesToBeBetween(column="last_movement_at", max_value=pd.Timestamp(now),
                                              meta=_meta("movement_future", "at")),
        ]

    return build


def order_suite(now: dt.datetime, statuses: Iterable[str], payment_statuses: Iterable[str]) -> Builder:
    """Per order: total = Σ lines − discount + shipping, subtotal = Σ lines, the lines' discount
    shares add up to the discount on the goods, a valid status and payment status, at least one line, no timestamp in the future, shipped no earlier than
    placed. Money is compared in whole cents."""
    allowed, paid = sorted(statuses), sorted(payment_statuses)

    def build(gxe: Any) -> list[Any]:
        return [
            gxe.ExpectColumnPairValuesToBeEqual(column_A="total_cents", column_B="expected_total_cents",
                                                meta=_meta("order_total", "total")),
            gxe.ExpectColumnPairValuesToBeEqual(column_A="subtotal_cents", column_B="lines_cents",
                                                meta=_meta("order_subtotal", "subtotal")),
            gxe.ExpectColumnPairValuesToBeEqual(column_A="shares_cents", column_B="expected_shares_cents",
                                                meta=_meta("order_discount_split", "discount")),
            gxe.ExpectColumnValuesToBeInSet(column="status", value_set=allowed, meta=_meta("order_status", "status")),
            gxe.ExpectColumnValuesToBeInSet(column="payment_status", value_set=paid,
                                            meta=_meta("payment_status", "payment_status")),
            gxe.ExpectColumnValuesToBeBetween(column="line_count", min_value=1, meta=_meta("order_lines", "lines")),
            gxe.ExpectColumnValuesToBeBetween(column="placed_at", max_value=pd.Timestamp(now),
                                              meta=_meta("placed_future", "placed_at")),
            gxe.ExpectColumnValuesToBeBetween(column="updated_at", max_value=pd.Timestamp(now),
                                              meta=_meta("updated_future", "updated_at")),
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="shipped_at", column_B="placed_at", or_equal=True,
                                                        ignore_row_if="either_value_is_missing",
                                                        meta=_meta("shipped_after_placed", "shipped_at")),
        ]

    return build


def orphan_suite() -> Builder:
    """Every order line belongs to an existing order (the frame holds the lines without one)."""

    def build(gxe: Any) -> list[Any]:
        return [gxe.ExpectColumnValuesToBeInSet(column="has_order", value_set=[True],
                                                meta=_meta("orphan_lines", "order_id"))]

    return build
