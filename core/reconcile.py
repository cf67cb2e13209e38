"""Stock reconciliation: the ledger vs on_hand vs reservations vs open orders (and transfers),
every discrepancy listed with its cause where the data tells it.

Four ledgers must agree, and each pair is checked with aggregates in SQL (one GROUP BY per
check; only the discrepancies come back to Python, so a million movements take well under the
5 s budget on SQLite — see ``bench/fulfillment.py``):

* ``ledger``       Σ stock_movements = stock_levels.on_hand per (product, warehouse)
* ``reserved``     stock_levels.reserved = Σ order_lines.qty_reserved per (product, warehouse)
* ``closed_order`` shipped / delivered / completed / cancelled orders hold no reservation
* ``open_order``   confirmed, picking and packed orders are fully reserved; backorders hold none
* ``transfer``     each transfer's transfer_out / transfer_in movements equal its shipped /
                   received quantities

The cause is a code (translated on screen, explained in docs/inventory.md) plus the numbers:
e.g. a ledger gap equal to the newest movement means that movement was written but never
applied to on_hand; a gap with no movements at all means on_hand was set around the ledger.
These are the checks; the service that runs them for a user, stores the report as a
``dq_runs`` row (suite ``stock_reconciliation``) and keeps one alert open while discrepancies
exist is :mod:`core.services.reconciliation`.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import func, literal, select, union_all
from sqlalchemy.orm import Session

from core.models import (
    Order,
    OrderLine,
    Product,
    StockLevel,
    StockMovement,
    Transfer,
    TransferLine,
    Warehouse,
)
from core.timeutil import utcnow

CLOSED = ("shipped", "delivered", "completed", "cancelled")
MUST_BE_RESERVED = ("confirmed", "picking", "packed")
TRANSFER_MOVED = ("shipped", "partial", "received")
COLUMNS = ["check", "sku", "warehouse", "reference", "expected", "actual", "difference", "cause", "detail"]


@dataclass(frozen=True)
class ReconcileReport:
    at: dt.datetime
    seconds: float
    movements: int
    stock_rows: int
    discrepancies: pd.DataFrame  # COLUMNS

    @property
    def ok(self) -> bool:
        return self.discrepancies.empty


def _row(check: str, sku: str | None, warehouse: str | None, reference: str | None, expected: int,
         actual: int, cause: str, detail: str) -> dict[str, Any]:
    return {"check": check, "sku": sku, "warehouse": warehouse, "reference": reference, "expected": int(expected),
            "actual": int(actual), "difference": int(actual) - int(expected), "cause": cause, "detail": detail}


def _names(session: Session, product_ids: set[int], warehouse_ids: set[int | None]) -> tuple[dict, dict]:
    """SKU and warehouse code for the ids in the discrepancies (people read codes, not ids)."""
    skus = dict(session.execute(select(Product.id, Product.sku).where(Product.id.in_(product_ids))).all())
    codes = dict(session.execute(select(Warehouse.id, Warehouse.code)
                                 .where(Warehouse.id.in_(warehouse_ids))).all())
    return skus, codes


def _ledger(session: Session) -> list[dict[str, Any]]:
    moved = (select(StockMovement.product_id.label("p"), StockMovement.warehouse_id.label("w"),
                    literal(0).label("on_hand"), func.sum(StockMovement.qty_delta).label("ledger"),
                    literal(0).label("has_row"), func.count().label("n"))
             .group_by(StockMovement.product_id, StockMovement.warehouse_id))
    levels = select(StockLevel.product_id, StockLevel.warehouse_id, StockLevel.on_hand, literal(0), literal(1),
                    literal(0))
    both = union_all(moved, levels).subquery()
    gaps = session.execute(
        select(both.c.p, both.c.w, func.sum(both.c.on_hand), func.sum(both.c.ledger), func.sum(both.c.has_row),
               func.sum(both.c.n))
        .group_by(both.c.p, both.c.w)
        .having(func.sum(both.c.on_hand) != func.sum(both.c.ledger))
    ).all()
    skus, codes = _names(session, {g[0] for g in gaps}, {g[1] for g in gaps})
    rows = []
    for p, w, on_hand, ledger, has_row, n in gaps:
        diff = int(on_hand) - int(ledger)
        last = session.execute(
            select(StockMovement.id, StockMovement.kind, StockMovement.qty_delta, StockMovement.at)
            .where(StockMovement.product_id == p, StockMovement.warehouse_id == w)
            .order_by(StockMovement.id.desc()).limit(1)).first()
        if not has_row:
            cause, detail, ref = "no_stock_row", f"{n} movements sum to {ledger} but the stock row is missing", None
        elif not n:
            cause, detail, ref = "no_movements", f"on_hand is {on_hand} with no ledger movement at all", None
        elif last is not None and -diff == last.qty_delta:
            cause, ref = "last_movement_not_applied", f"#{last.id}"
            detail = f"the newest movement #{last.id} ({last.kind} {last.qty_delta:+d} at {last.at}) is not in on_hand"
        else:
            cause, ref = "edited_outside_ledger", None
            detail = f"on_hand differs from the ledger by {diff:+d}: changed without a movement"
        rows.append(_row("ledger", skus.get(p), codes.get(w), ref, int(ledger), int(on_hand), cause, detail))
    return rows


def _reservations(session: Session) -> list[dict[str, Any]]:
    """Stock rows vs order lines, and closed orders still holding stock (named by number)."""
    closed = Order.status.in_(CLOSED)
    holding = (
        select(OrderLine.product_id, OrderLine.warehouse_id, Order.number, Order.status, OrderLine.qty_reserved)
        .join(Order, Order.id == OrderLine.order_id)
        .where(OrderLine.qty_reserved > 0)
        .subquery()
    )
    held = (select(holding.c.product_id.label("p"), holding.c.warehouse_id.label("w"), literal(0).label("reserved"),
                   func.sum(holding.c.qty_reserved).label("held"))
            .group_by(holding.c.product_id, holding.c.warehouse_id))
    levels = select(StockLevel.product_id, StockLevel.warehouse_id, StockLevel.reserved, literal(0)) \
        .where(StockLevel.reserved > 0)
    both = union_all(held, levels).subquery()
    gaps = session.execute(
        select(both.c.p, both.c.w, func.sum(both.c.reserved), func.sum(both.c.held))
        .group_by(both.c.p, both.c.w).having(func.sum(both.c.reserved) != func.sum(both.c.held))
    ).all()
    stale = session.execute(
        select(OrderLine.product_id, OrderLine.warehouse_id, Order.number, Order.status,
               func.sum(OrderLine.qty_reserved))
        .join(Order, Order.id == OrderLine.order_id)
        .where(closed, OrderLine.qty_reserved > 0)
        .group_by(OrderLine.product_id, OrderLine.warehouse_id, Order.number, Order.status)
    ).all()
    skus, codes = _names(session, {g[0] for g in gaps} | {s[0] for s in stale},
                         {g[1] for g in gaps} | {s[1] for s in stale})
    rows = [_row("closed_order", skus.get(p), codes.get(w), number, 0, int(qty), "closed_order_holds",
                 f"{number} is {status} but still holds {qty} reserved units")
            for p, w, number, status, qty in stale]
    for p, w, reserved, held_qty in gaps:
        cause = "reservation_without_order" if reserved > held_qty else "order_without_reservation"
        detail = (f"{reserved - held_qty} units are reserved that no order line holds (a release was lost)"
                  if reserved > held_qty else
                  f"order lines hold {held_qty - reserved} more units than the stock row has reserved")
        rows.append(_row("reserved", skus.get(p), codes.get(w), None, int(held_qty), int(reserved), cause, detail))
    return rows


def _open_orders(session: Session) -> list[dict[str, Any]]:
    """Orders in the warehouse must hold everything they still have to ship; backorders nothing."""
    outstanding = OrderLine.qty - OrderLine.qty_shipped
    found = session.execute(
        select(Order.number, Order.status, Product.sku, Warehouse.code, outstanding, OrderLine.qty_reserved)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .join(Product, Product.id == OrderLine.product_id)
        .join(Warehouse, Warehouse.id == OrderLine.warehouse_id)
        .where(((Order.status.in_(MUST_BE_RESERVED)) & (OrderLine.qty_reserved != outstanding))
               | ((Order.status == "backordered") & (OrderLine.qty_reserved > 0)))
        .order_by(Order.number, Product.sku)
    ).all()
    rows = []
    for number, status, sku, code, need, reserved in found:
        if status == "backordered":
            rows.append(_row("open_order", sku, code, number, 0, reserved, "backorder_holds_stock",
                             f"{number} is backordered yet holds {reserved} reserved units"))
        else:
            rows.append(_row("open_order", sku, code, number, need, reserved, "open_order_not_reserved",
                             f"{number} is {status} and must ship {need} but holds {reserved}"))
    return rows


def _transfers(session: Session) -> list[dict[str, Any]]:
    lines = (select(TransferLine.transfer_id, func.sum(TransferLine.qty_shipped).label("shipped"),
                    func.sum(TransferLine.qty_received).label("received"))
             .group_by(TransferLine.transfer_id).subquery())
    moves = (select(StockMovement.ref_id, func.sum(func.abs(StockMovement.qty_delta)).label("qty"),
                    StockMovement.kind)
             .where(StockMovement.ref_type == "transfer").group_by(StockMovement.ref_id, StockMovement.kind)
             .subquery())
    found = session.execute(
        select(Transfer.number, Transfer.status, lines.c.shipped, lines.c.received, moves.c.kind, moves.c.qty)
        .join(lines, lines.c.transfer_id == Transfer.id)
        .outerjoin(moves, moves.c.ref_id == Transfer.id)
        .where(Transfer.status.in_(TRANSFER_MOVED))
    ).all()
    booked: dict[tuple[str, str], int] = {}
    expected: dict[str, tuple[int, int]] = {}
    for number, _status, shipped, received, kind, qty in found:
        expected[number] = (int(shipped or 0), int(received or 0))
        if kind:
            booked[(number, kind)] = int(qty)
    rows = []
    for number, (shipped, received) in sorted(expected.items()):
        for kind, want in (("transfer_out", shipped), ("transfer_in", received)):
            have = booked.get((number, kind), 0)
            if have != want:
                rows.append(_row("transfer", None, None, number, want, have, f"{kind}_mismatch",
                                 f"{number}: lines say {want} but the ledger has {have} as {kind}"))
    return rows


def stock_report(session: Session) -> ReconcileReport:
    """Run every check in ``session`` and return the report (nothing stored, no permission
    asked: :mod:`core.services.reconciliation` is the service; :mod:`core.invariants` calls this
    directly)."""
    start = time.perf_counter()
    rows = _ledger(session) + _reservations(session) + _open_orders(session) + _transfers(session)
    movements = int(session.execute(select(func.count(StockMovement.id))).scalar_one())
    stock_rows = int(session.execute(select(func.count(StockLevel.id))).scalar_one())
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return ReconcileReport(utcnow(), round(time.perf_counter() - start, 3), movements, stock_rows, frame)
