"""Stock corrections and ad hoc receipts: single adjustments, cycle counts, approvals.

Every correction is a ``stock_adjustments`` row with its reason, and — once posted — one ledger
movement pointing back at it (``ref_type="adjustment"``), so the product's history shows who
changed the count, why, and who approved it.

An adjustment worth more than the ``adjustment_approval.amount`` setting (|Δ| × unit cost) waits
as ``pending`` for a manager unless the person entering it may approve. When the product's cost
is unknown the worth cannot be shown to be under the threshold, so the adjustment waits too (its
recorded value is 0). An adjustment of more units than ``adjustment_approval.units`` always
waits, and only *another* person may approve it — a manager's own large correction included:
nobody approves their own request. Quantities are bounded (``core.domain.quantities``: at most
10^6 per row, 10^9 per stock row) and the reason must fit the sign (``found`` cannot remove
stock, ``damage`` cannot add it). A cycle count posts all its differences in one transaction and
refuses a line whose system quantity changed since the sheet was opened: the difference would
otherwise be computed against a number nobody counted against.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pandas as pd
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from core import audit, barcodes, refdata, stock
from core.db import read_only, unit_of_work
from core.domain import quantities as q
from core.domain.quantities import REASON_CODES as REASON_CODES  # re-exported for the pages
from core.domain.rulebook import MAX_AMOUNT
from core.errors import FieldIssue, IllegalTransition, NotFound, Refused, ValidationError
from core.models import Product, StockAdjustment, StockLevel, Warehouse
from core.permissions import Actor, require
from core.refdata import WarehouseRef
from core.services import bins as bin_choice
from core.services.orders import lock_for_arrival, reserve_backorders
from core.timeutil import utcnow

DEFAULT_APPROVAL_AMOUNT = "2000.00"
MAX_NOTE = 500


@dataclass(frozen=True)
class AdjustmentResult:
    id: int
    reference: str
    status: str  # posted | pending | approved | rejected
    sku: str
    warehouse: str
    qty_delta: int
    value: Decimal
    released_orders: tuple[str, ...] = ()


@dataclass(frozen=True)
class CountLine:
    """One row of a count sheet: what the system showed (``expected``) and what was counted."""

    sku: str
    expected: int
    counted: int
    reason_code: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class CountResult:
    lines: int
    matched: int
    posted: tuple[AdjustmentResult, ...]
    pending: tuple[AdjustmentResult, ...]
    released_orders: tuple[str, ...]


@dataclass(frozen=True)
class AdhocReceipt:
    warehouse: str
    units: int
    lines: int
    released_orders: tuple[str, ...]


def reference(adjustment_id: int) -> str:
    """How people refer to an adjustment (also shown in the ledger history)."""
    return f"ADJ-{adjustment_id}"


# --- shared checks ---------------------------------------------------------------------------


def _warehouse(session: Session, code: str, issues: list[FieldIssue]) -> WarehouseRef | None:
    wh = refdata.snapshot(session).warehouses.get((code or "").strip())
    if wh is None:
        issues.append(FieldIssue("warehouse", "issue.unknown_value", value=code, params={"value": code}))
    return wh


def _products(session: Session, skus: list[str]) -> dict[str, tuple[int, Decimal | None]]:
    """sku → (id, unit cost or None when the cost is unknown)."""
    rows = session.execute(select(Product.sku, Product.id, Product.unit_cost).where(Product.sku.in_(set(skus))))
    return {sku: (pid, cost) for sku, pid, cost in rows}


def _note_issue(note: str | None, issues: list[FieldIssue], row: int | None = None) -> None:
    if note is not None and len(note) > MAX_NOTE:
        issues.append(FieldIssue("note", "issue.too_long", row, params={"n": MAX_NOTE}))


def _approval_amount(session: Session) -> Decimal:
    return Decimal(str(refdata.snapshot(session).setting("adjustment_approval", "amount", DEFAULT_APPROVAL_AMOUNT)))


def _approval_units(session: Session) -> int:
    return int(refdata.snapshot(session).setting("adjustment_approval", "units", q.DEFAULT_APPROVAL_UNITS))


def _waits(session: Session, delta: int, value: Decimal, actor: Actor, *, cost_known: bool = True) -> bool:
    """Does this change wait for approval? Above the size limit always (a second person
    decides); above the value limit — or of a product whose cost is unknown, which nobody can
    show to be under it — unless the person entering it may approve."""
    if abs(delta) > _approval_units(session):
        return True
    return (not cost_known or value > _approval_amount(session)) and not actor.can("stock.approve")


def _value(delta: int, cost: Decimal | None, field: str, issues: list[FieldIssue], row: int | None = None) -> Decimal:
    """|Δ| × unit cost (0 when the cost is unknown), which must fit a money column."""
    value = (abs(delta) * (cost or Decimal("0"))).quantize(Decimal("0.01"))
    if value > MAX_AMOUNT:
        issues.append(FieldIssue(field, "rb.value_too_large", row, delta, {"n": str(MAX_AMOUNT)}))
    return value


def _post(session: Session, adj_id: int, kind: str, product_id: int, warehouse_id: int, qty: int,
          reason: str, actor: Actor, sku: str, warehouse: str) -> int:
    """The adjustment's ledger movement; the stock on hand after it (read under the row lock the
    update took, so the audit's before/after is exact). The checks before it read the stock; the
    conditional update decides — if an order reserved the units in between, the whole call is refused."""
    posted = stock.post_movement(session, product_id=product_id, warehouse_id=warehouse_id, qty_delta=qty,
                                 kind=kind, actor=actor.username, reason=reason, ref_type="adjustment", ref_id=adj_id)
    on_hand, reserved = _level(session, product_id, warehouse_id)
    if not posted:
        raise ValidationError([_shortfall(sku, warehouse, on_hand, reserved, qty)])
    return on_hand


def _on_hand_change(on_hand_after: int | None, qty: int) -> tuple[dict[str, int], dict[str, int]]:
    """The audit's before/after of the stock on hand (nothing when no movement was posted)."""
    if on_hand_after is None:
        return {}, {}
    return {"on_hand": on_hand_after - qty}, {"on_hand": on_hand_after}


def _shortfall(sku: str, warehouse: str, on_hand: int, reserved: int, qty: int) -> FieldIssue:
    """Why removing ``-qty`` units is refused: it would leave fewer on hand than are reserved."""
    return FieldIssue("qty_delta", "inv_issue.reserved_shortfall", value=qty, params={
        "sku": sku, "warehouse": warehouse, "qty": -qty, "left": on_hand + qty, "reserved": reserved})


def _level(session: Session, product_id: int, warehouse_id: int) -> tuple[int, int]:
    row = session.execute(select(StockLevel.on_hand, StockLevel.reserved).where(
        StockLevel.product_id == product_id, StockLevel.warehouse_id == warehouse_id)).first()
    return (int(row.on_hand), int(row.reserved)) if row else (0, 0)


def _record(session: Session, *, kind: str, product_id: int, warehouse_id: int, qty: int, value: Decimal,
            reason_code: str, note: str | None, actor: Actor, pending: bool, expected: int | None = None,
            counted: int | None = None) -> int:
    now = utcnow()
    return session.execute(insert(StockAdjustment).values(
        kind=kind, product_id=product_id, warehouse_id=warehouse_id, qty_delta=qty, expected=expected,
        counted=counted, reason_code=reason_code, note=note, value=value,
        status="pending" if pending else "posted", requested_by=actor.username, requested_at=now,
        decided_by=None if pending else actor.username, decided_at=None if pending else now, decision_note=None,
    ).returning(StockAdjustment.id)).scalar_one()


# --- single adjustment -----------------------------------------------------------------------


@unit_of_work
def adjust_stock(session: Session, sku: str, warehouse: str, qty_delta: int, reason_code: str, actor: Actor,
                 note: str | None = None) -> AdjustmentResult:
    """Add (found) or remove (damage, loss…) units of one SKU in one warehouse, with a reason.

    Posted at once, or ``pending`` approval when worth more than the threshold. Removing units
    that are reserved for orders is refused (the orders would be promised stock that is gone).
    """
    require(actor, "stock.adjust")
    issues: list[FieldIssue] = []
    wh = _warehouse(session, warehouse, issues)
    sku = (sku or "").strip()
    sku = barcodes.to_skus(session, [sku]).get(sku, sku)  # a scanned barcode names its product
    product = _products(session, [sku]).get(sku)
    if product is None:
        issues.append(FieldIssue("sku", "issue.unknown_sku" if sku else "issue.required", value=sku, params={"sku": sku}))
    delta, qty_issues = q.check_qty(qty_delta, "qty_delta", signed=True)
    issues += qty_issues
    if delta is not None:
        issues += q.check_reason(reason_code, delta)
    _note_issue(note, issues)
    value = _value(delta, product[1], "qty_delta", issues) if delta is not None and product else Decimal(0)
    if not issues and wh is not None and product is not None and delta is not None:
        on_hand, reserved = _level(session, product[0], wh.id)
        issues += q.check_ceiling(on_hand, delta, "qty_delta", sku=sku)
        if on_hand + delta < reserved:
            issues.append(_shortfall(sku, wh.code, on_hand, reserved, delta))
    if issues:
        raise ValidationError(issues)
    assert wh is not None and product is not None and delta is not None
    qty_delta = delta
    product_id, cost = product
    pending = _waits(session, qty_delta, value, actor, cost_known=cost is not None)
    note = (note or "").strip() or None
    adj_id = _record(session, kind="adjustment", product_id=product_id, warehouse_id=wh.id, qty=qty_delta,
                     value=value, reason_code=reason_code, note=note, actor=actor, pending=pending)
    released: list[str] = []
    on_hand_after: int | None = None
    if not pending:
        if qty_delta > 0:
            lock_for_arrival(session, [(product_id, wh.id)])
        on_hand_after = _post(session, adj_id, "adjustment", product_id, wh.id, qty_delta, reason_code, actor, sku, wh.code)
        if qty_delta > 0:
            released = reserve_backorders(session, [product_id], wh.id, actor)
    result = AdjustmentResult(adj_id, reference(adj_id), "pending" if pending else "posted", sku, wh.code,
                              qty_delta, value, tuple(released))
    before, after = _on_hand_change(on_hand_after, qty_delta)
    audit.record(session, actor, "stock.adjust", "stock_adjustment", reference(adj_id), before=before or None, after={
        "sku": sku, "warehouse": wh.code, "qty_delta": qty_delta, "reason": reason_code, "value": value,
        "status": result.status, "note": note, "released_orders": released, **after})
    return result


# --- cycle count -----------------------------------------------------------------------------


@unit_of_work
def post_count(session: Session, warehouse: str, lines: list[CountLine], actor: Actor) -> CountResult:
    """Post a cycle count sheet for one warehouse in one transaction.

    Each line's difference (counted − expected) becomes a ``count`` movement with its reason, or
    waits for approval when worth more than the threshold. Refused as a whole (ValidationError
    naming line and field) for negative or non-whole counts, unknown or repeated SKUs, a missing
    reason where a difference exists, a count below what is reserved for orders, or a system
    quantity that moved since the sheet was opened (reload and recount those lines).
    """
    require(actor, "stock.adjust")
    issues: list[FieldIssue] = []
    wh = _warehouse(session, warehouse, issues)
    if not lines:
        issues.append(FieldIssue("lines", "inv_issue.empty_sheet"))
    products = _products(session, [str(ln.sku or "").strip() for ln in lines])
    levels: dict[int, tuple[int, int]] = {}
    if wh is not None and products:
        levels = {pid: (int(oh), int(rs)) for pid, oh, rs in session.execute(
            select(StockLevel.product_id, StockLevel.on_hand, StockLevel.reserved).where(
                StockLevel.warehouse_id == wh.id, StockLevel.product_id.in_([p for p, _ in products.values()])))}
    seen: set[str] = set()
    diffs: list[tuple[CountLine, int, Decimal, int, bool]] = []  # line, product id, value, delta, cost known
    for row, ln in enumerate(lines, start=1):
        sku = str(ln.sku or "").strip()
        if sku not in products:
            issues.append(FieldIssue("sku", "issue.unknown_sku" if sku else "issue.required", row, sku, params={"sku": sku}))
            continue
        if sku in seen:
            issues.append(FieldIssue("sku", "inv_issue.listed_twice", row, sku, params={"sku": sku}))
            continue
        seen.add(sku)
        counted, count_issues = q.check_qty(ln.counted, "counted", row, allow_zero=True)
        if counted is None:
            issues += count_issues
            continue
        pid, cost = products[sku]
        on_hand, reserved = levels.get(pid, (0, 0))
        if ln.expected != on_hand:
            issues.append(FieldIssue("expected", "inv_issue.stale_sheet", row, ln.expected,
                                     params={"sku": sku, "was": ln.expected, "now": on_hand}))
            continue
        delta = counted - on_hand
        _note_issue(ln.note, issues, row)
        if delta == 0:
            continue
        reason_issues = q.check_reason(ln.reason_code, delta, row=row)
        if reason_issues:
            issues += reason_issues
            continue
        if counted < reserved:
            issues.append(FieldIssue("counted", "inv_issue.counted_below_reserved", row, ln.counted,
                                     params={"sku": sku, "counted": ln.counted, "reserved": reserved}))
            continue
        diffs.append((ln, pid, _value(delta, cost, "counted", issues, row), delta, cost is not None))
    if issues:
        raise ValidationError(issues)
    assert wh is not None
    posted: list[AdjustmentResult] = []
    pending: list[AdjustmentResult] = []
    arrived: list[int] = []
    lock_for_arrival(session, [(pid, wh.id) for _, pid, _, delta, _ in diffs if delta > 0],
                     also=[(pid, wh.id) for _, pid, *_ in diffs])
    for ln, pid, value, delta, cost_known in sorted(diffs, key=lambda d: d[1]):  # stock rows in product order
        waits = _waits(session, delta, value, actor, cost_known=cost_known)
        note = (ln.note or "").strip() or None
        adj_id = _record(session, kind="count", product_id=pid, warehouse_id=wh.id, qty=delta, value=value,
                         reason_code=str(ln.reason_code), note=note, actor=actor, pending=waits,
                         expected=ln.expected, counted=ln.expected + delta)
        result = AdjustmentResult(adj_id, reference(adj_id), "pending" if waits else "posted", ln.sku.strip(),
                                  wh.code, delta, value)
        if waits:
            pending.append(result)
            continue
        _post(session, adj_id, "count", pid, wh.id, delta, str(ln.reason_code), actor, result.sku, wh.code)
        posted.append(result)
        if delta > 0:
            arrived.append(pid)
    released = reserve_backorders(session, arrived, wh.id, actor) if arrived else []
    summary = CountResult(len(lines), len(lines) - len(diffs), tuple(posted), tuple(pending), tuple(released))
    audit.record(session, actor, "stock.count", "warehouse", wh.code, after={
        "lines": len(lines), "matched": summary.matched,
        "posted": [[r.reference, r.sku, r.qty_delta] for r in posted],
        "pending": [[r.reference, r.sku, r.qty_delta] for r in pending], "released_orders": released})
    return summary


# --- approvals -------------------------------------------------------------------------------


@unit_of_work
def decide_adjustment(session: Session, adjustment_id: int, approve: bool, actor: Actor,
                      note: str | None = None) -> AdjustmentResult:
    """Approve (post the movement now) or reject a pending adjustment.

    Approving needs a second person: whoever requested the adjustment cannot approve it (they
    may still reject, i.e. withdraw, it).

    Approval re-checks the stock: if the units to remove are meanwhile reserved for orders the
    approval is refused and the request stays pending.
    """
    require(actor, "stock.approve")
    adj = session.execute(select(StockAdjustment).where(StockAdjustment.id == adjustment_id)).scalar_one_or_none()
    if adj is None:
        raise NotFound(f"no adjustment {adjustment_id}", adjustment_id=adjustment_id)
    ref = reference(adj.id)
    if adj.status != "pending":
        raise IllegalTransition(f"{ref} is {adj.status}; only pending adjustments can be decided", number=ref)
    if approve and adj.requested_by == actor.username:
        raise Refused("rb.own_request", reference=ref)
    issues: list[FieldIssue] = []
    _note_issue(note, issues)
    sku = session.execute(select(Product.sku).where(Product.id == adj.product_id)).scalar_one()
    code = session.execute(select(Warehouse.code).where(Warehouse.id == adj.warehouse_id)).scalar_one()
    if approve and not issues and adj.qty_delta < 0:
        on_hand, reserved = _level(session, adj.product_id, adj.warehouse_id)
        if on_hand + adj.qty_delta < reserved:
            issues.append(_shortfall(sku, code, on_hand, reserved, adj.qty_delta))
    if issues:
        raise ValidationError(issues)
    released: list[str] = []
    on_hand_after: int | None = None
    if approve:
        if adj.qty_delta > 0:
            lock_for_arrival(session, [(adj.product_id, adj.warehouse_id)])
        on_hand_after = _post(session, adj.id, adj.kind, adj.product_id, adj.warehouse_id, adj.qty_delta,
                              adj.reason_code, actor, sku, code)
        if adj.qty_delta > 0:
            released = reserve_backorders(session, [adj.product_id], adj.warehouse_id, actor)
    status = "approved" if approve else "rejected"
    session.execute(update(StockAdjustment).where(StockAdjustment.id == adj.id).values(
        status=status, decided_by=actor.username, decided_at=utcnow(), decision_note=(note or "").strip() or None))
    before, after = _on_hand_change(on_hand_after, adj.qty_delta)
    audit.record(session, actor, f"stock.adjust_{status}", "stock_adjustment", ref,
                 before={"status": "pending", **before},
                 after={"status": status, "note": note, "released_orders": released, **after})
    return AdjustmentResult(adj.id, ref, status, sku, code, adj.qty_delta, adj.value, tuple(released))


ADJUSTMENT_COLUMNS = ["id", "reference", "requested_at", "kind", "sku", "name", "warehouse", "qty_delta",
                      "expected", "counted", "reason_code", "value", "status", "requested_by", "decided_by",
                      "decided_at", "note", "decision_note"]


@read_only
def list_adjustments(session: Session, actor: Actor, *, statuses: list[str] | None = None,
                     warehouse: str | None = None, limit: int = 500) -> pd.DataFrame:
    """Adjustments newest first; the value column only for roles that may see costs."""
    require(actor, "stock.view")
    stmt = (
        select(StockAdjustment.id, StockAdjustment.requested_at, StockAdjustment.kind, Product.sku, Product.name,
               Warehouse.code, StockAdjustment.qty_delta, StockAdjustment.expected, StockAdjustment.counted,
               StockAdjustment.reason_code, StockAdjustment.value, StockAdjustment.status,
               StockAdjustment.requested_by, StockAdjustment.decided_by, StockAdjustment.decided_at,
               StockAdjustment.note, StockAdjustment.decision_note)
        .join(Product, Product.id == StockAdjustment.product_id)
        .join(Warehouse, Warehouse.id == StockAdjustment.warehouse_id)
        .order_by(StockAdjustment.requested_at.desc(), StockAdjustment.id.desc()).limit(limit)
    )
    if statuses:
        stmt = stmt.where(StockAdjustment.status.in_(statuses))
    if warehouse:
        stmt = stmt.where(Warehouse.code == warehouse)
    columns = [c for c in ADJUSTMENT_COLUMNS if c != "reference"]
    frame = pd.DataFrame(session.execute(stmt).all(), columns=columns)
    frame.insert(1, "reference", [reference(int(i)) for i in frame["id"]])
    return frame if actor.can("cost.view") else frame.drop(columns=["value"])


# --- ad hoc goods receipt --------------------------------------------------------------------


@unit_of_work
def receive_adhoc(session: Session, warehouse: str, lines: list[tuple[str, int]], actor: Actor,
                  note: str | None = None, bins: list[str | None] | None = None) -> AdhocReceipt:
    """Book goods that arrived without a purchase order (a supplier's extra delivery, stock
    brought from a store): ``receipt`` movements, then waiting backorders get the units. Where
    the warehouse uses bins, line i goes into ``bins[i]`` or the product's home bin."""
    require(actor, "stock.receive")
    issues: list[FieldIssue] = []
    wh = _warehouse(session, warehouse, issues)
    if not lines:
        issues.append(FieldIssue("lines", "inv_issue.nothing_to_receive"))
    typed = [str(code or "").strip() for code, _ in lines]
    scanned = barcodes.to_skus(session, typed)  # a line may give a barcode instead of the SKU
    lines = [(scanned.get(code, code), qty) for code, (_, qty) in zip(typed, lines, strict=True)]
    products = _products(session, [sku for sku, _ in lines])
    seen: set[str] = set()
    todo: list[tuple[int, int]] = []
    rows: dict[int, int] = {}  # product id → row
    for row, (raw, qty) in enumerate(lines, start=1):
        sku = str(raw or "").strip()
        if sku not in products:
            issues.append(FieldIssue("sku", "issue.unknown_sku" if sku else "issue.required", row, sku, params={"sku": sku}))
        elif sku in seen:
            issues.append(FieldIssue("sku", "inv_issue.listed_twice", row, sku, params={"sku": sku}))
        else:
            good, qty_issues = q.check_qty(qty, "qty", row)
            issues += qty_issues
            if good is not None:
                seen.add(sku)
                todo.append((products[sku][0], good))
                rows[products[sku][0]] = row
                on_hand, _ = _level(session, products[sku][0], wh.id) if wh is not None else (0, 0)
                issues += q.check_ceiling(on_hand, good, "qty", row, sku)
    _note_issue(note, issues)
    wanted = dict(enumerate(bins or [], start=1))  # row → bin code typed
    putaway = {} if wh is None else bin_choice.putaway_bins(session, wh.id, [
        (row, str(lines[row - 1][0]).strip(), wanted.get(row)) for row in rows.values()], issues)
    if issues:
        raise ValidationError(issues)
    assert wh is not None
    note = (note or "").strip() or None
    lock_for_arrival(session, [(pid, wh.id) for pid, _ in todo])
    for pid, qty in sorted(todo):
        stock.post_movement(session, product_id=pid, warehouse_id=wh.id, qty_delta=qty, kind="receipt",
                            actor=actor.username, reason=note or "ad hoc receipt", ref_type="adhoc",
                            bin_id=putaway.get(rows[pid]))
    released = reserve_backorders(session, [pid for pid, _ in todo], wh.id, actor)
    units = sum(q for _, q in todo)
    audit.record(session, actor, "stock.receive_adhoc", "warehouse", wh.code, after={
        "lines": [[sku, qty] for sku, qty in lines], "note": note, "released_orders": released})
    return AdhocReceipt(wh.code, units, len(todo), tuple(released))
