"""Fulfilment page: queue → pick list (printable) → pack with barcode checks → ship → deliver,
plus moving an order to another warehouse."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core import db
from core.i18n import translate
from core.models import Product
from core.services import orders
from core.services.inventory import receive_adhoc
from tests.factories import CLERK, MANAGER, make_product, order_input

PAGE = "pages/fulfillment.py"


def en(key: str, **params: object) -> str:
    return translate(key, "en", **params)


def _barcode(sku: str) -> str:
    with db.transaction() as s:
        return s.execute(select(Product.barcode).where(Product.sku == sku)).scalar_one()


def _status(order_id: int) -> str:
    return orders.order_detail(order_id, MANAGER).header["status"]


def test_pick_pack_ship_deliver(logged_in: Callable[..., AppTest]) -> None:
    make_product("TEA-1", "25.00", {"SH": 10})
    make_product("CUP-1", "8.00", {"SH": 10})
    r = orders.create_order(order_input(("TEA-1", 2)), CLERK)
    at = logged_in("warehouse", page=PAGE)
    queue = at.dataframe[0].value
    assert queue[en("field.number")].tolist() == [r.number]
    at.multiselect(key="fl_pick_orders").set_value([r.id])
    at.button(key="fl_create_lists").click().run()
    assert not at.exception
    assert at.success[0].value.startswith(en("fl.pick_lists_created", lists="PL"))
    assert _status(r.id) == "picking"
    assert {b.label for b in at.download_button} >= {en("doc.pick_list"), en("common.download_csv")}

    at.selectbox(key="fl_pack_order").set_value(r.id).run()
    at.text_input(key="fl_scan").input(_barcode("CUP-1")).run()  # wrong item
    assert en("pack.wrong_item", sku="CUP-1", name="商品 CUP-1", number=r.number) in [e.value for e in at.error]
    at.text_input(key="fl_scan").input(_barcode("TEA-1")).run()
    assert en("fl.scan_ok", sku="TEA-1", name="商品 TEA-1", line=1, of=2, scanned=1, units=2) in [
        s.value for s in at.success]
    assert at.dataframe[-1].value[en("field.scanned")].tolist() == [1]
    at.text_input(key="fl_scan").input(_barcode("TEA-1")).run()
    assert en("fl.scan_packed", sku="TEA-1", units=2, number=r.number) in [s.value for s in at.success]
    assert _status(r.id) == "packed"
    assert at.selectbox(key="fl_pack_order").options == []  # it left the pack bench

    at.selectbox(key="fl_ship_order").set_value(r.id).run()
    at.button(key="fl_ship").click().run()  # no tracking number yet
    assert en("error.validation_what", what=en("what.shipment")) in [e.value for e in at.error]
    at.text_input(key="fl_carrier").input("顺丰")
    at.text_input(key="fl_tracking").input("SF123")
    at.button(key="fl_ship").click().run()
    assert en("fl.shipped_one") in [s.value for s in at.success]
    assert _status(r.id) == "shipped"

    at.multiselect(key="fl_deliver_orders").set_value([r.id])
    at.button(key="fl_deliver").click().run()
    assert en("fl.delivered", n=1) in [s.value for s in at.success]
    assert _status(r.id) == "delivered"


def test_move_order_to_another_warehouse(logged_in: Callable[..., AppTest]) -> None:
    make_product("TEA-1", "25.00", {"SH": 10, "GZ": 1})
    r = orders.create_order(order_input(("TEA-1", 2)), CLERK)
    at = logged_in("manager", page=PAGE)
    at.selectbox(key="fl_move_order").set_value(r.id).run()
    at.selectbox(key="fl_move_to").set_value("GZ")
    at.button(key="fl_move").click().run()
    assert en("error.insufficient_stock_what", what=en("what.order")) in [e.value for e in at.error]  # GZ has only 1
    assert orders.order_detail(r.id, MANAGER).header["warehouse"] == "SH"
    receive_adhoc("BJ", [("TEA-1", 5)], MANAGER)
    at.selectbox(key="fl_move_to").set_value("BJ")
    at.button(key="fl_move").click().run()
    assert en("fl.moved", number=r.number, warehouse="BJ", skus="TEA-1") in [s.value for s in at.success]
    assert orders.order_detail(r.id, MANAGER).header["warehouse"] == "BJ"
