"""Order totals: line totals, the order's subtotal, discount, shipping and total, each line's
share of the order discount in whole cents, and the "totals add up" checks.

One definition for every door that creates orders — order entry (``create_order``) and the
import's history writer (open imported orders go through ``create_order``) — and for the
after-sales refund arithmetic and the analytics, which read the stored shares:

* a line's total is ``unit price × qty − line discount``;
* subtotal = Σ line totals; total = subtotal − order discount + shipping fee, never negative;
* the order discount is spread over the lines by :func:`core.domain.money.allocate` in
  proportion to their line totals (ties → lower line number). Only the part that fits the
  goods is spread (at most the subtotal); a discount larger than the goods, possible when
  shipping is charged, reduces the shipping by the rest (:attr:`OrderTotals.on_shipping`);
* what a line was *paid* is its line total less its share — the sales figure of every report
  and the base of every refund.

Pure: no SQLAlchemy, no I/O. Amounts are ``Decimal`` with two places; shares are computed in
whole cents.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from core.domain.money import allocate, allocate_grouped, from_cents, to_cents
from core.domain.rulebook import MAX_AMOUNT
from core.errors import FieldIssue

ZERO = Decimal("0.00")


def line_total(qty: int, unit_price: Decimal, discount: Decimal) -> Decimal:
    """``unit_price × qty − discount`` (the rulebook has checked the discount fits)."""
    return unit_price * qty - discount


@dataclass(frozen=True)
class OrderTotals:
    """An order's amounts; ``shares[i]`` is line ``i``'s share of the order discount."""

    subtotal: Decimal
    discount: Decimal
    shipping_fee: Decimal
    total: Decimal
    shares: tuple[Decimal, ...]

    @property
    def on_shipping(self) -> Decimal:
        """The part of the order discount that the goods could not take (reduces shipping)."""
        return self.discount - sum(self.shares, ZERO)

    def paid(self, line_totals: Sequence[Decimal]) -> tuple[Decimal, ...]:
        """What each line was paid: its line total less its share of the order discount."""
        return tuple(t - s for t, s in zip(line_totals, self.shares, strict=True))


def discount_shares(line_totals: Sequence[Decimal], discount: Decimal) -> tuple[Decimal, ...]:
    """Each line's share of the order ``discount`` (lines in line-number order): the part that
    fits the goods, split in proportion to the line totals in whole cents."""
    weights = {i: to_cents(t) for i, t in enumerate(line_totals)}
    on_goods = min(to_cents(discount), sum(weights.values()))
    shares = allocate(on_goods, weights)
    return tuple(from_cents(shares[i]) for i in range(len(line_totals)))


def order_totals(line_totals: Sequence[Decimal], discount: Decimal, shipping_fee: Decimal) -> OrderTotals:
    """The order's amounts from its line totals (in line-number order), discount and shipping."""
    subtotal = sum(line_totals, ZERO)
    return OrderTotals(subtotal, discount, shipping_fee, subtotal - discount + shipping_fee,
                       discount_shares(line_totals, discount))


def totals_issues(totals: OrderTotals, expected_total: Decimal | None = None) -> list[FieldIssue]:
    """Why these totals cannot be stored: a discount larger than goods and shipping together
    (a negative total), a total beyond the money columns, or a stated total that differs
    from what the lines add up to."""
    if totals.total < 0:
        return [FieldIssue("discount", "issue.discount_too_large", value=totals.discount)]
    if totals.total > MAX_AMOUNT:
        return [FieldIssue("total", "issue.at_most", value=totals.total, params={"n": str(MAX_AMOUNT)})]
    if expected_total is not None and expected_total != totals.total:
        return [FieldIssue("total", "issue.totals", value=expected_total, params={
            "subtotal": str(totals.subtotal), "discount": str(totals.discount),
            "shipping_fee": str(totals.shipping_fee), "total": str(totals.total)})]
    return []


# --- whole files (cents in numpy arrays) --------------------------------------------------------


def discount_shares_cents(order_of_line: npt.ArrayLike, line_cents: npt.ArrayLike,
                          discount_cents: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """:func:`discount_shares` for many orders at once, in cents: ``order_of_line[i]`` is the
    order (0 … n−1) of line ``i`` (an order's lines in line-number order), ``line_cents[i]``
    its line total, ``discount_cents[o]`` order ``o``'s discount."""
    order = np.asarray(order_of_line, dtype=np.int64)
    lines = np.asarray(line_cents, dtype=np.int64)
    discount = np.asarray(discount_cents, dtype=np.int64)
    subtotal = np.bincount(order, weights=lines, minlength=discount.size).astype(np.int64)
    return allocate_grouped(order, np.minimum(discount, subtotal), lines)


def totals_add_up(subtotal: npt.ArrayLike, discount: npt.ArrayLike, shipping_fee: npt.ArrayLike,
                  total: npt.ArrayLike, line_sums: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """Per order (cents): subtotal = Σ line totals and total = subtotal − discount + shipping ≥ 0."""
    sub, disc, ship, tot, lines = (np.asarray(a, dtype=np.int64) for a in
                                   (subtotal, discount, shipping_fee, total, line_sums))
    adds_up: npt.NDArray[np.bool_] = (sub == lines) & (tot == sub - disc + ship) & (tot >= 0)
    return adds_up
