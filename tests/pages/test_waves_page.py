"""Waves page: create a wave from the rule form, sort by scanning (the slot shown large; a unit
not on the wave refused in the sorter's language), report a short pick."""

from __future__ import annotations

from collections.abc import Callable

from streamlit.testing.v1 import AppTest

from core.i18n import translate
from core.services import orders
from core.services.fulfillment import list_pick_lists
from tests.factories import CLERK, WAREHOUSE, make_product, order_input

PAGE = "pages/waves.py"


def en(key: str, **params: object) -> str:
    return translate(key, "en", **params)


def test_create_sort_and_report_short(logged_in: Callable[..., AppTest]) -> None:
    make_product("TEA-1", "25.00", {"SH": 10})
    make_product("CUP-1", "5.00", {"SH": 10})
    first = orders.create_order(order_input(("TEA-1", 1), priority=3), CLERK).number
    second = orders.create_order(order_input(("TEA-1", 1), ("CUP-1", 1)), CLERK).number
    at = logged_in("warehouse", page=PAGE).selectbox(key="wv_wh").set_value("SH").run()
    assert not at.exception
    assert en("wave.preview", n=2) in [m.value for m in at.markdown]
    at = at.button(key="wv_create").click().run()
    assert not at.exception and not at.error
    [wave] = list_pick_lists(WAREHOUSE, kind="wave").itertuples()
    assert at.success[0].value == en("wave.created", number=wave.number, orders=2, units=3)

    at.text_input(key="wv_scan").set_value("TEA-1").run()
    assert not at.exception
    assert f"## {en('wave.put_into', slot=1)}" in [m.value for m in at.markdown]
    assert en("wave.order_done", number=first) in [s.value for s in at.success]
    at.text_input(key="wv_scan").set_value("NOPE").run()
    assert at.error[0].value == en("pack.unknown_barcode", barcode="NOPE")

    at.text_input(key="wv_short_sku").set_value("CUP-1")
    at = at.button(key="wv_short_report").click().run()
    assert not at.exception
    assert at.warning[0].value == en("wave.short_done", sku="CUP-1", missing=1, orders=second)
