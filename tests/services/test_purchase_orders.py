"""Purchase orders: draft → edit → sent → partial receipt → received; cancelling; refusals."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from core import db
from core.errors import IllegalTransition, PermissionDenied, ValidationError
from core.models import AuditLog, POLine, PurchaseOrder, StockLevel, Supplier
from core.services.purchasing import (
    POLineInput,
    add_po_line,
    cancel_po,
    create_purchase_order,
    list_purchase_orders,
    po_detail,
    receive_po,
    send_po,
    update_draft,
)
from tests.factories import BUYER, CLERK, WAREHOUSE, make_product
from tests.planning_data import make_supplier, warehouse_id


def test_draft_sent_partial_received(db_url: str) -> None:
    tea, cup = make_product("TEA", "20.00", {"SH": 0}), make_product("CUP", "8.00", {"SH": 0})
    supplier = make_supplier("茶具厂", 5, 1, tea, cup)
    po = create_purchase_order(supplier, warehouse_id("SH"), [POLineInput(tea, 10), POLineInput(cup, 4)], BUYER,
                               note="weekly order")
    assert (po.status, po.lines, str(po.total)) == ("draft", 2, "116.00")  # 10 × 10.00 + 4 × 4.00
    lines = po_detail(po.id, BUYER).lines.set_index("sku")
    edited = update_draft(po.id, {int(lines.loc["TEA", "line_id"]): 12, int(lines.loc["CUP", "line_id"]): 0}, BUYER)
    assert (edited.lines, str(edited.total)) == (1, "120.00")
    with pytest.raises(IllegalTransition):
        receive_po(po.id, {int(lines.loc["TEA", "line_id"]): 1}, WAREHOUSE)  # a draft cannot be received
    sent = send_po(po.id, BUYER)
    assert sent.status == "sent"
    header = po_detail(po.id, BUYER).header
    assert (header["expected_at"] - header["sent_at"]).days == 5
    with pytest.raises(IllegalTransition):
        update_draft(po.id, {int(lines.loc["TEA", "line_id"]): 3}, BUYER)
    line_id = int(lines.loc["TEA", "line_id"])
    assert receive_po(po.id, {line_id: 5}, WAREHOUSE).status == "partial"
    assert receive_po(po.id, {line_id: 7}, WAREHOUSE).status == "received"
    with db.transaction() as s:
        assert s.execute(select(StockLevel.on_hand).where(StockLevel.product_id == tea)).scalar_one() == 12
    listed = list_purchase_orders(BUYER, statuses=["received"])
    assert listed[["number", "units_ordered", "units_received"]].values.tolist() == [[po.number, 12, 12]]
    with pytest.raises(IllegalTransition):
        cancel_po(po.id, "too late", BUYER)


def test_cancel_and_close_short(db_url: str) -> None:
    tea = make_product("TEA", "20.00", {"SH": 0})
    supplier = make_supplier("茶具厂", 5, 1, tea)
    draft = create_purchase_order(supplier, warehouse_id("SH"), [POLineInput(tea, 10)], BUYER)
    with pytest.raises(ValidationError):
        cancel_po(draft.id, " ", BUYER)
    assert cancel_po(draft.id, "duplicate", BUYER).status == "cancelled"
    with pytest.raises(IllegalTransition):
        send_po(draft.id, BUYER)
    partial = create_purchase_order(supplier, warehouse_id("SH"), [POLineInput(tea, 10)], BUYER)
    send_po(partial.id, BUYER)
    line_id = int(po_detail(partial.id, BUYER).lines["line_id"].iloc[0])
    receive_po(partial.id, {line_id: 4}, WAREHOUSE)
    closed = cancel_po(partial.id, "supplier out of stock", BUYER)
    assert closed.status == "cancelled"
    with db.transaction() as s:
        assert s.execute(select(POLine.qty_received).where(POLine.po_id == partial.id)).scalar_one() == 4
        assert "supplier out of stock" in s.execute(select(PurchaseOrder.note).where(
            PurchaseOrder.id == partial.id)).scalar_one()


def test_bad_drafts_write_nothing(db_url: str) -> None:
    tea = make_product("TEA", "20.00", {"SH": 0})
    supplier = make_supplier("茶具厂", 5, 1, tea)
    with pytest.raises(ValidationError) as err:
        create_purchase_order(supplier, warehouse_id("SH"), [POLineInput(tea, 0), POLineInput(tea, 2),
                                                             POLineInput(999, 1)], BUYER)
    assert [(i.row, i.field) for i in err.value.issues] == [(1, "qty"), (2, "product"), (3, "product")]
    with pytest.raises(ValidationError):
        create_purchase_order(supplier + 99, warehouse_id("SH"), [POLineInput(tea, 1)], BUYER)
    with pytest.raises(ValidationError):
        create_purchase_order(supplier, warehouse_id("SH"), [], BUYER)
    with pytest.raises(PermissionDenied):
        create_purchase_order(supplier, warehouse_id("SH"), [POLineInput(tea, 1)], CLERK)
    po = create_purchase_order(supplier, warehouse_id("SH"), [POLineInput(tea, 1)], BUYER)
    line_id = int(po_detail(po.id, BUYER).lines["line_id"].iloc[0])
    with pytest.raises(ValidationError):
        update_draft(po.id, {line_id: 0}, BUYER)  # would leave an empty order: cancel instead
    with pytest.raises(ValidationError):
        update_draft(po.id, {line_id + 50: 3}, BUYER)
    with db.transaction() as s:
        assert s.execute(select(PurchaseOrder.id)).scalars().all() == [po.id]
        assert s.execute(select(POLine.qty_ordered)).scalars().all() == [1]


def test_a_po_by_hand_for_any_supplier_gains_and_loses_lines_until_sent(db_url: str) -> None:
    """Any active supplier and warehouse, any product (not only the supplier's own); lines are
    added and removed while it is a draft, totals stay exact, every change is audited."""
    tea = make_product("TEA", "20.00", {"SH": 0})  # unit cost 10.00
    cup = make_product("CUP", "9.00", {"GZ": 0})
    supplier = make_supplier("杂货批发")  # supplies nothing yet
    po = create_purchase_order(supplier, warehouse_id("GZ"), [POLineInput(tea, 3)], BUYER)
    added = add_po_line(po.id, POLineInput(cup, 7, Decimal("1.15")), BUYER)
    assert (added.lines, added.total) == (2, Decimal("38.05"))  # 3 × 10.00 + 7 × 1.15
    lines = po_detail(po.id, BUYER).lines
    assert sorted(lines["sku"]) == ["CUP", "TEA"]
    tea_line = int(lines.loc[lines["sku"] == "TEA", "line_id"].iloc[0])
    with pytest.raises(ValidationError) as err:
        add_po_line(po.id, POLineInput(tea, 1), BUYER)  # already on it
    assert [i.field for i in err.value.issues] == ["product"]
    for bad in (POLineInput(cup + 99, 1), POLineInput(cup, 10**9), POLineInput(cup, 0)):
        with pytest.raises(ValidationError):
            add_po_line(po.id, bad, BUYER)
    with pytest.raises(ValidationError) as err:
        add_po_line(po.id, POLineInput(make_product("PAN", "5.00"), 1, Decimal("1.005")), BUYER)
    assert [i.message for i in err.value.issues] == ["issue.cents"]  # never rounded silently
    with pytest.raises(PermissionDenied):
        add_po_line(po.id, POLineInput(cup, 1), CLERK)
    removed = update_draft(po.id, {tea_line: 0}, BUYER)
    assert (removed.lines, removed.total) == (1, Decimal("8.05"))
    send_po(po.id, BUYER)
    with pytest.raises(IllegalTransition):
        add_po_line(po.id, POLineInput(tea, 1), BUYER)
    with db.transaction() as s:
        actions = s.execute(select(AuditLog.action).where(AuditLog.entity == "purchase_order")
                            .order_by(AuditLog.id)).scalars().all()
    assert actions == ["po.create", "po.add_line", "po.edit", "po.send"]


def test_an_inactive_supplier_gets_no_new_orders(db_url: str) -> None:
    tea = make_product("TEA", "20.00", {"SH": 0})
    supplier = make_supplier("已停用")
    with db.transaction() as s:
        s.get(Supplier, supplier).active = False
    with pytest.raises(ValidationError) as err:
        create_purchase_order(supplier, warehouse_id("SH"), [POLineInput(tea, 1)], BUYER)
    assert [i.field for i in err.value.issues] == ["supplier"]
