"""Replenishment suggestions: netting, never double-counting, decisions, draft POs."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core import db
from core.errors import PermissionDenied, Refused, ValidationError
from core.models import AuditLog, POLine, PurchaseOrder, ReplenishmentSuggestion, Transfer, TransferLine
from core.services import orders, replenishment
from core.services.purchasing import POLineInput, create_purchase_order, send_po
from core.services.replenishment import (
    accept_suggestions,
    create_draft_pos,
    dismiss_suggestions,
    generate_suggestions,
)
from core.timeutil import utcnow
from tests.factories import BUYER, CLERK, make_product, order_input
from tests.planning_data import make_supplier, stored_run, warehouse_id


def _open() -> dict[tuple[int, int], ReplenishmentSuggestion]:
    with db.transaction() as s:
        rows = s.execute(select(ReplenishmentSuggestion).where(ReplenishmentSuggestion.status == "open")).scalars()
        return {(r.product_id, r.warehouse_id): r for r in rows}


def _status_counts() -> dict[str, int]:
    with db.transaction() as s:
        return dict(s.execute(select(ReplenishmentSuggestion.status, func.count())
                              .group_by(ReplenishmentSuggestion.status)).all())


@pytest.fixture
def shop(db_url: str) -> dict[str, int]:
    """Two SKUs from one supplier (lead 7 days, MOQ 1, packs of 1), 10 a day forecast in SH."""
    tea = make_product("TEA", "20.00", {"SH": 30})
    cup = make_product("CUP", "8.00", {"SH": 200, "GZ": 5})
    supplier = make_supplier("茶具厂", 7, 1, tea, cup)
    stored_run({(tea, "SH"): 10.0, (cup, "SH"): 1.0, (cup, "GZ"): 3.0}, sigma_lead=0.0)
    return {"tea": tea, "cup": cup, "supplier": supplier, "sh": warehouse_id("SH"), "gz": warehouse_id("GZ")}


def test_suggestions_follow_the_arithmetic(shop: dict[str, int]) -> None:
    summary = generate_suggestions(BUYER, service_level=0.95, review_days=7)
    found = _open()
    # TEA/SH: μ_L = 70, S = 140, position 30 → 110. CUP/SH: 200 on hand, nothing. CUP/GZ: S = 42, 5 → 37.
    assert set(found) == {(shop["tea"], shop["sh"]), (shop["cup"], shop["gz"])}
    tea = found[(shop["tea"], shop["sh"])]
    assert (tea.demand_lead_time, tea.reorder_point, tea.order_up_to, tea.suggested_qty) == (70, 70, 140, 110)
    assert (tea.on_hand, tea.lead_time_days, tea.supplier_id, tea.days_to_stockout) == (30, 7, shop["supplier"], 3)
    assert found[(shop["cup"], shop["gz"])].suggested_qty == 37
    assert (summary.suggestions, summary.units, summary.superseded) == (2, 147, 0)


def test_rerun_supersedes_and_never_double_counts(shop: dict[str, int]) -> None:
    generate_suggestions(BUYER)
    tea = _open()[(shop["tea"], shop["sh"])]
    accept_suggestions({tea.id: 30}, BUYER)  # edited down from 110
    second = generate_suggestions(BUYER)
    found = _open()
    top_up = found[(shop["tea"], shop["sh"])]
    assert (top_up.pending_qty, top_up.suggested_qty) == (30, 80)  # position 30 + 30 ≤ ROP 70: 140 − 60
    assert second.superseded == 1  # CUP/GZ of the first computation
    assert _status_counts() == {"edited": 1, "open": 2, "superseded": 1}
    pos = create_draft_pos(BUYER)
    assert [p.lines for p in pos] == [1]
    third = generate_suggestions(BUYER)  # the 30 are now a draft PO line: still counted, once
    again = _open()[(shop["tea"], shop["sh"])]
    assert (again.on_order, again.pending_qty, again.suggested_qty) == (30, 0, 80)
    assert third.superseded == 2


def test_open_po_lines_transfers_and_backorders_are_netted(shop: dict[str, int]) -> None:
    po = create_purchase_order(shop["supplier"], shop["sh"], [POLineInput(shop["tea"], 50)], BUYER)
    send_po(po.id, BUYER)
    with db.transaction() as s:
        transfer = Transfer(number="TR-T", from_warehouse_id=shop["gz"], to_warehouse_id=shop["sh"],
                            status="shipped", created_at=utcnow(), created_by="wh")
        s.add(transfer)
        s.flush()
        s.add(TransferLine(transfer_id=transfer.id, product_id=shop["tea"], qty=20, qty_shipped=20, qty_received=5))
    waiting = orders.create_order(order_input(("TEA", 45), allow_backorder=True), CLERK)
    assert waiting.status == "backordered"
    generate_suggestions(BUYER)
    tea = _open()[(shop["tea"], shop["sh"])]
    assert (tea.on_order, tea.in_transit, tea.backordered) == (50, 15, 45)
    assert tea.suggested_qty == 140 - (30 - 45 + 50 + 15)  # 90


def test_decisions_are_validated_and_audited(shop: dict[str, int]) -> None:
    generate_suggestions(BUYER)
    ids = sorted(s.id for s in _open().values())
    with pytest.raises(ValidationError) as err:
        accept_suggestions({ids[0]: 0}, BUYER)
    assert err.value.issues[0].field == "qty"
    with pytest.raises(ValidationError):
        dismiss_suggestions([ids[1]], "   ", BUYER)
    with pytest.raises(PermissionDenied):
        accept_suggestions({ids[0]: None}, CLERK)
    assert accept_suggestions({ids[0]: None}, BUYER) == 1
    assert dismiss_suggestions([ids[1]], "supplier on holiday", BUYER) == 1
    with pytest.raises(ValidationError) as err:
        accept_suggestions({ids[1]: None}, BUYER)  # dismissed cannot be accepted
    assert "already dismissed" in str(err.value)
    with db.transaction() as s:
        reasons = s.execute(select(ReplenishmentSuggestion.reason).where(ReplenishmentSuggestion.id == ids[1])
                            ).scalar_one()
        actions = set(s.execute(select(AuditLog.action).where(AuditLog.entity == "replenishment_suggestion"))
                      .scalars())
    assert reasons == "supplier on holiday"
    assert actions == {"replenish.accepted", "replenish.dismiss"}


def test_draft_pos_grouped_by_supplier_and_warehouse(shop: dict[str, int]) -> None:
    other = make_product("PAN", "30.00", {"SH": 0})
    make_supplier("锅具厂", 10, 24, other, pack_size=6)
    stored_run({(shop["tea"], "SH"): 10.0, (shop["cup"], "GZ"): 3.0, (other, "SH"): 2.0})
    generate_suggestions(BUYER)
    found = _open()
    pan = found[(other, shop["sh"])]
    assert (pan.lead_time_days, pan.moq, pan.pack_size, pan.suggested_qty) == (10, 24, 6, 36)  # need 34 → 36
    accept_suggestions({s.id: None for s in found.values()}, BUYER)
    pos = create_draft_pos(BUYER)
    assert sorted((p.supplier, p.warehouse, p.lines) for p in pos) == [
        ("茶具厂", "GZ", 1), ("茶具厂", "SH", 1), ("锅具厂", "SH", 1)]
    with db.transaction() as s:
        lines = s.execute(select(POLine.suggestion_id, POLine.qty_ordered, PurchaseOrder.status)
                          .join(PurchaseOrder, PurchaseOrder.id == POLine.po_id)).all()
    assert {(sid, qty, status) for sid, qty, status in lines} == {
        (s.id, s.suggested_qty, "draft") for s in found.values()}
    assert _status_counts() == {"ordered": 3}
    with pytest.raises(ValidationError):
        create_draft_pos(BUYER)  # nothing accepted any more


def test_no_supplier_and_no_run_are_refused(db_url: str) -> None:
    with pytest.raises(Refused) as err:
        generate_suggestions(BUYER)
    assert err.value.key == "asof.no_run"
    loose = make_product("LOOSE", "5.00", {"SH": 0})
    stored_run({(loose, "SH"): 4.0})
    with pytest.raises(ValidationError):
        generate_suggestions(BUYER, service_level=1.5)
    generate_suggestions(BUYER)
    suggestion = next(iter(_open().values()))
    assert suggestion.supplier_id is None
    accept_suggestions({suggestion.id: None}, BUYER)
    with pytest.raises(ValidationError) as err:
        create_draft_pos(BUYER)
    assert "LOOSE has no supplier" in str(err.value)
    with db.transaction() as s:
        assert s.execute(select(PurchaseOrder)).first() is None


def test_pipeline_quantities_ignore_closed_orders(shop: dict[str, int]) -> None:
    po = create_purchase_order(shop["supplier"], shop["sh"], [POLineInput(shop["tea"], 7)], BUYER)
    with db.transaction() as s:
        assert replenishment.pipeline_quantities(s)["on_order"] == {(shop["tea"], shop["sh"]): 7}
        s.execute(PurchaseOrder.__table__.update().where(PurchaseOrder.id == po.id).values(status="cancelled"))
        assert replenishment.pipeline_quantities(s)["on_order"] == {}
