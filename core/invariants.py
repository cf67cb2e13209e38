"""The database's correctness invariants, checked from the outside.

These are the promises the services keep inside every transaction; checking them afterwards
proves it after events the services cannot see: a process killed mid-order, a restored
backup, a load test, random sequences of actions in the property tests.

The stock side is the inventory team's reconciliation (:func:`core.reconcile.stock_report`:
Σ ledger = on_hand, reserved = Σ order lines' reservations, closed orders hold nothing, open
orders fully reserved, transfers match their movements); this module adds what concerns the
orders and the raw stock rows:

* ``stock_range`` 0 ≤ reserved ≤ on_hand (the CHECK constraints, re-checked for restored files)
* ``order_lines`` every order has at least one line (no half-written order)
* ``order_total`` total = Σ line_total − discount + shipping_fee, exactly (money is whole cents)
* ``discount_split`` the lines' shares of the order discount add up to the discount on the goods

Each check is one aggregate query; only the breaches come back to Python.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Subquery

from core import reconcile
from core.db import read_only
from core.models import Order, OrderLine, StockLevel


@dataclass(frozen=True)
class Breach:
    """One broken invariant: which check, which row(s), and what was found."""

    check: str
    key: str
    detail: str


def _stock_reconciliation(session: Session, limit: int) -> list[Breach]:
    report = reconcile.stock_report(session)
    rows = report.discrepancies.groupby("check", sort=False).head(limit)
    return [Breach(str(r.check), " @ ".join(str(v) for v in (r.reference or r.sku, r.warehouse) if v), str(r.detail))
            for r in rows.itertuples()]


def _stock_range(session: Session, limit: int) -> list[Breach]:
    rows = session.execute(
        select(StockLevel.product_id, StockLevel.warehouse_id, StockLevel.on_hand, StockLevel.reserved)
        .where(or_(StockLevel.on_hand < 0, StockLevel.reserved < 0, StockLevel.reserved > StockLevel.on_hand))
        .limit(limit)
    ).all()
    return [Breach("stock_range", f"product {p} @ warehouse {w}", f"on_hand {on_hand}, reserved {reserved}")
            for p, w, on_hand, reserved in rows]


def _order_lines(session: Session, limit: int) -> list[Breach]:
    rows = session.execute(
        select(Order.number).where(~select(OrderLine.id).where(OrderLine.order_id == Order.id).exists())
        .limit(limit)
    ).scalars().all()
    return [Breach("order_lines", number, "order has no lines") for number in rows]


def _line_sums() -> Subquery:
    return (select(OrderLine.order_id, func.sum(OrderLine.line_total).label("lines"),
                   func.sum(OrderLine.discount_share).label("shares"))
            .group_by(OrderLine.order_id).subquery())


def _order_totals(session: Session, limit: int) -> list[Breach]:
    sums = _line_sums()
    expected = sums.c.lines - Order.discount + Order.shipping_fee
    rows = session.execute(
        select(Order.number, Order.total, expected)
        .join(sums, sums.c.order_id == Order.id)
        .where(Order.total != expected)
        .limit(limit)
    ).all()
    return [Breach("order_total", number, f"total {total} but lines − discount + shipping = {exp}")
            for number, total, exp in rows]


def _discount_split(session: Session, limit: int) -> list[Breach]:
    sums = _line_sums()
    on_goods = case((Order.discount < sums.c.lines, Order.discount), else_=sums.c.lines)
    rows = session.execute(
        select(Order.number, Order.discount, sums.c.shares)
        .join(sums, sums.c.order_id == Order.id)
        .where(sums.c.shares != on_goods)
        .limit(limit)
    ).all()
    return [Breach("discount_split", number, f"discount {discount} but the lines' shares add up to {shares}")
            for number, discount, shares in rows]


CHECKS = (_stock_reconciliation, _stock_range, _order_lines, _order_totals, _discount_split)


@read_only
def check(session: Session, limit: int = 20) -> list[Breach]:
    """Every breach of the invariants above (at most ``limit`` per check); empty when sound."""
    return [breach for fn in CHECKS for breach in fn(session, limit)]
