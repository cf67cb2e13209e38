"""Stock primitives shared by every service that moves goods: reserve, release, ship, post.

Every change is a single conditional UPDATE whose WHERE clause carries the invariant, so a
concurrent writer can never oversell: two clerks racing for the last unit both run
``reserved = reserved + q WHERE on_hand - reserved >= q`` and exactly one matches a row.
Reading "available" first and writing afterwards is never done here — under concurrency that
oversells.

Lock order — the rule every transaction that touches more than one stock row follows, so
concurrent transactions on PostgreSQL cannot deadlock:

1. the document being acted on first (order, purchase order, transfer, RMA: its row is
   updated or ``SELECT … FOR UPDATE``-ed before any stock row);
2. then stock rows in ascending (product_id, warehouse_id) order — either by touching them in
   that order (an order's lines, a transfer's lines) or, when the path would otherwise touch
   row A and later a smaller row B (an arrival that then releases backorders needing other
   products), by calling :func:`lock_rows` with every row it will touch before changing any.

On SQLite ``BEGIN IMMEDIATE`` already serialises writers and :func:`lock_rows` does nothing.
A deadlock that still happens (a row added by a concurrent commit after the locks were taken)
is detected by the server and the unit of work re-runs the whole transaction
(:func:`core.db.unit_of_work`).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, bindparam, insert, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core import kits
from core.db import rowcount
from core.domain.quantities import MAX_ON_HAND
from core.errors import Refused
from core.models import MovementBin, StockLevel, StockMovement
from core.timeutil import utcnow

_T = StockLevel.__table__
_KEY = and_(_T.c.product_id == bindparam("p"), _T.c.warehouse_id == bindparam("w"))
_RESERVE = update(_T).where(_KEY, _T.c.on_hand - _T.c.reserved >= bindparam("q")).values(
    reserved=_T.c.reserved + bindparam("q"))
_RELEASE = update(_T).where(_KEY, _T.c.reserved >= bindparam("q")).values(reserved=_T.c.reserved - bindparam("q"))


def reserve(session: Session, product_id: int, warehouse_id: int, qty: int) -> bool:
    """Reserve ``qty`` if available; False (and nothing changed) otherwise."""
    result = session.connection().execute(_RESERVE, {"p": product_id, "w": warehouse_id, "q": qty})
    return result.rowcount == 1


def release(session: Session, product_id: int, warehouse_id: int, qty: int) -> None:
    """Give back a reservation (cancel, backorder, re-allocation)."""
    result = session.connection().execute(_RELEASE, {"p": product_id, "w": warehouse_id, "q": qty})
    if result.rowcount != 1:
        raise RuntimeError(f"reservation of {qty} for product {product_id} in warehouse {warehouse_id} is missing")


def available(session: Session, product_id: int, warehouse_id: int) -> int:
    """Current on_hand − reserved (for messages and display only, never for the decision)."""
    row = session.execute(
        select(StockLevel.on_hand - StockLevel.reserved).where(
            StockLevel.product_id == product_id, StockLevel.warehouse_id == warehouse_id
        )
    ).scalar_one_or_none()
    return int(row or 0)


def ensure_level(session: Session, product_id: int, warehouse_id: int) -> None:
    """Create the stock row (zero stock) if this product was never stocked in this warehouse.

    ``INSERT … ON CONFLICT DO NOTHING``: two first receipts of a pair racing each other both
    go on (the second waits for the first's row) instead of one failing on the unique key.
    """
    exists = session.execute(
        select(StockLevel.id).where(StockLevel.product_id == product_id, StockLevel.warehouse_id == warehouse_id)
    ).first()
    if exists is None:
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        session.execute(dialect.insert(_T).values(product_id=product_id, warehouse_id=warehouse_id, on_hand=0,
                                                  reserved=0).on_conflict_do_nothing())


LOCK_CHUNK = 500  # (product, warehouse) pairs per locking SELECT


def lock_rows(session: Session, keys: Iterable[tuple[int, int]]) -> None:
    """Take the locks of the stock rows ``(product_id, warehouse_id)`` in that order, before a
    path that would otherwise lock them out of order changes any (see the module's rule).

    PostgreSQL: one ``SELECT … ORDER BY product_id, warehouse_id FOR UPDATE`` — the rows are
    locked as the sorted scan returns them. Rows that do not exist yet are not created here:
    nobody else can hold them, and :func:`ensure_level` inserts them when they are first
    touched. Locking a row this transaction already holds is free, so calling it twice with
    overlapping keys is harmless. SQLite: nothing to do, ``BEGIN IMMEDIATE`` holds the only
    write lock.
    """
    wanted = sorted(set(keys))
    if not wanted or session.get_bind().dialect.name == "sqlite":
        return
    # Sorted chunks keep the one lock order; one IN list of thousands of row values would make
    # the server's parser recurse past max_stack_depth (a large stock import did).
    for start in range(0, len(wanted), LOCK_CHUNK):
        session.execute(
            select(_T.c.id).where(tuple_(_T.c.product_id, _T.c.warehouse_id).in_(wanted[start:start + LOCK_CHUNK]))
            .order_by(_T.c.product_id, _T.c.warehouse_id).with_for_update()
        ).all()


def post_movement(
    session: Session,
    *,
    product_id: int,
    warehouse_id: int,
    qty_delta: int,
    kind: str,
    actor: str,
    reason: str | None = None,
    ref_type: str | None = None,
    ref_id: int | None = None,
    consume_reserved: bool = False,
    bin_id: int | None = None,
) -> bool:
    """Append a ledger movement and apply it to on_hand in the same transaction.

    A negative movement only applies if it leaves on_hand ≥ reserved (or, with
    ``consume_reserved``, takes the same units out of the reservation — a shipment). Returns
    False when the stock is not there; the caller turns that into a clear error. A positive
    movement that would take on_hand past ``MAX_ON_HAND`` is refused (services check it first
    with the SKU named; this is the guard no caller can skip), and so is one for a kit, which
    holds no stock of its own (:func:`core.kits.refuse_stock`). ``bin_id``: the bin the units
    went into (a putaway), kept in ``movement_bins`` beside the ledger row.
    """
    if qty_delta == 0:
        return True
    if qty_delta > 0:
        kits.refuse_stock(session, product_id)
    ensure_level(session, product_id, warehouse_id)
    key = and_(StockLevel.product_id == product_id, StockLevel.warehouse_id == warehouse_id)
    if consume_reserved:
        stmt = (
            update(StockLevel)
            .where(key, StockLevel.reserved >= -qty_delta, StockLevel.on_hand >= -qty_delta)
            .values(on_hand=StockLevel.on_hand + qty_delta, reserved=StockLevel.reserved + qty_delta)
        )
    elif qty_delta > 0:  # the ceiling keeps every sum of quantities far from overflowing
        stmt = (
            update(StockLevel)
            .where(key, StockLevel.on_hand <= MAX_ON_HAND - qty_delta)
            .values(on_hand=StockLevel.on_hand + qty_delta)
        )
    else:
        stmt = (
            update(StockLevel)
            .where(key, StockLevel.on_hand + qty_delta >= StockLevel.reserved)
            .values(on_hand=StockLevel.on_hand + qty_delta)
        )
    if rowcount(session.execute(stmt)) != 1:
        if qty_delta > 0:
            raise Refused("rb.on_hand_ceiling", sku=f"#{product_id}", on_hand=f"> {MAX_ON_HAND - qty_delta:,}",
                          n=f"{MAX_ON_HAND:,}")
        return False
    movement = insert(StockMovement).values(
        at=utcnow(),
        product_id=product_id,
        warehouse_id=warehouse_id,
        qty_delta=qty_delta,
        kind=kind,
        reason=reason,
        ref_type=ref_type,
        ref_id=ref_id,
        actor=actor,
    )
    if bin_id is None:
        session.execute(movement)
    else:
        movement_id = session.execute(movement.returning(StockMovement.id)).scalar_one()
        session.execute(insert(MovementBin).values(movement_id=movement_id, bin_id=bin_id))
    return True
