"""Transfers: draft → shipped (stock in transit) → partial / full receipt, backorders released on
arrival, and every refusal (more than available, wrong state, over-receipt, wrong role)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core import db
from core.analytics.inventory import in_transit
from core.errors import IllegalTransition, InsufficientStock, PermissionDenied, ValidationError
from core.models import AuditLog, StockLevel, StockMovement, Transfer, Warehouse
from core.services import orders
from core.services.transfers import (
    cancel_transfer,
    create_transfer,
    list_transfers,
    receive_transfer,
    ship_transfer,
    transfer_detail,
)
from tests.factories import CLERK, MANAGER, SERVICE, WAREHOUSE, make_product, order_input


def _level(product_id: int, wh: str) -> tuple[int, int]:
    with db.transaction() as s:
        row = s.execute(select(StockLevel.on_hand, StockLevel.reserved).join(
            Warehouse, Warehouse.id == StockLevel.warehouse_id).where(
            StockLevel.product_id == product_id, Warehouse.code == wh)).first()
    return (row.on_hand, row.reserved) if row else (0, 0)


def _transfer_count() -> int:
    with db.transaction() as s:
        return s.execute(select(func.count(Transfer.id))).scalar_one()


def test_draft_ship_partial_and_full_receipt(db_url: str) -> None:
    a = make_product("A", "10.00", {"SH": 10})
    b = make_product("B", "10.00", {"SH": 5})
    draft = create_transfer("SH", "GZ", [("A", 6), ("B", 5)], WAREHOUSE, note="rebalance")
    assert draft.status == "draft" and draft.number.startswith("TR")
    assert (draft.from_warehouse, draft.to_warehouse) == ("SH", "GZ")
    assert _level(a, "SH") == (10, 0)  # a draft moves nothing

    shipped = ship_transfer(draft.id, WAREHOUSE)
    assert shipped.status == "shipped" and [ln.qty_shipped for ln in shipped.lines] == [6, 5]
    assert _level(a, "SH") == (4, 0) and _level(a, "GZ") == (0, 0)
    transit = in_transit()
    assert transit.set_index("sku")["in_transit"].to_dict() == {"A": 6, "B": 5}
    assert set(transit["warehouse"]) == {"GZ"}

    line_a = next(ln for ln in shipped.lines if ln.sku == "A")
    partial = receive_transfer(draft.id, {line_a.id: 4}, WAREHOUSE)
    assert partial.status == "partial"
    assert _level(a, "GZ") == (4, 0)
    assert in_transit().set_index("sku")["in_transit"].to_dict() == {"A": 2, "B": 5}

    done = receive_transfer(draft.id, None, WAREHOUSE)  # the rest
    assert done.status == "received"
    assert _level(a, "GZ") == (6, 0) and _level(b, "GZ") == (5, 0)
    assert in_transit().empty
    with db.transaction() as s:
        kinds = s.execute(select(StockMovement.kind, func.sum(StockMovement.qty_delta))
                          .where(StockMovement.ref_type == "transfer").group_by(StockMovement.kind)).all()
        assert dict(kinds) == {"transfer_out": -11, "transfer_in": 11}
        actions = s.execute(select(AuditLog.action).where(AuditLog.entity == "transfer")
                            .order_by(AuditLog.id)).scalars().all()
        assert actions == ["transfer.create", "transfer.ship", "transfer.receive", "transfer.receive"]
    listed = list_transfers(MANAGER)
    assert listed.loc[0, "units_received"] == 11 and listed.loc[0, "status"] == "received"


def test_transfer_more_than_available_is_refused_at_draft_and_at_ship(db_url: str) -> None:
    a = make_product("A", "10.00", {"SH": 5})
    with pytest.raises(ValidationError) as err:
        create_transfer("SH", "GZ", [("A", 6)], WAREHOUSE)
    assert [(i.field, i.row) for i in err.value.issues] == [("qty", 1)]
    assert "only 5 of A available in SH" in str(err.value)
    assert _transfer_count() == 0

    draft = create_transfer("SH", "GZ", [("A", 4)], WAREHOUSE)
    orders.create_order(order_input(("A", 3), warehouse="SH"), CLERK)  # reserves 3 of 5 meanwhile
    with pytest.raises(InsufficientStock) as short:
        ship_transfer(draft.id, WAREHOUSE)
    (s,) = short.value.shortages
    assert (s.sku, s.warehouse, s.requested, s.available) == ("A", "SH", 4, 2)
    assert _level(a, "SH") == (5, 3)
    assert transfer_detail(draft.id, MANAGER).status == "draft"


@pytest.mark.parametrize(("src", "dst", "lines", "fields"), [
    ("SH", "SH", [("A", 1)], [("to_warehouse", None)]),
    ("XX", "GZ", [("A", 1)], [("from_warehouse", None)]),
    ("SH", "GZ", [], [("lines", None)]),
    ("SH", "GZ", [("NOPE", 1), ("A", 0)], [("sku", 1), ("qty", 2)]),
    ("SH", "GZ", [("A", -1)], [("qty", 1)]),
    ("SH", "GZ", [("A", 1), ("A", 1)], [("sku", 2)]),
    ("SH", "GZ", [("A", 1.5)], [("qty", 1)]),
])
def test_bad_drafts_name_the_field_and_line(db_url: str, src: str, dst: str, lines: list, fields: list) -> None:
    make_product("A", "10.00", {"SH": 5})
    with pytest.raises(ValidationError) as err:
        create_transfer(src, dst, lines, WAREHOUSE)
    assert [(i.field, i.row) for i in err.value.issues] == fields
    assert _transfer_count() == 0


def test_over_receipt_and_wrong_states_are_refused(db_url: str) -> None:
    make_product("A", "10.00", {"SH": 5})
    draft = create_transfer("SH", "GZ", [("A", 3)], WAREHOUSE)
    with pytest.raises(IllegalTransition):
        receive_transfer(draft.id, None, WAREHOUSE)  # not shipped yet
    shipped = ship_transfer(draft.id, WAREHOUSE)
    with pytest.raises(IllegalTransition):
        ship_transfer(draft.id, WAREHOUSE)
    with pytest.raises(IllegalTransition):
        cancel_transfer(draft.id, WAREHOUSE)
    line = shipped.lines[0]
    with pytest.raises(ValidationError) as err:
        receive_transfer(draft.id, {line.id: 4}, WAREHOUSE)
    assert "shipped 3, already received 0, cannot receive 4 more" in str(err.value)
    with pytest.raises(ValidationError):
        receive_transfer(draft.id, {line.id + 99: 1}, WAREHOUSE)
    with pytest.raises(ValidationError):
        receive_transfer(draft.id, {line.id: 0}, WAREHOUSE)  # nothing to receive
    receive_transfer(draft.id, {line.id: 3}, WAREHOUSE)
    with pytest.raises(IllegalTransition):
        receive_transfer(draft.id, {line.id: 1}, WAREHOUSE)


def test_close_short_records_the_loss(db_url: str) -> None:
    a = make_product("A", "10.00", {"SH": 5})
    t = ship_transfer(create_transfer("SH", "GZ", [("A", 5)], WAREHOUSE).id, WAREHOUSE)
    result = receive_transfer(t.id, {t.lines[0].id: 3}, WAREHOUSE, close_short=True, note="2 broken")
    assert result.status == "received" and result.lines[0].qty_received == 3
    assert _level(a, "SH") == (0, 0) and _level(a, "GZ") == (3, 0)
    assert in_transit().empty
    with db.transaction() as s:
        after = s.execute(select(AuditLog.after).where(AuditLog.action == "transfer.receive")).scalar_one()
    assert after["lost_in_transit"] == {"A": 2}


def test_arrival_re_reserves_backorders_by_priority(db_url: str) -> None:
    a = make_product("A", "10.00", {"SH": 4, "GZ": 0})
    low = orders.create_order(order_input(("A", 3), warehouse="GZ", allow_backorder=True), CLERK)
    high = orders.create_order(order_input(("A", 3), warehouse="GZ", allow_backorder=True, priority=5), CLERK)
    t = ship_transfer(create_transfer("SH", "GZ", [("A", 4)], WAREHOUSE).id, WAREHOUSE)
    result = receive_transfer(t.id, None, WAREHOUSE)
    assert result.released_orders == (high.number,)
    assert _level(a, "GZ") == (4, 3)
    assert orders.order_detail(low.id, MANAGER).header["status"] == "backordered"


def test_cancel_draft_and_roles(db_url: str) -> None:
    make_product("A", "10.00", {"SH": 5})
    with pytest.raises(PermissionDenied):
        create_transfer("SH", "GZ", [("A", 1)], SERVICE)
    draft = create_transfer("SH", "GZ", [("A", 1)], MANAGER)
    assert cancel_transfer(draft.id, WAREHOUSE).status == "cancelled"
    with pytest.raises(IllegalTransition):
        ship_transfer(draft.id, WAREHOUSE)
    assert list(list_transfers(MANAGER, statuses=["cancelled"])["number"]) == [draft.number]
