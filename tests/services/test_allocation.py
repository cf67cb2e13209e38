"""Allocation: rule → availability → cost, split across warehouses when no single one can serve,
and moving an order (or a line) to another warehouse together with its reservation."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core import db
from core.errors import IllegalTransition, InsufficientStock, StaleVersion, ValidationError
from core.models import OrderEvent, OrderLine, StockLevel, StockMovement, Warehouse
from core.services import orders
from core.services.fulfillment import move_to_warehouse
from tests.factories import CLERK, MANAGER, SERVICE, WAREHOUSE, make_product, order_input, pack_by_scan


def _levels(product_id: int) -> dict[str, tuple[int, int]]:
    with db.transaction() as s:
        rows = s.execute(select(Warehouse.code, StockLevel.on_hand, StockLevel.reserved).join(
            Warehouse, Warehouse.id == StockLevel.warehouse_id).where(StockLevel.product_id == product_id)).all()
    return {code: (on_hand, reserved) for code, on_hand, reserved in rows}


def _line_warehouses(order_id: int) -> dict[int, str]:
    with db.transaction() as s:
        return dict(s.execute(select(OrderLine.line_no, Warehouse.code).join(
            Warehouse, Warehouse.id == OrderLine.warehouse_id).where(OrderLine.order_id == order_id)).all())


def test_region_rule_first_then_cheapest_that_can_serve(db_url: str) -> None:
    make_product("A", "10.00", {"SH": 5, "GZ": 5, "BJ": 5, "CD": 5})
    assert orders.create_order(order_input(("A", 1), province="北京", city="北京市", district="朝阳区"),
                               CLERK).warehouse == "BJ"
    assert orders.create_order(order_input(("A", 1), province="四川", city="成都市", district="武侯区"),
                               CLERK).warehouse == "CD"
    # no rule for 华中: the cheapest warehouse (SH, 8.00) serves it
    assert orders.create_order(order_input(("A", 1), province="湖北", city="武汉市", district="洪山区"),
                               CLERK).warehouse == "SH"


def test_split_when_no_single_warehouse_can_serve(db_url: str) -> None:
    a = make_product("A", "10.00", {"SH": 5, "GZ": 0})
    b = make_product("B", "10.00", {"SH": 0, "GZ": 4})
    c = make_product("C", "10.00", {"SH": 2, "GZ": 9})
    r = orders.create_order(order_input(("A", 2), ("B", 3), ("C", 1)), CLERK)  # 上海 → SH preferred
    assert r.status == "confirmed" and not r.backordered
    # SH serves A and C (two products), GZ the rest
    assert (r.warehouse, r.split_to) == ("SH", ("GZ",))
    assert _line_warehouses(r.id) == {1: "SH", 2: "GZ", 3: "SH"}
    assert _levels(a) == {"SH": (5, 2), "GZ": (0, 0)}
    assert _levels(b) == {"SH": (0, 0), "GZ": (4, 3)}
    assert _levels(c) == {"SH": (2, 1), "GZ": (9, 0)}
    # pick and ship use the same per-line warehouses
    pack_by_scan(r.id)
    orders.transition(r.id, "shipped", WAREHOUSE, carrier="SF", tracking_no="SF1")
    with db.transaction() as s:
        shipped = s.execute(select(StockMovement.product_id, Warehouse.code, StockMovement.qty_delta).join(
            Warehouse, Warehouse.id == StockMovement.warehouse_id).where(StockMovement.kind == "shipment")
            .order_by(StockMovement.product_id)).all()
    assert [tuple(x) for x in shipped] == [(a, "SH", -2), (b, "GZ", -3), (c, "SH", -1)]


def test_no_split_when_a_product_is_short_everywhere(db_url: str) -> None:
    make_product("A", "10.00", {"SH": 5})
    make_product("B", "10.00", {"SH": 1, "GZ": 1})
    with pytest.raises(InsufficientStock) as err:
        orders.create_order(order_input(("A", 1), ("B", 2)), CLERK)
    assert [(s.sku, s.warehouse) for s in err.value.shortages] == [("B", "SH")]
    r = orders.create_order(order_input(("A", 1), ("B", 2), allow_backorder=True), CLERK)
    assert r.backordered and r.split_to == ()


def test_explicit_warehouse_is_never_split(db_url: str) -> None:
    make_product("A", "10.00", {"SH": 5})
    make_product("B", "10.00", {"GZ": 5})
    with pytest.raises(InsufficientStock):
        orders.create_order(order_input(("A", 1), ("B", 1), warehouse="SH"), CLERK)


def test_move_order_moves_reservations_with_stock_check(db_url: str) -> None:
    a = make_product("A", "10.00", {"SH": 5, "GZ": 2})
    b = make_product("B", "10.00", {"SH": 5, "GZ": 5})
    r = orders.create_order(order_input(("A", 3), ("B", 1)), CLERK)
    assert r.warehouse == "SH"
    with pytest.raises(InsufficientStock) as err:
        move_to_warehouse(r.id, "GZ", WAREHOUSE)  # GZ has only 2 of A
    assert [(s.sku, s.warehouse, s.requested, s.available) for s in err.value.shortages] == [("A", "GZ", 3, 2)]
    assert _levels(a) == {"SH": (5, 3), "GZ": (2, 0)} and _line_warehouses(r.id) == {1: "SH", 2: "SH"}

    moved = move_to_warehouse(r.id, "GZ", WAREHOUSE, line_nos=[2])  # just B
    assert moved.moved == ("B",) and _line_warehouses(r.id) == {1: "SH", 2: "GZ"}
    assert _levels(b) == {"SH": (5, 0), "GZ": (5, 1)}
    detail = orders.order_detail(r.id, MANAGER)
    assert detail.header["warehouse"] == "SH"  # not all lines moved
    assert detail.events["note"].iloc[-1] == "moved to GZ: B (SH)"
    assert detail.events["note_codes"].iloc[-1] == [{"key": "note.moved", "params": {"warehouse": "GZ", "lines": "B (SH)"}}]

    with db.transaction() as s:  # more A arrives in GZ → now the whole order can move
        gz = s.execute(select(Warehouse.id).where(Warehouse.code == "GZ")).scalar_one()
        from core import stock
        stock.post_movement(s, product_id=a, warehouse_id=gz, qty_delta=3, kind="receipt", actor="t")
    with pytest.raises(StaleVersion):
        move_to_warehouse(r.id, "GZ", WAREHOUSE, expected_version=1)
    move_to_warehouse(r.id, "GZ", WAREHOUSE, expected_version=moved.version)
    assert _levels(a) == {"SH": (5, 0), "GZ": (5, 3)}
    assert orders.order_detail(r.id, MANAGER).header["warehouse"] == "GZ"


def test_move_refusals(db_url: str) -> None:
    make_product("A", "10.00", {"SH": 5, "GZ": 5})
    r = orders.create_order(order_input(("A", 1)), CLERK)
    with pytest.raises(ValidationError):
        move_to_warehouse(r.id, "SH", WAREHOUSE)  # already there
    with pytest.raises(ValidationError):
        move_to_warehouse(r.id, "XX", WAREHOUSE)
    with pytest.raises(ValidationError) as err:
        move_to_warehouse(r.id, "GZ", WAREHOUSE, line_nos=[7])
    assert [(i.field, i.row) for i in err.value.issues] == [("line_no", 7)]
    orders.transition(r.id, "picking", WAREHOUSE)
    with pytest.raises(IllegalTransition):
        move_to_warehouse(r.id, "GZ", WAREHOUSE)
    with db.transaction() as s:
        assert s.execute(select(OrderEvent.note).where(OrderEvent.note.like("moved%"))).first() is None


def test_backordered_order_moves_without_reservation_then_confirms(db_url: str) -> None:
    a = make_product("A", "10.00", {"SH": 0, "GZ": 4})
    r = orders.create_order(order_input(("A", 3), warehouse="SH", allow_backorder=True), CLERK)
    move_to_warehouse(r.id, "GZ", WAREHOUSE)
    assert _levels(a)["GZ"] == (4, 0)
    orders.transition(r.id, "confirmed", SERVICE)
    assert _levels(a)["GZ"] == (4, 3)
