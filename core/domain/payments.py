"""An order's payment status, derived from its payment and refund rows (issue 21).

Why derived: a single hand-set field could say "paid" while no money ever arrived; with the
rows as the record, the status is a summary of them, recomputed whenever a row is written.
The statuses are the rulebook's (:data:`core.domain.rulebook.PAYMENT_STATUSES`).

Pure: amounts in, a status out.
"""

from __future__ import annotations

from decimal import Decimal

PAYMENT_KINDS = ("payment", "refund")
PAYMENT_ROW_STATUSES = ("succeeded", "pending", "failed")
# what the order entry states that means money has already been received in full
RECEIVED_AT_ENTRY = ("paid", "partially_refunded", "refunded")


def derived_status(total: Decimal, paid: Decimal, refunded: Decimal, *, stated: str = "unpaid") -> str:
    """The payment status of an order of ``total`` with ``paid`` received and ``refunded``
    paid back (succeeded rows only).

    A refund decides first and is measured against the order total, as after-sales always did
    (a full refund of the order is "refunded" even if the payment came in two rows). An order
    with nothing to pay (``total`` 0) has no rows; it keeps what was ``stated`` at entry.
    """
    if refunded > 0:
        return "refunded" if refunded >= total else "partially_refunded"
    if total <= 0 and paid <= 0:
        return stated
    if paid >= total:
        return "paid"
    return "partially_paid" if paid > 0 else "unpaid"


def entry_payment(stated: str, total: Decimal) -> Decimal:
    """The payment row order entry writes for an order stated as ``stated``: the whole total
    when the money was received (also for an order a channel reports as already refunded —
    it was paid first), nothing for an unpaid or free order."""
    return total if stated in RECEIVED_AT_ENTRY and total > 0 else Decimal("0")
