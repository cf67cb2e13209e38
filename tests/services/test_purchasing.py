"""Goods receipt against a purchase order: partial, complete, over-receipt refused, backorders released."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from core import db
from core.errors import IllegalTransition, PermissionDenied, ValidationError
from core.models import POLine, PurchaseOrder, StockLevel, StockMovement, Supplier, Warehouse
from core.services import orders
from core.services.purchasing import receive_po
from core.timeutil import utcnow
from tests.factories import BUYER, CLERK, SERVICE, WAREHOUSE, make_product, order_input


def _po(product_id: int, qty: int, status: str = "sent") -> tuple[int, int]:
    with db.transaction() as s:
        sup = Supplier(name="供应商甲", lead_time_days=7, moq=1)
        s.add(sup)
        s.flush()
        wh = s.execute(select(Warehouse.id).where(Warehouse.code == "SH")).scalar_one()
        po = PurchaseOrder(number="PO-T1", supplier_id=sup.id, warehouse_id=wh, status=status,
                           created_at=utcnow(), created_by="buyer1", total=Decimal("0"))
        s.add(po)
        s.flush()
        line = POLine(po_id=po.id, product_id=product_id, qty_ordered=qty, qty_received=0, unit_cost=Decimal("5"))
        s.add(line)
        s.flush()
        return po.id, line.id


def test_partial_then_full_receipt_releases_backorders(db_url: str) -> None:
    pid = make_product("P1", "10.00", {"SH": 0})
    waiting = orders.create_order(order_input(("P1", 3), allow_backorder=True), CLERK)
    po_id, line_id = _po(pid, 10)
    first = receive_po(po_id, {line_id: 4}, WAREHOUSE)
    assert (first.status, first.received_units, first.released_orders) == ("partial", 4, (waiting.number,))
    with pytest.raises(ValidationError) as err:
        receive_po(po_id, {line_id: 7}, BUYER)  # 4 + 7 > 10
    assert "already received 4" in str(err.value)
    second = receive_po(po_id, {line_id: 6}, BUYER)
    assert second.status == "received"
    with pytest.raises(IllegalTransition):
        receive_po(po_id, {line_id: 1}, BUYER)
    with db.transaction() as s:
        level = s.execute(select(StockLevel).where(StockLevel.product_id == pid)).scalar_one()
        assert (level.on_hand, level.reserved) == (10, 3)
        assert s.execute(select(POLine.qty_received)).scalar_one() == 10
        assert [m.qty_delta for m in s.execute(select(StockMovement).where(
            StockMovement.kind == "receipt")).scalars()] == [4, 6]
        assert s.execute(select(PurchaseOrder.received_at)).scalar_one() is not None


def test_receipt_refuses_drafts_wrong_roles_and_foreign_lines(db_url: str) -> None:
    pid = make_product("P1", "10.00", {"SH": 0})
    po_id, line_id = _po(pid, 5, status="draft")
    with pytest.raises(IllegalTransition):
        receive_po(po_id, {line_id: 1}, WAREHOUSE)
    with db.transaction() as s:
        s.execute(PurchaseOrder.__table__.update().values(status="sent"))
    with pytest.raises(PermissionDenied):
        receive_po(po_id, {line_id: 1}, SERVICE)
    with pytest.raises(ValidationError):
        receive_po(po_id, {line_id + 99: 1}, WAREHOUSE)
    with pytest.raises(ValidationError):
        receive_po(po_id, {line_id: -1}, WAREHOUSE)
    with db.transaction() as s:
        assert s.execute(select(StockMovement).where(StockMovement.kind == "receipt")).first() is None
