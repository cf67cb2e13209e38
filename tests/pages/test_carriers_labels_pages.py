"""Carriers and labels on the pages: the ship step shows the carrier chosen and the weight to
expect, refuses a parcel off the scale until confirmed, and offers the label PDF; a wave's labels
print as one PDF; Master data keeps a carrier's price list and number ranges."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from sqlalchemy import update
from streamlit.testing.v1 import AppTest

from core import db
from core.i18n import translate
from core.models import Product
from core.services import carriers, master_data, orders, tracking_numbers, waves
from tests.factories import ADMIN, CLERK, MANAGER, WAREHOUSE, make_product, order_input, pack_by_scan


def en(key: str, **params: object) -> str:
    return translate(key, "en", **params)


def _carrier_with_numbers() -> None:
    make_product("TEA-1", "25.00", {"SH": 50})
    with db.transaction() as s:
        s.execute(update(Product).where(Product.sku == "TEA-1").values(weight_kg=Decimal("0.500")))
    master_data.update_carrier(master_data.CarrierInput("ZTO", "中通快递", tracking_pattern=r"7\d{11}"), ADMIN)
    carriers.set_rates("ZTO", [carriers.RateRow("*", "3", "8.00")], ADMIN)
    tracking_numbers.add_range("ZTO", "7", 1, 100, 11, ADMIN)


def test_ship_weighs_confirms_and_offers_the_label(logged_in: Callable[..., AppTest]) -> None:
    _carrier_with_numbers()
    order = orders.create_order(order_input(("TEA-1", 2)), CLERK)
    pack_by_scan(order.id)
    at = logged_in("warehouse", page="pages/fulfillment.py")
    at.selectbox(key="fl_ship_order").set_value(order.id).run()
    assert en("label.choice", carrier="中通快递", how=en("label.cheapest"), cost=en("label.cost", cost="8.00"),
              kg="1.000") in [c.value for c in at.caption]
    at.text_input(key="fl_weight").input("1.5")
    at.button(key="fl_ship").click().run()
    assert any(en("carrier.weight_off", number=order.number, weighed="1.5", expected="1.000", off="50.0",
                  tolerance=10) in e.value for e in at.error)
    assert orders.order_detail(order.id, MANAGER).header["status"] == "packed"
    at.checkbox(key="fl_weight_ok").check()
    at.button(key="fl_ship").click().run()
    assert not at.exception
    assert en("fl.shipped_one") in [s.value for s in at.success]
    header = orders.order_detail(order.id, MANAGER).header
    assert (header["status"], header["carrier"], header["tracking_no"]) == ("shipped", "中通快递", "700000000001")
    assert en("label.download", name=f"label_{order.id}.pdf") in [b.label for b in at.download_button]


def test_wave_labels_as_one_pdf(logged_in: Callable[..., AppTest]) -> None:
    _carrier_with_numbers()
    for _ in range(2):
        orders.create_order(order_input(("TEA-1", 1)), CLERK)
    wave = waves.create_wave("SH", waves.WaveRule(), WAREHOUSE)
    at = logged_in("warehouse", page="pages/waves.py")
    at.button(key="wv_labels_print").click().run()
    assert not at.exception and not at.error
    assert en("label.download", name=f"{wave.number}_labels.pdf") in [b.label for b in at.download_button]
    assert all(orders.order_detail(orders.order_id_by_number(n), MANAGER).header["tracking_no"] for n in wave.orders)


def test_master_data_keeps_price_list_and_ranges(logged_in: Callable[..., AppTest]) -> None:
    _carrier_with_numbers()
    at = logged_in("admin", page="pages/master_data.py")
    at.selectbox(key="md_ca_pick").set_value("ZTO").run()
    assert not at.exception
    at.text_input(key="tr_prefix_ZTO").input("7")
    at.number_input(key="tr_first_ZTO").set_value(500)
    at.number_input(key="tr_last_ZTO").set_value(599)
    at.number_input(key="tr_width_ZTO").set_value(11)
    at.button(key="tr_add_ZTO").click().run()
    assert not at.exception and not at.error
    assert en("tracking_range.added", carrier="ZTO", n=100) in [s.value for s in at.success]
    assert sorted(tracking_numbers.list_ranges(ADMIN)["left"]) == [100, 100]
