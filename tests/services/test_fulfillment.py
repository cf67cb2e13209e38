"""Pick → pack → ship → deliver: the queue's order, pick lists per warehouse, barcode-verified
packing (wrong item / extra unit refused), shipping only packed orders, bulk CSV shipping."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from core import db
from core.errors import IllegalTransition, PermissionDenied, ValidationError
from core.models import Order, PackScan, PickList, Product, StockLevel, Warehouse
from core.services import orders
from core.services.fulfillment import (
    ScanRefused,
    create_pick_lists,
    fulfilment_queue,
    list_pick_lists,
    mark_delivered,
    pack_progress,
    pick_list,
    scan_item,
    ship_bulk,
    ship_order,
)
from tests.factories import CLERK, MANAGER, SERVICE, WAREHOUSE, make_product, order_input


def _barcode(sku: str) -> str:
    with db.transaction() as s:
        return s.execute(select(Product.barcode).where(Product.sku == sku)).scalar_one()


def _status(order_id: int) -> str:
    return orders.order_detail(order_id, MANAGER).header["status"]


def _pack(order_id: int, *skus: str) -> None:
    for sku in skus:
        scan_item(order_id, _barcode(sku), WAREHOUSE)


@pytest.fixture
def stocked(db_url: str) -> None:
    make_product("A", "10.00", {"SH": 20, "GZ": 20})
    make_product("B", "20.00", {"SH": 20, "GZ": 20})


def test_queue_by_priority_then_due_time(stocked: None) -> None:
    later = orders.create_order(order_input(("A", 1)), CLERK)
    urgent = orders.create_order(order_input(("A", 1), priority=5), CLERK)
    early = orders.create_order(order_input(("A", 1)), CLERK)
    with db.transaction() as s:  # early is due first
        s.execute(Order.__table__.update().where(Order.id == early.id)
                  .values(due_by=dt.datetime(2020, 1, 1)))
    queue = fulfilment_queue(WAREHOUSE)
    assert list(queue["number"]) == [urgent.number, early.number, later.number]
    assert list(queue["overdue"]) == [False, True, False]
    assert fulfilment_queue(WAREHOUSE, warehouse="GZ").empty


def test_pick_lists_are_cut_per_warehouse_and_grouped_by_sku(stocked: None) -> None:
    one = orders.create_order(order_input(("A", 2), ("B", 1)), CLERK)
    two = orders.create_order(order_input(("A", 3)), CLERK)
    gz = orders.create_order(order_input(("B", 4), province="广东", city="广州市", district="天河区"), CLERK)
    lists = create_pick_lists([one.id, two.id, gz.id], WAREHOUSE)
    assert [(pl.warehouse, pl.orders, pl.units) for pl in lists] == [
        ("GZ", (gz.number,), 4), ("SH", (one.number, two.number), 6)]
    assert {_status(o.id) for o in (one, two, gz)} == {"picking"}
    doc = pick_list(lists[1].id, WAREHOUSE)
    assert doc.warehouse == "SH"
    assert doc.items[["sku", "qty"]].values.tolist() == [["A", 5], ["B", 1]]
    assert doc.items.loc[0, "orders"] == f"{one.number}, {two.number}"
    assert len(doc.orders) == 3
    listed = list_pick_lists(WAREHOUSE)
    assert listed[["warehouse", "orders", "open_orders"]].values.tolist() == [["SH", 2, 2], ["GZ", 1, 1]]
    # an order already picking cannot be picked again; nothing is written for the batch
    fresh = orders.create_order(order_input(("A", 1)), CLERK)
    with pytest.raises(ValidationError) as err:
        create_pick_lists([fresh.id, one.id], WAREHOUSE)
    assert [(i.field, i.row) for i in err.value.issues] == [("order", 2)]
    assert _status(fresh.id) == "confirmed"
    with db.transaction() as s:
        assert s.execute(select(func.count(PickList.id))).scalar_one() == 2


def test_pack_verifies_every_unit_and_refuses_wrong_or_extra(stocked: None) -> None:
    make_product("C", "5.00", {"SH": 5})
    r = orders.create_order(order_input(("A", 2), ("B", 1)), CLERK)
    create_pick_lists([r.id], WAREHOUSE)
    first = scan_item(r.id, _barcode("A"), WAREHOUSE)
    assert (first.sku, first.line_scanned, first.line_qty, first.scanned, first.units, first.packed) == (
        "A", 1, 2, 1, 3, False)
    with pytest.raises(ScanRefused) as wrong:
        scan_item(r.id, _barcode("C"), WAREHOUSE)
    assert wrong.value.key == "pack.wrong_item" and "C" in str(wrong.value) and r.number in str(wrong.value)
    with pytest.raises(ScanRefused) as unknown:
        scan_item(r.id, "0000000", WAREHOUSE)
    assert unknown.value.key == "pack.unknown_barcode"
    scan_item(r.id, _barcode("A"), WAREHOUSE)
    with pytest.raises(ScanRefused) as extra:
        scan_item(r.id, _barcode("A"), WAREHOUSE)
    assert extra.value.key == "pack.extra_unit" and "needs 2" in str(extra.value)
    assert _status(r.id) == "picking"
    last = scan_item(r.id, "B", WAREHOUSE)  # a typed SKU works when a label is unreadable
    assert last.packed and _status(r.id) == "packed"
    progress = pack_progress(r.id, WAREHOUSE)
    assert progress[["sku", "qty", "scanned"]].values.tolist() == [["A", 2, 2], ["B", 1, 1]]
    with db.transaction() as s:
        assert s.execute(select(func.sum(PackScan.qty))).scalar_one() == 3  # refused scans left no row
    with pytest.raises(IllegalTransition):
        scan_item(r.id, _barcode("A"), WAREHOUSE)  # already packed


def test_first_scan_starts_picking_a_confirmed_order(stocked: None) -> None:
    r = orders.create_order(order_input(("A", 1)), CLERK)
    assert scan_item(r.id, _barcode("A"), WAREHOUSE).packed
    events = list(orders.order_detail(r.id, MANAGER).events["to_status"])
    assert events == ["confirmed", "picking", "packed"]


def test_ship_only_packed_orders_with_tracking(stocked: None) -> None:
    r = orders.create_order(order_input(("A", 2)), CLERK)
    with pytest.raises(IllegalTransition):
        ship_order(r.id, "顺丰", "SF1", WAREHOUSE)  # unpacked
    _pack(r.id, "A", "A")
    with pytest.raises(ValidationError) as err:
        ship_order(r.id, "顺丰", " ", WAREHOUSE)
    assert [i.field for i in err.value.issues] == ["tracking_no"]
    with pytest.raises(PermissionDenied):
        ship_order(r.id, "顺丰", "SF1", CLERK)
    ship_order(r.id, "顺丰", "SF1", WAREHOUSE)
    header = orders.order_detail(r.id, MANAGER).header
    assert (header["status"], header["carrier"], header["tracking_no"]) == ("shipped", "顺丰", "SF1")
    with db.transaction() as s:
        assert s.execute(select(StockLevel.on_hand, StockLevel.reserved)
                         .join(Product, Product.id == StockLevel.product_id)
                         .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
                         .where(Warehouse.code == "SH", Product.sku == "A")).one() == (18, 0)
    assert mark_delivered([r.id], SERVICE) == (r.number,)
    with pytest.raises(ValidationError):
        mark_delivered([r.id], SERVICE)  # already delivered


def test_bulk_ship_is_all_or_nothing_with_file_lines(stocked: None) -> None:
    a = orders.create_order(order_input(("A", 1)), CLERK)
    b = orders.create_order(order_input(("B", 1)), CLERK)
    c = orders.create_order(order_input(("A", 1)), CLERK)
    _pack(a.id, "A")
    _pack(b.id, "B")
    bad = (f"订单号,快递公司,运单号\n{a.number},顺丰,SF1\n{c.number},顺丰,SF2\nSO-NOPE,顺丰,SF3\n"
           f"{b.number},,SF1\n").encode()
    with pytest.raises(ValidationError) as err:
        ship_bulk(bad, WAREHOUSE)
    assert [(i.field, i.row) for i in err.value.issues] == [("order", 3), ("order", 4), ("tracking_no", 5)]
    assert {_status(a.id), _status(b.id)} == {"packed"}
    good = f"order,carrier,tracking\n{a.number.lower()},顺丰,SF1\n{b.number},中通,ZT9\n".encode("gb18030")
    assert ship_bulk(good, WAREHOUSE).shipped == (a.number, b.number)
    assert orders.order_detail(b.id, MANAGER).header["tracking_no"] == "ZT9"
    with pytest.raises(ValidationError) as err:
        ship_bulk(b"foo,bar\n1,2\n", WAREHOUSE)
    assert {i.field for i in err.value.issues} == {"file"}


def test_pickup_orders_ship_without_carrier_or_tracking(stocked: None) -> None:
    r = orders.create_order(order_input(("A", 1), delivery_method="pickup", warehouse="SH"), CLERK)
    _pack(r.id, "A")
    ship_order(r.id, None, None, WAREHOUSE)
    assert _status(r.id) == "shipped"
