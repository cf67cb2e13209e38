"""The kit editor (a tab of the product catalogue): make a product a kit of "SKU qty" lines,
see what each warehouse can build, a refusal names the row and writes nothing, remove a kit;
the sales page shows kit sales beside component demand."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from core.i18n import translate
from core.services import kits, orders
from tests.factories import CLERK, MANAGER, make_product, order_input

PRODUCTS = "pages/product_catalog.py"


@pytest.fixture
def parts(db_url: str) -> None:
    make_product("CUP", "10.00", {"SH": 9})
    make_product("TEA", "30.00", {"SH": 2})
    make_product("GIFT", "45.00")


def _save(at: AppTest, sku: str, components: str) -> AppTest:
    at.text_input(key="kit_sku").input(sku)
    at.text_area(key="kit_components").input(components)
    return at.button(key="kit_save").click().run()


def test_buyer_makes_a_kit_and_sees_what_it_can_build(logged_in: Callable[..., AppTest], parts: None) -> None:
    at = logged_in("buyer", page=PRODUCTS)
    assert translate("kits.none", "en") in [i.value for i in at.info]
    at = _save(at, "GIFT", "CUP 2\nTEA × 1")
    assert not at.exception
    assert translate("kits.saved", "en", sku="GIFT") in [s.value for s in at.success]
    assert kits.list_kits(MANAGER)[["component_sku", "qty"]].values.tolist() == [["CUP", 2], ["TEA", 1]]
    built = at.dataframe[-1].value
    assert built.values.tolist() == [["GIFT", "SH", 2]]  # min(9 // 2, 2 // 1)


def test_a_refused_kit_names_the_row_and_writes_nothing(logged_in: Callable[..., AppTest], parts: None) -> None:
    at = _save(logged_in("buyer", page=PRODUCTS), "GIFT", "CUP 2\nTEA 1000")
    assert not at.exception
    shown = "\n".join(e.value for e in at.error) + "\n".join(m.value for m in at.markdown)
    assert "1000" in shown or translate("issue.at_most", "en", n=999) in shown
    assert kits.list_kits(MANAGER).empty


def test_removing_a_kit_makes_it_a_product_again(logged_in: Callable[..., AppTest], parts: None) -> None:
    kits.save_kit("GIFT", [("CUP", 2)], MANAGER)
    at = logged_in("buyer", page=PRODUCTS)
    at.text_input(key="kit_sku").input("GIFT")
    at = at.button(key="kit_remove").click().run()
    assert translate("kits.removed", "en", sku="GIFT") in [s.value for s in at.success]
    assert kits.list_kits(MANAGER).empty


def test_the_sales_page_shows_kit_sales_and_component_demand(logged_in: Callable[..., AppTest], parts: None) -> None:
    kits.save_kit("GIFT", [("CUP", 2), ("TEA", 1)], MANAGER)
    orders.create_order(order_input(("GIFT", 2)), CLERK)
    at = logged_in("manager", page="pages/sales.py")
    assert not at.exception
    assert translate("kits.sales_title", "en") in [h.value for h in at.subheader]
    shown = at.dataframe[-1].value
    assert shown.iloc[:, 1].tolist() == ["GIFT", "CUP", "TEA"]
    assert shown.iloc[:, 3].tolist() == [2, 4, 2]


def test_the_inventory_page_lists_what_kits_each_warehouse_can_build(logged_in: Callable[..., AppTest],
                                                                     parts: None) -> None:
    kits.save_kit("GIFT", [("CUP", 2), ("TEA", 1)], MANAGER)
    at = logged_in("warehouse", page="pages/inventory.py")
    assert not at.exception
    assert at.dataframe[-1].value.values.tolist() == [["GIFT", "SH", 2]]
