"""Bounds and sign rules for every stock quantity: adjustments, counts, receipts (PO and ad
hoc), PO lines, transfers and RMA lines.

Why these numbers — the overflow arithmetic:

* Quantity columns are ``INTEGER``: 32-bit on PostgreSQL (max 2,147,483,647), 64-bit on
  SQLite (max 9.22 × 10^18). ``SUM()`` returns BIGINT on PostgreSQL and raises "integer
  overflow" past 2^63 on SQLite.
* One row (a movement, a count line, a receipt line) moves at most :data:`MAX_ROW_QTY`
  = 10^6 units, in either direction.
* One stock row (product × warehouse) holds at most :data:`MAX_ON_HAND` = 10^9 units; the
  ledger's conditional UPDATE enforces it (``core.stock.post_movement``), so
  ``on_hand + delta`` ≤ 10^9 + 10^6 < 2^31 − 1 stays inside PostgreSQL's INTEGER.
* Sums: Σ on_hand over all stock rows overflows int64 only past 9.2 × 10^9 stock rows, and
  Σ |qty_delta| over the ledger only past 9.2 × 10^12 movements of the largest size. The
  three 4 × 10^18 receipts that overflowed SQLite's ``SUM`` (and made ``oms reconcile``,
  ``oms dq run`` and ``oms refresh`` crash for good, the ledger being append-only) are
  refused at the first row.
* Values: |qty| × unit cost ≤ 10^6 × 9,999,999,999.99 can exceed a money column, so an
  adjustment's value is checked against :data:`core.domain.rulebook.MAX_AMOUNT` as well.

Adjustment reasons carry a direction: "found" stock can only go up, "damage" only down. A
reason that contradicts the sign of the change is refused, so the ledger's reasons can be
trusted in loss reports.
"""

from __future__ import annotations

from typing import Any

from core.domain.rulebook import whole_number
from core.errors import FieldIssue

MAX_ROW_QTY = 1_000_000
MAX_ON_HAND = 1_000_000_000

REASON_CODES = ("damage", "loss", "theft", "expired", "found", "data_correction", "sample", "other")
INCREASE_REASONS = ("found", "data_correction", "other")
DECREASE_REASONS = ("damage", "loss", "theft", "expired", "data_correction", "sample", "other")
DEFAULT_APPROVAL_UNITS = 1000  # |Δ| above which an adjustment waits for a second person


def check_qty(value: Any, field: str, row: int | None = None, *, signed: bool = False,
              allow_zero: bool = False) -> tuple[int | None, list[FieldIssue]]:
    """``(qty, issues)`` for one quantity cell: a whole number, at most :data:`MAX_ROW_QTY`
    in size; > 0 unless ``allow_zero`` (≥ 0) or ``signed`` (any sign, not 0).

    The size check comes before the sign check so −10^12 is refused as "at most 1,000,000"
    for its field — not with a confusing message about reservations further on.
    """
    qty = whole_number(value)
    if qty is None:
        return None, [FieldIssue(field, "issue.whole_number", row, value)]
    if abs(qty) > MAX_ROW_QTY:
        return None, [FieldIssue(field, "rb.qty_at_most", row, qty, {"n": f"{MAX_ROW_QTY:,}"})]
    if signed:
        if qty == 0:
            return None, [FieldIssue(field, "rb.not_zero", row, qty)]
    elif qty < 0:
        return None, [FieldIssue(field, "issue.negative", row, qty)]
    elif qty == 0 and not allow_zero:
        return None, [FieldIssue(field, "issue.positive", row, qty)]
    return qty, []


def check_reason(reason: Any, delta: int, field: str = "reason_code", row: int | None = None) -> list[FieldIssue]:
    """The reason must be known and fit the direction of ``delta``."""
    if reason not in REASON_CODES:
        return [FieldIssue(field, "issue.one_of", row, reason, {"choices": ", ".join(REASON_CODES)})]
    allowed = INCREASE_REASONS if delta > 0 else DECREASE_REASONS
    if reason not in allowed:
        key = "rb.reason_for_increase" if delta > 0 else "rb.reason_for_decrease"
        return [FieldIssue(field, key, row, reason, {"reason": reason, "choices": ", ".join(allowed)})]
    return []


def check_ceiling(on_hand: int, delta: int, field: str, row: int | None = None, sku: str = "") -> list[FieldIssue]:
    """An increase must leave the stock row at most :data:`MAX_ON_HAND`."""
    if delta > 0 and on_hand + delta > MAX_ON_HAND:
        return [FieldIssue(field, "rb.on_hand_ceiling", row, delta,
                           {"sku": sku, "on_hand": on_hand, "n": f"{MAX_ON_HAND:,}"})]
    return []
