"""Stock transfers between warehouses: draft → shipped → (partial →) received, or cancelled.

Why the steps are separate transactions: goods leave one warehouse on one day and arrive at
another days later. Shipping posts ``transfer_out`` movements (the source's on_hand drops at
once, so nobody sells units already on a truck); the units are *in transit* — counted by
:func:`core.analytics.inventory.in_transit` as shipped minus received on open transfers —
until receiving posts ``transfer_in`` at the destination and, in the same transaction, gives
the arrived units to waiting backorders (:func:`core.services.orders.reserve_backorders`).

A draft reserves nothing: creating one only checks that the source has the units *now* (so a
planner cannot draft the impossible); shipping is the decision and uses the ledger's
conditional update, which refuses to take units that have since been reserved by an order.
Receipts may be partial; a receipt can also close a transfer short when units were lost on
the way (the loss stays visible as shipped − received on the received transfer).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, aliased

from core import audit, refdata, stock
from core.db import read_only, unit_of_work
from core.domain.quantities import check_qty
from core.errors import (
    FieldIssue,
    IllegalTransition,
    InsufficientStock,
    NotFound,
    Shortage,
    ValidationError,
)
from core.models import Product, StockLevel, Transfer, TransferLine, Warehouse
from core.numbering import next_number
from core.permissions import Actor, require
from core.services.orders import lock_for_arrival, reserve_backorders
from core.timeutil import utcnow

STATUSES = ("draft", "shipped", "partial", "received", "cancelled")
OPEN_STATUSES = ("shipped", "partial")  # units on the way: shipped, not (fully) received
MAX_NOTE = 500


@dataclass(frozen=True)
class TransferLineInfo:
    id: int
    sku: str
    qty: int
    qty_shipped: int
    qty_received: int


@dataclass(frozen=True)
class TransferResult:
    """A transfer as it stands after the call (and the backorders its arrival released)."""

    id: int
    number: str
    status: str
    from_warehouse: str
    to_warehouse: str
    lines: tuple[TransferLineInfo, ...]
    released_orders: tuple[str, ...] = ()


# --- helpers ---------------------------------------------------------------------------------


def _load(session: Session, transfer_id: int) -> Transfer:
    """The transfer, its row locked (``FOR UPDATE``; the lock order's first step): a second
    ship or receipt racing this call waits, then sees its result and is refused by name."""
    transfer = session.execute(select(Transfer).where(Transfer.id == transfer_id).with_for_update()
                               ).scalar_one_or_none()
    if transfer is None:
        raise NotFound(f"no transfer {transfer_id}", transfer_id=transfer_id)
    return transfer


def _lines(session: Session, transfer_id: int) -> list[Any]:
    """The transfer's lines with their SKU, in product order (the stock-row locking order)."""
    return list(session.execute(
        select(TransferLine.id, TransferLine.product_id, TransferLine.qty, TransferLine.qty_shipped,
               TransferLine.qty_received, Product.sku)
        .join(Product, Product.id == TransferLine.product_id)
        .where(TransferLine.transfer_id == transfer_id)
        .order_by(TransferLine.product_id, TransferLine.id)
    ))


def _result(session: Session, transfer: Transfer, released: tuple[str, ...] = ()) -> TransferResult:
    codes = dict(session.execute(select(Warehouse.id, Warehouse.code).where(
        Warehouse.id.in_([transfer.from_warehouse_id, transfer.to_warehouse_id]))).all())
    lines = tuple(TransferLineInfo(r.id, r.sku, r.qty, r.qty_shipped, r.qty_received)
                  for r in _lines(session, transfer.id))
    return TransferResult(transfer.id, transfer.number, transfer.status, codes[transfer.from_warehouse_id],
                          codes[transfer.to_warehouse_id], lines, released)


def _validate_lines(session: Session, lines: list[tuple[str, int]], source_id: int | None,
                    source_code: str, issues: list[FieldIssue]) -> list[tuple[int, int]]:
    """``[(sku, qty)]`` → ``[(product_id, qty)]``; every problem is reported with its line."""
    if not lines:
        issues.append(FieldIssue("lines", "inv_issue.no_lines"))
        return []
    skus = sorted({str(sku or "").strip() for sku, _ in lines})
    products = dict(session.execute(select(Product.sku, Product.id).where(Product.sku.in_(skus))).all())
    available: dict[int, int] = {}
    if source_id is not None and products:
        available = dict(session.execute(
            select(StockLevel.product_id, StockLevel.on_hand - StockLevel.reserved).where(
                StockLevel.warehouse_id == source_id, StockLevel.product_id.in_(products.values()))).all())
    seen: set[str] = set()
    out: list[tuple[int, int]] = []
    for row, (raw_sku, raw_qty) in enumerate(lines, start=1):
        sku = str(raw_sku or "").strip()
        if not sku:
            issues.append(FieldIssue("sku", "issue.required", row))
            continue
        if sku not in products:
            issues.append(FieldIssue("sku", "issue.unknown_sku", row, sku, params={"sku": sku}))
            continue
        if sku in seen:
            issues.append(FieldIssue("sku", "inv_issue.listed_twice", row, sku, params={"sku": sku}))
            continue
        seen.add(sku)
        qty, qty_issues = check_qty(raw_qty, "qty", row)
        if qty is None:
            issues += qty_issues
            continue
        have = int(available.get(products[sku], 0))
        if source_id is not None and qty > have:
            issues.append(FieldIssue("qty", "inv_issue.only_available", row, qty,
                                     params={"n": have, "sku": sku, "warehouse": source_code}))
            continue
        out.append((products[sku], qty))
    return out


# --- writes ----------------------------------------------------------------------------------


@unit_of_work
def create_transfer(session: Session, from_warehouse: str, to_warehouse: str, lines: list[tuple[str, int]],
                    actor: Actor, note: str | None = None) -> TransferResult:
    """Draft a transfer of ``[(sku, qty)]`` from one active warehouse to another.

    Refused (ValidationError, nothing written) for unknown or identical warehouses, unknown or
    repeated SKUs, quantities that are not whole numbers > 0, or more than the source has
    available right now.
    """
    require(actor, "stock.transfer")
    warehouses = refdata.snapshot(session).warehouses
    issues: list[FieldIssue] = []
    source = warehouses.get((from_warehouse or "").strip())
    target = warehouses.get((to_warehouse or "").strip())
    if source is None:
        issues.append(FieldIssue("from_warehouse", "issue.unknown_value", params={"value": from_warehouse},
                                 value=from_warehouse))
    if target is None:
        issues.append(FieldIssue("to_warehouse", "issue.unknown_value", params={"value": to_warehouse},
                                 value=to_warehouse))
    if source is not None and target is not None and source.id == target.id:
        issues.append(FieldIssue("to_warehouse", "inv_issue.same_warehouse", value=to_warehouse))
    if note is not None and len(note) > MAX_NOTE:
        issues.append(FieldIssue("note", "issue.too_long", params={"n": MAX_NOTE}))
    products = _validate_lines(session, lines, source.id if source else None,
                               source.code if source else "", issues)
    if issues:
        raise ValidationError(issues)
    assert source is not None and target is not None
    transfer = Transfer(number=next_number(session, "TR"), from_warehouse_id=source.id, to_warehouse_id=target.id,
                        status="draft", created_at=utcnow(), created_by=actor.username,
                        note=(note or "").strip() or None)
    session.add(transfer)
    session.flush()
    session.add_all(TransferLine(transfer_id=transfer.id, product_id=pid, qty=qty, qty_shipped=0, qty_received=0)
                    for pid, qty in products)
    session.flush()
    audit.record(session, actor, "transfer.create", "transfer", transfer.number, after={
        "from": source.code, "to": target.code, "lines": [[sku, qty] for sku, qty in lines], "note": transfer.note})
    return _result(session, transfer)


@unit_of_work
def ship_transfer(session: Session, transfer_id: int, actor: Actor) -> TransferResult:
    """Send a draft: post ``transfer_out`` for every line; the units are then in transit.

    All or nothing: if any line's units are no longer available in the source (an order
    reserved them since the draft was made), InsufficientStock names each such line.
    """
    require(actor, "stock.transfer")
    transfer = _load(session, transfer_id)
    if transfer.status != "draft":
        raise IllegalTransition.coded("cc.transfer_not_shippable", number=transfer.number, status=transfer.status)
    source = session.execute(select(Warehouse.code).where(Warehouse.id == transfer.from_warehouse_id)).scalar_one()
    shortages: list[Shortage] = []
    for ln in _lines(session, transfer_id):
        ok = stock.post_movement(
            session, product_id=ln.product_id, warehouse_id=transfer.from_warehouse_id, qty_delta=-ln.qty,
            kind="transfer_out", actor=actor.username, reason=transfer.number, ref_type="transfer",
            ref_id=transfer.id)
        if not ok:
            shortages.append(Shortage(ln.sku, source, ln.qty,
                                      stock.available(session, ln.product_id, transfer.from_warehouse_id)))
    if shortages:
        raise InsufficientStock(shortages)
    session.execute(update(TransferLine).where(TransferLine.transfer_id == transfer_id)
                    .values(qty_shipped=TransferLine.qty))
    transfer.status, transfer.shipped_at = "shipped", utcnow()
    session.flush()
    audit.record(session, actor, "transfer.ship", "transfer", transfer.number, before={"status": "draft"},
                 after={"status": "shipped"})
    return _result(session, transfer)


@unit_of_work
def receive_transfer(session: Session, transfer_id: int, quantities: dict[int, int] | None, actor: Actor,
                     *, close_short: bool = False, note: str | None = None) -> TransferResult:
    """Book arrivals ``{transfer_line_id: qty}`` (None = everything still on the way).

    Posts ``transfer_in`` at the destination and re-reserves its backorders (priority, then
    age) in the same transaction. A partial receipt leaves the transfer ``partial``; it becomes
    ``received`` when every line has arrived, or at once with ``close_short`` (units lost in
    transit: recorded in the audit row, the rest is no longer counted as in transit).
    """
    require(actor, "stock.receive")
    transfer = _load(session, transfer_id)
    if transfer.status not in OPEN_STATUSES:
        raise IllegalTransition.coded("cc.transfer_not_receivable", number=transfer.number,
                                      status=transfer.status)
    lines = {ln.id: ln for ln in _lines(session, transfer_id)}
    if quantities is None:
        quantities = {lid: ln.qty_shipped - ln.qty_received for lid, ln in lines.items()}
    issues: list[FieldIssue] = []
    for row, (line_id, qty) in enumerate(sorted(quantities.items()), start=1):
        line = lines.get(line_id)
        if line is None:
            issues.append(FieldIssue("transfer_line", "inv_issue.not_on_document", row, line_id,
                                     params={"line": line_id, "number": transfer.number}))
        elif bad := check_qty(qty, "qty", row, allow_zero=True)[1]:
            issues += bad
        elif line.qty_received + qty > line.qty_shipped:
            issues.append(FieldIssue("qty", "inv_issue.over_receipt", row, qty, params={
                "sku": line.sku, "shipped": line.qty_shipped, "received": line.qty_received, "qty": qty}))
    if note is not None and len(note) > MAX_NOTE:
        issues.append(FieldIssue("note", "issue.too_long", params={"n": MAX_NOTE}))
    if not issues:
        quantities = {line_id: int(qty) for line_id, qty in quantities.items()}  # 5.0 from a grid → 5
    received = sum(quantities.values()) if not issues else 0
    if not issues and received == 0 and not close_short:
        issues.append(FieldIssue("qty", "inv_issue.nothing_to_receive"))
    if issues:
        raise ValidationError(issues)
    arrived: list[int] = []
    lock_for_arrival(session, [(lines[lid].product_id, transfer.to_warehouse_id) for lid, q in quantities.items() if q])
    for line_id in sorted(quantities, key=lambda lid: (lines[lid].product_id, lid)):
        qty = quantities[line_id]
        if qty == 0:
            continue
        line = lines[line_id]
        stock.post_movement(session, product_id=line.product_id, warehouse_id=transfer.to_warehouse_id,
                            qty_delta=qty, kind="transfer_in", actor=actor.username,
                            reason=note or transfer.number, ref_type="transfer", ref_id=transfer.id)
        session.execute(update(TransferLine).where(TransferLine.id == line_id)
                        .values(qty_received=TransferLine.qty_received + qty))
        arrived.append(line.product_id)
    outstanding = {lines[lid].sku: lines[lid].qty_shipped - lines[lid].qty_received - quantities.get(lid, 0)
                   for lid in lines}
    lost = {sku: n for sku, n in outstanding.items() if n > 0}
    before = transfer.status
    transfer.status = "received" if close_short or not lost else "partial"
    if transfer.status == "received":
        transfer.received_at = utcnow()
    session.flush()
    released = reserve_backorders(session, arrived, transfer.to_warehouse_id, actor) if arrived else []
    audit.record(session, actor, "transfer.receive", "transfer", transfer.number, before={"status": before},
                 after={"status": transfer.status, "received": {str(k): v for k, v in quantities.items()},
                        "lost_in_transit": lost if close_short else {}, "released_orders": released,
                        "note": note})
    return _result(session, transfer, tuple(released))


@unit_of_work
def cancel_transfer(session: Session, transfer_id: int, actor: Actor) -> TransferResult:
    """Drop a draft (nothing has moved yet); a shipped transfer must be received instead."""
    require(actor, "stock.transfer")
    transfer = _load(session, transfer_id)
    if transfer.status != "draft":
        raise IllegalTransition(f"transfer {transfer.number} is {transfer.status}; only a draft can be cancelled",
                                number=transfer.number)
    transfer.status = "cancelled"
    session.flush()
    audit.record(session, actor, "transfer.cancel", "transfer", transfer.number, before={"status": "draft"},
                 after={"status": "cancelled"})
    return _result(session, transfer)


# --- reads -----------------------------------------------------------------------------------

LIST_COLUMNS = ["id", "number", "status", "from_warehouse", "to_warehouse", "lines", "units", "units_shipped",
                "units_received", "created_at", "shipped_at", "received_at", "created_by", "note"]


@read_only
def list_transfers(session: Session, actor: Actor, *, statuses: list[str] | None = None,
                   warehouse: str | None = None, since: dt.datetime | None = None,
                   limit: int = 500) -> pd.DataFrame:
    """Transfers newest first with line/unit totals; ``warehouse`` matches either end."""
    require(actor, "stock.view")
    src, dst = aliased(Warehouse), aliased(Warehouse)
    totals = (
        select(TransferLine.transfer_id, func.count().label("lines"), func.sum(TransferLine.qty).label("units"),
               func.sum(TransferLine.qty_shipped).label("shipped"), func.sum(TransferLine.qty_received).label("received"))
        .group_by(TransferLine.transfer_id).subquery()
    )
    stmt = (
        select(Transfer.id, Transfer.number, Transfer.status, src.code, dst.code, totals.c.lines, totals.c.units,
               totals.c.shipped, totals.c.received, Transfer.created_at, Transfer.shipped_at, Transfer.received_at,
               Transfer.created_by, Transfer.note)
        .join(src, src.id == Transfer.from_warehouse_id)
        .join(dst, dst.id == Transfer.to_warehouse_id)
        .join(totals, totals.c.transfer_id == Transfer.id)
    )
    if statuses:
        stmt = stmt.where(Transfer.status.in_(statuses))
    if warehouse:
        stmt = stmt.where((src.code == warehouse) | (dst.code == warehouse))
    if since is not None:
        stmt = stmt.where(Transfer.created_at >= since)
    rows = session.execute(stmt.order_by(Transfer.created_at.desc(), Transfer.id.desc()).limit(limit)).all()
    return pd.DataFrame(rows, columns=LIST_COLUMNS)


@read_only
def transfer_detail(session: Session, transfer_id: int, actor: Actor) -> TransferResult:
    """One transfer with its lines (ids for :func:`receive_transfer`)."""
    require(actor, "stock.view")
    return _result(session, _load(session, transfer_id))
