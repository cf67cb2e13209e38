"""Backorders: lock what an arrival touches in the one lock order, then give the arrived stock
to waiting backorders (priority, then age)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import stock
from core.db import is_sqlite
from core.errors import (
    InsufficientStock,
    Message,
)
from core.models import (
    Order,
    OrderLine,
)
from core.permissions import SYSTEM, Actor
from core.services.orders.lifecycle import transition

# --- backorders ------------------------------------------------------------------------------


def _waiting_backorders(product_ids: list[int], warehouse_id: int) -> Any:
    """Backordered orders with a line for one of ``product_ids`` in ``warehouse_id``, in the
    order they are served: highest priority first, then oldest."""
    o, ol = Order.__table__, OrderLine.__table__
    return select(o.c.id, o.c.number).where(
        o.c.status == "backordered",
        o.c.id.in_(select(ol.c.order_id).where(ol.c.product_id.in_(product_ids), ol.c.warehouse_id == warehouse_id)),
    ).order_by(o.c.priority.desc(), o.c.placed_at, o.c.id)


def lock_orders_and_stock(session: Session, order_ids: Iterable[int],
                          stock_keys: Iterable[tuple[int, int]] = ()) -> None:
    """Lock several orders and every stock row they (and ``stock_keys``) touch, in the one lock
    order: the order rows by id, then the stock rows by (product, warehouse) — for a path that
    would otherwise interleave them (a bulk shipment: order 1's rows, then order 2's smaller
    ones). PostgreSQL only; on SQLite the transaction holds the one write lock already."""
    if is_sqlite(session):
        return
    ids, keys = sorted(set(order_ids)), set(stock_keys)
    if ids:
        session.execute(select(Order.id).where(Order.id.in_(ids)).order_by(Order.id).with_for_update()).all()
        keys |= {(p, w) for p, w in session.execute(select(OrderLine.product_id, OrderLine.warehouse_id)
                                                    .where(OrderLine.order_id.in_(ids))) if w is not None}
    stock.lock_rows(session, keys)


def lock_for_arrival(session: Session, arrivals: Iterable[tuple[int, int]],
                     also: Iterable[tuple[int, int]] = ()) -> None:
    """Before an arrival changes any stock: lock what it will touch, in the one lock order.

    An arrival (goods receipt, transfer in, count or adjustment up, return restock) raises the
    arrived ``(product, warehouse)`` rows and then releases backorders, whose other lines are
    other stock rows — possibly smaller ones than the arrived row, which new orders lock first:
    done naively, the two deadlock. So the waiting backorders and every stock row of the arrival
    and of their lines are locked first (:func:`lock_orders_and_stock`), together with ``also``:
    the other stock rows the same transaction will change (a count sheet's decreases).
    """
    wanted = set(arrivals)
    if not wanted or is_sqlite(session):
        return
    by_warehouse: dict[int, set[int]] = {}
    for product_id, warehouse_id in wanted:
        by_warehouse.setdefault(warehouse_id, set()).add(product_id)
    waiting = {oid for wh, pids in by_warehouse.items()
               for oid, _ in session.execute(_waiting_backorders(sorted(pids), wh))}
    lock_orders_and_stock(session, waiting, wanted | set(also))


def reserve_backorders(session: Session, product_ids: list[int], warehouse_id: int, actor: Actor) -> list[str]:
    """Give newly arrived stock to waiting backorders: highest priority first, then oldest.

    Called inside the arrival's transaction (goods receipt, transfer in, return restock), so
    stock and the orders it releases commit together; the caller has locked the rows with
    :func:`lock_for_arrival` before posting the arrival. Each order is confirmed only if *all*
    its lines can be reserved (a savepoint undoes a partial attempt); an order that cannot be
    served yet does not block a smaller one behind it. Returns the confirmed order numbers.
    """
    # Again here: a backorder committed since the caller's lock (held rows cost nothing).
    lock_for_arrival(session, [(pid, warehouse_id) for pid in product_ids])
    waiting = session.execute(_waiting_backorders(product_ids, warehouse_id)).all()
    confirmed: list[str] = []
    for order_id, number in waiting:
        try:
            with session.begin_nested():
                # The release is the system's rule, not the receiving clerk's decision (a
                # warehouse role may not confirm orders), so it runs as SYSTEM and says who
                # brought the stock in.
                transition(order_id, "confirmed", SYSTEM, note=Message("note.stock_arrived", {"user": actor.username}),
                           session=session)
        except InsufficientStock:
            continue
        confirmed.append(number)
    return confirmed
