"""Interceptions (拦截): an open hold stops the pick list, the wave, the pack bench and shipping,
naming the order and the reason; an address edited after picking started holds the order by
itself; releasing is a review step; every refusal writes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core import db
from core.domain.waves import WaveRule
from core.errors import PermissionDenied, Refused, ValidationError
from core.models import Order, OrderHold, PackScan, Product
from core.services import orders, waves
from core.services.fulfillment import create_pick_lists, scan_item
from core.services.orders import holds
from tests.factories import CLERK, MANAGER, SERVICE, WAREHOUSE, make_product, order_input


def _status(order_id: int) -> str:
    with db.transaction(readonly=True) as s:
        return s.execute(select(Order.status).where(Order.id == order_id)).scalar_one()


def _barcode(sku: str) -> str:
    with db.transaction(readonly=True) as s:
        return s.execute(select(Product.barcode).where(Product.sku == sku)).scalar_one()


@pytest.fixture
def order(db_url: str) -> orders.OrderResult:
    make_product("A", "10.00", {"SH": 20})
    return orders.create_order(order_input(("A", 2)), CLERK)


def test_a_hold_stops_the_floor_until_released(order: orders.OrderResult) -> None:
    holds.intercept(order.number, "refund_requested", SERVICE, note="旺旺：买家申请退款")
    for attempt in (lambda: create_pick_lists([order.id], WAREHOUSE),
                    lambda: scan_item(order.id, _barcode("A"), WAREHOUSE)):
        with pytest.raises(Refused) as refused:
            attempt()
        assert (refused.value.key, refused.value.params) == ("hold.stopped.refund_requested", {"number": order.number})
    assert waves.preview_wave("SH", WaveRule(), WAREHOUSE).empty  # a wave leaves it out
    assert _status(order.id) == "confirmed"
    with db.transaction(readonly=True) as s:
        assert s.execute(select(func.count(PackScan.id))).scalar_one() == 0
    with pytest.raises(PermissionDenied):
        holds.release(order.number, WAREHOUSE)  # releasing is a review step
    assert holds.release(order.number, SERVICE) == 1
    create_pick_lists([order.id], WAREHOUSE)
    assert _status(order.id) == "picking"
    with pytest.raises(Refused) as refused:
        holds.release(order.number, SERVICE)
    assert refused.value.key == "hold.none_open"


def test_an_address_changed_after_picking_started_holds_the_order(order: orders.OrderResult) -> None:
    orders.update_order(order.id, {"ship_address": "新地址 1 号"}, CLERK,
                        expected_version=orders.order_detail(order.id, MANAGER).header["version"])
    assert holds.open_holds(MANAGER).empty  # before picking the parcel has no label yet
    create_pick_lists([order.id], WAREHOUSE)
    version = int(orders.order_detail(order.id, MANAGER).header["version"])
    orders.update_order(order.id, {"ship_address": "又改了 2 号"}, CLERK, expected_version=version)
    [hold] = holds.open_holds(MANAGER).itertuples()
    assert (hold.number, hold.reason) == (order.number, "address_changed")
    with pytest.raises(Refused) as refused:
        scan_item(order.id, _barcode("A"), WAREHOUSE)
    assert refused.value.key == "hold.stopped.address_changed"


def test_bad_interceptions_are_refused(order: orders.OrderResult) -> None:
    with pytest.raises(ValidationError):
        holds.intercept(order.number, "bored", SERVICE)
    with pytest.raises(PermissionDenied):
        holds.intercept(order.number, "other", WAREHOUSE)
    with db.transaction(readonly=True) as s:
        assert s.execute(select(func.count(OrderHold.id))).scalar_one() == 0
    holds.intercept(order.number, "other", SERVICE)
    holds.intercept(order.number, "other", SERVICE)  # the same reason twice is one hold
    assert len(holds.open_holds(MANAGER)) == 1
