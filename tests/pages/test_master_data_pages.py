"""Product catalogue and customer profile pages: search, full-table download, create / edit /
deactivate a product, edit and merge customers; refusals are shown and nothing is written."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from core import db
from core.i18n import translate
from core.models import Product, Supplier
from core.services import catalog, customer_profiles, product_master
from core.services.orders import create_order
from tests.factories import CLERK, MANAGER, make_product, order_input

PRODUCTS = "pages/product_catalog.py"
CUSTOMERS = "pages/customer_profiles.py"


def _markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def _products() -> int:
    with db.transaction() as s:
        return s.execute(select(func.count()).select_from(Product)).scalar_one()


@pytest.fixture
def catalogue(db_url: str) -> int:
    with db.transaction() as s:
        s.add(Supplier(name="杭州茶厂", lead_time_days=5, moq=10))
    return make_product("TEA-1", "10.00", {"SH": 5})


def _fill(at: AppTest, prefix: str, **values: str) -> None:
    for name, value in values.items():
        if name in ("barcodes", "attributes"):
            at.text_area(key=f"{prefix}_{name}").input(value)
        else:
            at.text_input(key=f"{prefix}_{name}").input(value)


def test_buyer_creates_a_product_with_two_barcodes(logged_in: Callable[..., AppTest], catalogue: int) -> None:
    at = logged_in("buyer", page=PRODUCTS)
    assert at.dataframe[0].value[translate("mdp_col.sku", "en")].tolist() == ["TEA-1"]
    _fill(at, "mdp_new", sku="CUP-9", name="Glass cup", price="12.50", cost="4.20", barcodes="111222, CUP-LABEL",
          attributes="size=300ml")
    at.selectbox(key="mdp_new_supplier").select("杭州茶厂")
    at.button(key="mdp_create").click().run()
    assert not at.exception
    assert translate("mdp.created", "en", sku="CUP-9") in [s.value for s in at.success]
    created = product_master.list_products(MANAGER, "CUP-9")
    assert created[["sku", "barcodes", "supplier", "attributes", "active"]].values.tolist() == [
        ["CUP-9", "111222, CUP-LABEL", "杭州茶厂", "size=300ml", True]]
    found = catalog.product_by_barcode("CUP-LABEL", CLERK)
    assert found is not None and found.sku == "CUP-9"
    table = at.dataframe[0].value
    assert table[translate("mdp_col.sku", "en")].tolist() == ["CUP-9", "TEA-1"]
    assert at.text_input(key="mdp_new_sku").value == ""  # the form is cleared for the next one


def test_bad_product_is_refused_field_by_field_and_nothing_is_written(logged_in: Callable[..., AppTest],
                                                                       catalogue: int) -> None:
    at = logged_in("manager", page=PRODUCTS)
    before = _products()
    barcode = product_master.product_record(catalogue, MANAGER).barcodes[0]
    _fill(at, "mdp_new", sku="TEA-1", name="", price="9.999", cost="1", barcodes=barcode)
    at.button(key="mdp_create").click().run()
    assert translate("error.validation_what", "en", what=translate("what.product", "en")) in [e.value for e in at.error]
    text = _markdown(at)
    assert translate("mdp.sku_taken", "en", sku="TEA-1", name="商品 TEA-1") in text
    assert translate("mdp.decimals", "en", n=2) in text
    assert translate("mdp.barcode_taken", "en", code=barcode, sku="TEA-1") in text
    assert _products() == before
    assert at.text_input(key="mdp_new_name").value == ""  and at.text_input(key="mdp_new_price").value == "9.999"


def test_edit_and_deactivate_a_product_in_use(logged_in: Callable[..., AppTest], catalogue: int) -> None:
    at = logged_in("manager", page=PRODUCTS)
    at.tabs[1].selectbox(key="mdp_pick").select(catalogue).run()
    assert at.text_input(key=f"mdp_e{catalogue}_sku").disabled  # in stock: the SKU is fixed
    _fill(at, f"mdp_e{catalogue}", price="11.00", barcodes="NEW-CODE")
    at.button(key="mdp_save").click().run()
    assert not at.exception and translate("mdp.saved", "en", sku="TEA-1") in [s.value for s in at.success]
    rec = product_master.product_record(catalogue, MANAGER)
    assert str(rec.unit_price) == "11.00" and rec.barcodes == ("NEW-CODE",)
    at.button(key="mdp_deactivate").click().run()
    assert not product_master.product_record(catalogue, MANAGER).active
    assert "mdp_delete" not in [b.key for b in at.button]  # used products are never deleted


def test_search_by_barcode_and_download(logged_in: Callable[..., AppTest], catalogue: int) -> None:
    make_product("CUP-1", "3.00")
    at = logged_in("buyer", page=PRODUCTS)
    barcode = product_master.product_record(catalogue, MANAGER).barcodes[0]
    at.text_input(key="mdp_query").input(barcode).run()
    assert at.dataframe[0].value[translate("mdp_col.sku", "en")].tolist() == ["TEA-1"]
    assert {"dl_csv_products", "dl_xlsx_products"} <= {b.key for b in at.get("download_button")}


def test_clerk_cannot_open_the_catalogue(logged_in: Callable[..., AppTest], catalogue: int) -> None:
    at = logged_in("clerk")
    with pytest.raises(ValueError):
        at.switch_page(PRODUCTS).run()


@pytest.fixture
def two_profiles(db_url: str) -> tuple[int, int]:
    make_product("TEA-1", "10.00", {"SH": 10})
    first = create_order(order_input(("TEA-1", 1)), CLERK).customer_id
    second = create_order(order_input(("TEA-1", 1), phone="13900139000", customer_name="张三 (二号)"), CLERK).customer_id
    return first, second


def test_service_edits_a_profile(logged_in: Callable[..., AppTest], two_profiles: tuple[int, int]) -> None:
    first, _ = two_profiles
    at = logged_in("service", page=CUSTOMERS)
    assert len(at.dataframe[0].value) == 2
    assert translate("list.showing", "en", first=1, last=2, total=2) in [c.value for c in at.caption]
    assert translate("list.download_all", "en", n=2) in [b.label for b in at.download_button]
    at.selectbox(key="cp_pick").select(first).run()
    at.text_input(key=f"cp_e{first}_email").input("ZS@Example.com")
    at.button(key="cp_save").click().run()
    assert not at.exception
    assert customer_profiles.customer_profile(first, MANAGER).email == "zs@example.com"


def test_bad_profile_edit_is_refused(logged_in: Callable[..., AppTest], two_profiles: tuple[int, int]) -> None:
    first, second = two_profiles
    at = logged_in("service", page=CUSTOMERS)
    at.selectbox(key="cp_pick").select(first).run()
    at.text_input(key=f"cp_e{first}_phone").input("139-0013-9000")  # 张三 (二号)'s number
    at.button(key="cp_save").click().run()
    code = customer_profiles.customer_profile(second, MANAGER).code
    assert translate("mdp.contact_taken", "en", code=code, name="张三 (二号)") in _markdown(at)
    assert customer_profiles.customer_profile(first, MANAGER).phone == "13800138000"


def test_merge_needs_confirmation_then_moves_the_orders(logged_in: Callable[..., AppTest],
                                                       two_profiles: tuple[int, int]) -> None:
    first, second = two_profiles
    at = logged_in("service", page=CUSTOMERS)
    at.selectbox(key="cp_pick").select(first).run()
    at.text_input(key="cp_merge_query").input("13900139000").run()
    at.selectbox(key="cp_merge_pick").select(second)
    at.button(key="cp_merge").click().run()
    assert translate("mdp.merge_unconfirmed", "en") in [w.value for w in at.warning]
    assert customer_profiles.customer_profile(second, MANAGER).merged_into is None
    at.text_input(key="cp_merge_query").input("13900139000").run()
    at.selectbox(key="cp_merge_pick").select(second)
    at.checkbox(key="cp_merge_confirm").check()
    at.button(key="cp_merge").click().run()
    assert not at.exception
    survivor = customer_profiles.customer_profile(first, MANAGER)
    assert survivor.orders == 2
    assert customer_profiles.customer_profile(second, MANAGER).merged_into == survivor.code
    assert len(at.dataframe[0].value) == 1  # the merged profile is hidden unless asked for


def test_clerk_edits_but_cannot_merge(logged_in: Callable[..., AppTest], two_profiles: tuple[int, int]) -> None:
    at = logged_in("clerk", page=CUSTOMERS)
    at.selectbox(key="cp_pick").select(two_profiles[0]).run()
    assert "cp_save" in [b.key for b in at.button]
    assert not [e for e in at.expander if translate("mdp.merge", "en") in e.label]
