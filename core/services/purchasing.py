"""Purchase orders: goods receipt against a PO (drafting and sending live with replenishment).

Receiving posts ``receipt`` movements to the ledger, advances ``po_lines.qty_received`` (never
beyond what was ordered — a second receipt of the same line is refused past its quantity) and
gives the arrived stock to waiting backorders, all in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import audit, stock
from core.db import unit_of_work
from core.errors import FieldIssue, IllegalTransition, NotFound, ValidationError
from core.models import POLine, Product, PurchaseOrder
from core.permissions import Actor, require
from core.services.orders import reserve_backorders
from core.timeutil import utcnow

RECEIVABLE_STATUSES = ("sent", "partial")


@dataclass(frozen=True)
class ReceiptResult:
    po_number: str
    status: str
    received_units: int
    released_orders: tuple[str, ...]


@unit_of_work
def receive_po(session: Session, po_id: int, quantities: dict[int, int], actor: Actor,
               note: str | None = None) -> ReceiptResult:
    """Receive ``{po_line_id: qty}`` into the PO's warehouse; partial receipts allowed."""
    require(actor, "stock.receive")
    po = session.execute(select(PurchaseOrder).where(PurchaseOrder.id == po_id)).scalar_one_or_none()
    if po is None:
        raise NotFound(f"no purchase order {po_id}", po_id=po_id)
    if po.status not in RECEIVABLE_STATUSES:
        raise IllegalTransition(f"purchase order {po.number} is {po.status}; only sent orders can be received",
                                number=po.number)
    lines = {ln.id: ln for ln in session.execute(select(POLine).where(POLine.po_id == po_id)).scalars()}
    skus = dict(session.execute(select(Product.id, Product.sku).where(
        Product.id.in_([ln.product_id for ln in lines.values()]))).all())
    issues = []
    for row, (line_id, qty) in enumerate(sorted(quantities.items()), start=1):
        line = lines.get(line_id)
        if line is None:
            issues.append(FieldIssue("po_line", f"line {line_id} is not on {po.number}", row, line_id))
        elif not isinstance(qty, int) or qty < 0:
            issues.append(FieldIssue("qty", "must be a whole number ≥ 0", row, qty))
        elif line.qty_received + qty > line.qty_ordered:
            issues.append(FieldIssue(
                "qty", f"{skus[line.product_id]}: ordered {line.qty_ordered}, already received "
                       f"{line.qty_received}, cannot receive {qty} more", row, qty))
    if issues:
        raise ValidationError(issues)
    received = 0
    arrived: list[int] = []
    for line_id, qty in sorted(quantities.items(), key=lambda kv: (lines[kv[0]].product_id, kv[0])):
        if qty == 0:
            continue
        line = lines[line_id]
        stock.post_movement(session, product_id=line.product_id, warehouse_id=po.warehouse_id, qty_delta=qty,
                            kind="receipt", actor=actor.username, reason=note or po.number, ref_type="po",
                            ref_id=po.id)
        session.execute(update(POLine).where(POLine.id == line_id).values(qty_received=POLine.qty_received + qty))
        received += qty
        arrived.append(line.product_id)
    if received == 0:
        raise ValidationError([FieldIssue("qty", "nothing to receive")])
    session.flush()
    complete = all(ln.qty_received >= ln.qty_ordered for ln in
                   session.execute(select(POLine).where(POLine.po_id == po_id)).scalars())
    before = po.status
    po.status = "received" if complete else "partial"
    if complete:
        po.received_at = utcnow()
    released = reserve_backorders(session, arrived, po.warehouse_id, actor)
    audit.record(session, actor, "po.receive", "purchase_order", po.number, before={"status": before},
                 after={"status": po.status, "received": {str(k): v for k, v in quantities.items()},
                        "released_orders": released})
    return ReceiptResult(po.number, po.status, received, tuple(released))
