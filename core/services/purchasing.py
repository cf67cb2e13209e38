"""Purchase orders: draft → sent → partial → received (or cancelled), and goods receipt.

Drafts come from accepted replenishment suggestions (``core.services.replenishment``) or are
made by hand; a draft can be edited until it is sent. Cancelling a sent or partly received
order says the rest will not come, so it stops counting as "on order" for replenishment.

Receiving posts ``receipt`` movements to the ledger, advances ``po_lines.qty_received`` (never
beyond what was ordered — a second receipt of the same line is refused past its quantity) and
gives the arrived stock to waiting backorders, all in one transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from core import audit, stock
from core.db import read_only, unit_of_work
from core.domain.quantities import check_qty
from core.domain.rulebook import parse_amount
from core.errors import FieldIssue, IllegalTransition, NotFound, ValidationError
from core.models import POLine, Product, PurchaseOrder, Supplier, Warehouse
from core.numbering import next_number
from core.permissions import Actor, require
from core.services import bins as bin_choice
from core.services.orders import lock_for_arrival, reserve_backorders
from core.timeutil import utcnow

RECEIVABLE_STATUSES = ("sent", "partial")
PO_STATUSES = ("draft", "sent", "partial", "received", "cancelled")
OPEN_PO_STATUSES = ("draft", "sent", "partial")  # what replenishment counts as on order
CANCELLABLE_STATUSES = ("draft", "sent", "partial")
MAX_NOTE = 500


@dataclass(frozen=True)
class ReceiptResult:
    po_number: str
    status: str
    received_units: int
    released_orders: tuple[str, ...]


@unit_of_work
def receive_po(session: Session, po_id: int, quantities: dict[int, int], actor: Actor,
               note: str | None = None, bins: dict[int, str] | None = None) -> ReceiptResult:
    """Receive ``{po_line_id: qty}`` into the PO's warehouse; partial receipts allowed. Where the
    warehouse uses bins each line is put away into ``bins[po_line_id]`` or the product's home
    bin (``core.services.bins``)."""
    require(actor, "stock.receive")
    # The PO row first (lock order): a second receipt racing this one waits here and then
    # sees what this one received, instead of failing on the lines' CHECK constraint.
    po = _load_po(session, po_id)
    if po.status not in RECEIVABLE_STATUSES:
        raise IllegalTransition.coded("cc.po_not_receivable", number=po.number, status=po.status)
    lines = {ln.id: ln for ln in session.execute(select(POLine).where(POLine.po_id == po_id)).scalars()}
    skus = dict(session.execute(select(Product.id, Product.sku).where(
        Product.id.in_([ln.product_id for ln in lines.values()]))).all())
    issues = []
    for row, (line_id, qty) in enumerate(sorted(quantities.items()), start=1):
        line = lines.get(line_id)
        if line is None:
            issues.append(FieldIssue("po_line", "inv_issue.not_on_document", row, line_id,
                                     params={"line": line_id, "number": po.number}))
        elif bad := check_qty(qty, "qty", row, allow_zero=True)[1]:
            issues += bad
        elif line.qty_received + qty > line.qty_ordered:
            issues.append(FieldIssue("qty", "plan.issue_over_receipt", row, qty, params={
                "sku": skus[line.product_id], "ordered": line.qty_ordered, "received": line.qty_received, "qty": qty}))
    if issues:
        raise ValidationError(issues)
    quantities = {line_id: int(qty) for line_id, qty in quantities.items()}  # 5.0 from a grid → 5
    rows = {line_id: row for row, line_id in enumerate(sorted(quantities), start=1)}
    putaway = bin_choice.putaway_bins(session, po.warehouse_id, [
        (rows[line_id], skus[lines[line_id].product_id], (bins or {}).get(line_id))
        for line_id, qty in quantities.items() if qty], issues)
    if issues:
        raise ValidationError(issues)
    received = 0
    arrived: list[int] = []
    lock_for_arrival(session, [(lines[lid].product_id, po.warehouse_id) for lid, q in quantities.items() if q])
    for line_id, qty in sorted(quantities.items(), key=lambda kv: (lines[kv[0]].product_id, kv[0])):
        if qty == 0:
            continue
        line = lines[line_id]
        stock.post_movement(session, product_id=line.product_id, warehouse_id=po.warehouse_id, qty_delta=qty,
                            kind="receipt", actor=actor.username, reason=note or po.number, ref_type="po",
                            ref_id=po.id, bin_id=putaway.get(rows[line_id]))
        session.execute(update(POLine).where(POLine.id == line_id).values(qty_received=POLine.qty_received + qty))
        received += qty
        arrived.append(line.product_id)
    if received == 0:
        raise ValidationError([FieldIssue("qty", "inv_issue.nothing_to_receive")])
    session.flush()
    complete = all(ln.qty_received >= ln.qty_ordered for ln in
                   session.execute(select(POLine).where(POLine.po_id == po_id)).scalars())
    before = po.status
    po.status = "received" if complete else "partial"
    if complete:
        po.received_at = utcnow()
    released = reserve_backorders(session, arrived, po.warehouse_id, actor)
    audit.record(session, actor, "po.receive", "purchase_order", po.number, before={"status": before},
                 after={"status": po.status, "received": _by_sku(quantities, lines, skus), "released_orders": released})
    return ReceiptResult(po.number, po.status, received, tuple(released))


# --- drafting, editing, sending, cancelling --------------------------------------------------


@dataclass(frozen=True)
class POLineInput:
    """One line of a new purchase order (``unit_cost`` defaults to the product's cost)."""

    product_id: int
    qty: int
    unit_cost: Decimal | None = None
    suggestion_id: int | None = None


@dataclass(frozen=True)
class POInfo:
    id: int
    number: str
    status: str
    supplier: str
    warehouse: str
    total: Decimal
    lines: int


def _by_sku(quantities: dict[int, int], lines: dict[int, POLine], skus: dict[int, str]) -> dict[str, int]:
    """Units received per SKU (the audit names products, not line ids)."""
    out: dict[str, int] = {}
    for line_id, qty in quantities.items():
        if qty:
            sku = skus[lines[line_id].product_id]
            out[sku] = out.get(sku, 0) + qty
    return out


def _load_po(session: Session, po_id: int) -> PurchaseOrder:
    """The PO with its row locked, so an edit, send or cancel racing a receipt sees its result."""
    po = session.execute(select(PurchaseOrder).where(PurchaseOrder.id == po_id).with_for_update()
                         ).scalar_one_or_none()
    if po is None:
        raise NotFound(f"no purchase order {po_id}", po_id=po_id)
    return po


def _info(session: Session, po: PurchaseOrder) -> POInfo:
    supplier = session.execute(select(Supplier.name).where(Supplier.id == po.supplier_id)).scalar_one()
    warehouse = session.execute(select(Warehouse.code).where(Warehouse.id == po.warehouse_id)).scalar_one()
    count = session.execute(select(func.count()).where(POLine.po_id == po.id)).scalar_one()
    return POInfo(po.id, po.number, po.status, supplier, warehouse, po.total, int(count))


def _refresh_total(session: Session, po: PurchaseOrder) -> None:
    total = session.execute(select(func.sum(POLine.qty_ordered * POLine.unit_cost))
                            .where(POLine.po_id == po.id)).scalar_one()
    po.total = Decimal(str(total or 0)).quantize(Decimal("0.01"))


def _note_issue(note: str | None, issues: list[FieldIssue]) -> None:
    if note is not None and len(note) > MAX_NOTE:
        issues.append(FieldIssue("note", "issue.too_long", params={"n": MAX_NOTE}))


def _product_costs(session: Session, lines: list[POLineInput]) -> dict[int, Decimal | None]:
    """``{product id: unit cost}`` of the lines' products that exist."""
    return dict(session.execute(select(Product.id, Product.unit_cost).where(
        Product.id.in_([ln.product_id for ln in lines]))).all())


def _line_issues(line: POLineInput, row: int, costs: dict[int, Decimal | None], seen: set[int]) -> list[FieldIssue]:
    """What is wrong with one line: an unknown product or one already in ``seen`` (which it
    joins), a quantity that is not a bounded whole number > 0, a cost that is not money to the
    cent in [0, max] — or no cost at all for a product whose cost is unknown."""
    issues: list[FieldIssue] = []
    if line.product_id not in costs:
        issues.append(FieldIssue("product", "issue.unknown_value", row, line.product_id, params={"value": line.product_id}))
    elif line.product_id in seen:
        issues.append(FieldIssue("product", "issue.rma_listed_twice", row, line.product_id))
    seen.add(line.product_id)
    issues += check_qty(line.qty, "qty", row)[1]
    if line.unit_cost is not None:
        cost_issues: list[FieldIssue] = []
        if parse_amount(line.unit_cost, "unit_cost", cost_issues, row) != line.unit_cost and not cost_issues:
            cost_issues.append(FieldIssue("unit_cost", "issue.cents", row, line.unit_cost))  # no silent rounding
        issues += cost_issues
    elif line.product_id in costs and costs[line.product_id] is None:
        # the product's cost is unknown (e.g. created by an import): the buyer must state it
        issues.append(FieldIssue("unit_cost", "imh.issue.cost_needed", row, params={"row": row}))
    return issues


def _new_line(po_id: int, line: POLineInput, costs: dict[int, Decimal | None]) -> POLine:
    return POLine(po_id=po_id, product_id=line.product_id, qty_ordered=int(line.qty), qty_received=0,
                  unit_cost=Decimal(str(line.unit_cost)) if line.unit_cost is not None else costs[line.product_id],
                  suggestion_id=line.suggestion_id)


@dataclass(frozen=True)
class POChoices:
    """What a purchase order by hand may be for: ``{id: name}`` of active suppliers and
    ``{id: "code · name"}`` of active warehouses."""

    suppliers: dict[int, str]
    warehouses: dict[int, str]


@read_only
def po_choices(session: Session, actor: Actor) -> POChoices:
    """The suppliers and warehouses :func:`create_purchase_order` accepts, for the page's form."""
    require(actor, "purchase.edit")
    suppliers = session.execute(select(Supplier.id, Supplier.name).where(Supplier.active.is_(True))
                                .order_by(Supplier.name)).all()
    warehouses = session.execute(select(Warehouse.id, Warehouse.code, Warehouse.name)
                                 .where(Warehouse.active.is_(True)).order_by(Warehouse.code)).all()
    return POChoices({r.id: r.name for r in suppliers}, {r.id: f"{r.code} · {r.name}" for r in warehouses})


@unit_of_work
def create_purchase_order(session: Session, supplier_id: int, warehouse_id: int, lines: list[POLineInput],
                          actor: Actor, note: str | None = None) -> POInfo:
    """A draft PO for one supplier and one receiving warehouse.

    Refused (nothing written) for an unknown supplier or warehouse, no lines, an unknown or
    repeated product, a quantity that is not a whole number > 0, or a negative cost.
    """
    require(actor, "purchase.edit")
    issues: list[FieldIssue] = []
    if session.execute(select(Supplier.id).where(Supplier.id == supplier_id, Supplier.active.is_(True))
                       ).first() is None:
        issues.append(FieldIssue("supplier", "issue.unknown_value", value=supplier_id, params={"value": supplier_id}))
    if session.execute(select(Warehouse.id).where(Warehouse.id == warehouse_id, Warehouse.active.is_(True))
                       ).first() is None:
        issues.append(FieldIssue("warehouse", "issue.unknown_value", value=warehouse_id, params={"value": warehouse_id}))
    _note_issue(note, issues)
    if not lines:
        issues.append(FieldIssue("lines", "inv_issue.no_lines"))
    costs = _product_costs(session, lines)
    seen: set[int] = set()
    for row, line in enumerate(lines, start=1):
        issues += _line_issues(line, row, costs, seen)
    if issues:
        raise ValidationError(issues)
    po = PurchaseOrder(number=next_number(session, "PO"), supplier_id=supplier_id, warehouse_id=warehouse_id,
                       status="draft", created_at=utcnow(), created_by=actor.username,
                       note=(note or "").strip() or None, total=Decimal("0"))
    session.add(po)
    session.flush()
    session.add_all(_new_line(po.id, ln, costs) for ln in lines)
    session.flush()
    _refresh_total(session, po)
    audit.record(session, actor, "po.create", "purchase_order", po.number, after={
        "supplier_id": supplier_id, "warehouse_id": warehouse_id, "total": po.total,
        "lines": [[ln.product_id, ln.qty] for ln in lines]})
    return _info(session, po)


@unit_of_work
def update_draft(session: Session, po_id: int, quantities: dict[int, int], actor: Actor,
                 note: str | None = None) -> POInfo:
    """Change a draft's line quantities ``{po_line_id: qty}`` (0 removes the line) and note."""
    require(actor, "purchase.edit")
    po = _load_po(session, po_id)
    if po.status != "draft":
        raise IllegalTransition(f"purchase order {po.number} is {po.status}; only a draft can be edited",
                                number=po.number)
    lines = {ln.id: ln for ln in session.execute(select(POLine).where(POLine.po_id == po_id)).scalars()}
    issues: list[FieldIssue] = []
    for row, (line_id, qty) in enumerate(sorted(quantities.items()), start=1):
        if line_id not in lines:
            issues.append(FieldIssue("po_line", "inv_issue.not_on_document", row, line_id,
                                     params={"line": line_id, "number": po.number}))
        else:
            issues += check_qty(qty, "qty", row, allow_zero=True)[1]
    _note_issue(note, issues)
    if not issues and all(quantities.get(lid, ln.qty_ordered) == 0 for lid, ln in lines.items()):
        issues.append(FieldIssue("lines", "plan.issue_keep_a_line"))
    if issues:
        raise ValidationError(issues)
    before = {str(lid): ln.qty_ordered for lid, ln in lines.items()}
    quantities = {line_id: int(qty) for line_id, qty in quantities.items()}  # 5.0 from a grid → 5
    for line_id, qty in quantities.items():
        if qty == 0:
            session.execute(delete(POLine).where(POLine.id == line_id))
        else:
            lines[line_id].qty_ordered = qty
    if note is not None:
        po.note = note.strip() or None
    session.flush()
    _refresh_total(session, po)
    audit.record(session, actor, "po.edit", "purchase_order", po.number, before={"qty": before},
                 after={"qty": {str(k): v for k, v in quantities.items()}, "note": po.note})
    return _info(session, po)


@unit_of_work
def add_po_line(session: Session, po_id: int, line: POLineInput, actor: Actor) -> POInfo:
    """One more product on a draft (a sent order is the supplier's now: refused). The same
    checks as a new order's lines, and the product must not be on the draft already."""
    require(actor, "purchase.edit")
    po = _load_po(session, po_id)
    if po.status != "draft":
        raise IllegalTransition(f"purchase order {po.number} is {po.status}; only a draft can be edited",
                                number=po.number)
    on_order = set(session.execute(select(POLine.product_id).where(POLine.po_id == po_id)).scalars())
    issues = _line_issues(line, 1, _product_costs(session, [line]), on_order)
    if issues:
        raise ValidationError(issues)
    session.add(_new_line(po.id, line, _product_costs(session, [line])))
    session.flush()
    _refresh_total(session, po)
    audit.record(session, actor, "po.add_line", "purchase_order", po.number,
                 after={"product_id": line.product_id, "qty": int(line.qty), "total": po.total})
    return _info(session, po)


@unit_of_work
def send_po(session: Session, po_id: int, actor: Actor, expected_at: dt.datetime | None = None) -> POInfo:
    """Mark a draft as sent to the supplier; from now on it can be received.

    ``expected_at`` (UTC) defaults to now + the supplier's lead time.
    """
    require(actor, "purchase.edit")
    po = _load_po(session, po_id)
    if po.status != "draft":
        raise IllegalTransition(f"purchase order {po.number} is {po.status}; only a draft can be sent",
                                number=po.number)
    lead = session.execute(select(Supplier.lead_time_days).where(Supplier.id == po.supplier_id)).scalar_one()
    now = utcnow()
    po.status, po.sent_at = "sent", now
    po.expected_at = expected_at or now + dt.timedelta(days=int(lead or 0))
    session.flush()
    audit.record(session, actor, "po.send", "purchase_order", po.number, before={"status": "draft"},
                 after={"status": "sent", "expected_at": po.expected_at})
    return _info(session, po)


@unit_of_work
def cancel_po(session: Session, po_id: int, reason: str, actor: Actor) -> POInfo:
    """Cancel a draft or sent PO, or close a partly received one short (the rest will not come)."""
    require(actor, "purchase.edit")
    po = _load_po(session, po_id)
    if po.status not in CANCELLABLE_STATUSES:
        raise IllegalTransition(f"purchase order {po.number} is {po.status}; it can no longer be cancelled",
                                number=po.number)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError([FieldIssue("reason", "issue.required")])
    if len(reason) > MAX_NOTE:
        raise ValidationError([FieldIssue("reason", "issue.too_long", params={"n": MAX_NOTE})])
    before = po.status
    po.status = "cancelled"
    po.note = f"{po.note}\n{reason}" if po.note else reason
    session.flush()
    audit.record(session, actor, "po.cancel", "purchase_order", po.number, before={"status": before},
                 after={"status": "cancelled", "reason": reason})
    return _info(session, po)


# --- reads -----------------------------------------------------------------------------------

PO_LIST_COLUMNS = ["id", "number", "status", "supplier", "warehouse", "lines", "units_ordered", "units_received",
                   "total", "created_at", "sent_at", "expected_at", "received_at", "created_by"]
PO_LINE_COLUMNS = ["line_id", "sku", "name", "qty_ordered", "qty_received", "qty_open", "unit_cost", "line_total"]


@read_only
def list_purchase_orders(session: Session, actor: Actor, statuses: list[str] | None = None,
                         limit: int = 500, *, supplier: str | None = None, warehouse: str | None = None,
                         before: tuple[dt.datetime, int] | None = None) -> pd.DataFrame:
    """Purchase orders newest first with their line and unit totals (``PO_LIST_COLUMNS``);
    ``before`` = (created_at, id) of the last row seen continues after it (keyset paging)."""
    require(actor, "stock.view")
    totals = (select(POLine.po_id, func.count().label("lines"), func.sum(POLine.qty_ordered).label("ordered"),
                     func.sum(POLine.qty_received).label("received")).group_by(POLine.po_id).subquery())
    stmt = (select(PurchaseOrder.id, PurchaseOrder.number, PurchaseOrder.status, Supplier.name, Warehouse.code,
                   func.coalesce(totals.c.lines, 0), func.coalesce(totals.c.ordered, 0),
                   func.coalesce(totals.c.received, 0), PurchaseOrder.total, PurchaseOrder.created_at,
                   PurchaseOrder.sent_at, PurchaseOrder.expected_at, PurchaseOrder.received_at,
                   PurchaseOrder.created_by)
            .join(Supplier, Supplier.id == PurchaseOrder.supplier_id)
            .join(Warehouse, Warehouse.id == PurchaseOrder.warehouse_id)
            .outerjoin(totals, totals.c.po_id == PurchaseOrder.id))
    if statuses:
        stmt = stmt.where(PurchaseOrder.status.in_(statuses))
    if supplier:
        stmt = stmt.where(Supplier.name == supplier)
    if warehouse:
        stmt = stmt.where(Warehouse.code == warehouse)
    if before is not None:
        at, po_id = before
        stmt = stmt.where(or_(PurchaseOrder.created_at < at, and_(PurchaseOrder.created_at == at,
                                                                   PurchaseOrder.id < po_id)))
    rows = session.execute(stmt.order_by(PurchaseOrder.created_at.desc(), PurchaseOrder.id.desc()).limit(limit))
    return pd.DataFrame(rows.all(), columns=PO_LIST_COLUMNS)


@read_only
def po_id_for(session: Session, number: str, actor: Actor) -> int:
    """The id of purchase order ``number``; the permission comes before the lookup."""
    require(actor, "stock.view")
    po_id = session.execute(select(PurchaseOrder.id).where(PurchaseOrder.number == number.strip().upper())
                            ).scalar_one_or_none()
    if po_id is None:
        raise NotFound.coded("api.no_purchase_order", number=number)
    return int(po_id)


@dataclass(frozen=True)
class PODetail:
    header: dict[str, Any]
    lines: pd.DataFrame  # PO_LINE_COLUMNS


@read_only
def po_detail(session: Session, po_id: int, actor: Actor) -> PODetail:
    """One purchase order: header fields and its lines with what is still open."""
    require(actor, "stock.view")
    po = _load_po(session, po_id)
    info = _info(session, po)
    header = {"id": po.id, "number": po.number, "status": po.status, "supplier": info.supplier,
              "warehouse": info.warehouse, "total": po.total, "created_at": po.created_at, "sent_at": po.sent_at,
              "expected_at": po.expected_at, "received_at": po.received_at, "created_by": po.created_by,
              "note": po.note}
    rows = session.execute(
        select(POLine.id, Product.sku, Product.name, POLine.qty_ordered, POLine.qty_received,
               POLine.qty_ordered - POLine.qty_received, POLine.unit_cost, POLine.qty_ordered * POLine.unit_cost)
        .join(Product, Product.id == POLine.product_id).where(POLine.po_id == po_id).order_by(Product.sku)
    ).all()
    return PODetail(header, pd.DataFrame(rows, columns=PO_LINE_COLUMNS))
