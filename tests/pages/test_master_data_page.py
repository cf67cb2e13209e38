"""Master data page: tables per tab, add / change / deactivate through the services; refusals
shown with their reason and nothing written; buyers keep suppliers only."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import delete, func, select
from streamlit.testing.v1 import AppTest

from core import db, refdata
from core.i18n import translate
from core.models import Channel, Rule, Supplier, Warehouse
from core.services import master_data as md
from tests.factories import ADMIN, make_product

PAGE = "pages/master_data.py"


def en(key: str, **params: object) -> str:
    return translate(key, "en", **params)


def _count(model: type, *where: object) -> int:
    with db.transaction() as s:
        return s.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def test_tables_for_every_tab(db_url: str, logged_in: Callable[..., AppTest]) -> None:
    at = logged_in("manager", page=PAGE)
    assert not at.exception, at.exception
    warehouses, channels, suppliers = (frame.value for frame in at.dataframe[:3])
    assert warehouses[en("field.code")].tolist() == ["BJ", "CD", "GZ", "SH"]
    assert en("kind.marketplace") in channels[en("field.kind")].tolist()
    assert suppliers.empty


def test_add_a_warehouse_then_rename_it(db_url: str, logged_in: Callable[..., AppTest]) -> None:
    at = logged_in("admin", page=PAGE)
    at.text_input(key="md_wh_code_new").input(" hz ")
    at.text_input(key="md_wh_name_new").input("杭州门店")
    at.text_input(key="md_wh_province_new").input("浙江")
    at.checkbox(key="md_wh_is_store_new").check()
    at.button(key="md_wh_save").click().run()
    assert not at.exception, at.exception
    assert en("md.created", item="HZ") in [s.value for s in at.success]
    with db.transaction() as s:
        row = s.execute(select(Warehouse).where(Warehouse.code == "HZ")).scalar_one()
        assert (row.name, row.region, row.is_store) == ("杭州门店", "华东", True)
    # The picker now shows the new row; the "(new)" form is empty again.
    assert at.selectbox(key="md_wh_pick").value == "HZ"
    assert at.text_input(key="md_wh_name_HZ").value == "杭州门店"
    at.selectbox(key="md_wh_pick").set_value("").run()
    assert at.text_input(key="md_wh_code_new").value == "" and at.text_input(key="md_wh_name_new").value == ""
    at.selectbox(key="md_wh_pick").set_value("HZ").run()
    at.text_input(key="md_wh_name_HZ").input("杭州西湖店")
    at.button(key="md_wh_save").click().run()
    assert en("md.saved", item="HZ") in [s.value for s in at.success]
    assert _count(Warehouse, Warehouse.name == "杭州西湖店") == 1


def test_a_bad_code_is_named_and_nothing_is_written(db_url: str, logged_in: Callable[..., AppTest]) -> None:
    at = logged_in("admin", page=PAGE)
    at.text_input(key="md_wh_code_new").input("H Z")
    at.text_input(key="md_wh_name_new").input("杭州门店")
    at.button(key="md_wh_save").click().run()
    assert not at.exception, at.exception
    assert en("error.validation_what", what=en("what.master_data")) in [e.value for e in at.error]
    assert en("md.issue_code_chars", code="H Z") in at.markdown[0].value
    assert _count(Warehouse) == 4


def test_deactivating_a_warehouse_a_rule_uses_shows_the_rule(db_url: str, logged_in: Callable[..., AppTest]) -> None:
    at = logged_in("manager", page=PAGE)
    at.selectbox(key="md_wh_pick").set_value("GZ").run()
    at.button(key="md_wh_deactivate").click().run()
    assert not at.exception, at.exception
    assert en("md.warehouse_in_rule", code="GZ", rule="华南 → 广州仓") in [e.value for e in at.error]
    assert _count(Warehouse, Warehouse.active.is_(True)) == 4


def test_channels_deactivate_and_reactivate(db_url: str, logged_in: Callable[..., AppTest]) -> None:
    at = logged_in("admin", page=PAGE)
    at.selectbox(key="md_ch_pick").set_value("GROUPBUY").run()
    at.button(key="md_ch_deactivate").click().run()
    assert en("md.deactivated", item="GROUPBUY") in [s.value for s in at.success]
    assert _count(Channel, Channel.active.is_(False)) == 1
    at.button(key="md_ch_reactivate").click().run()
    assert _count(Channel, Channel.active.is_(False)) == 0


def test_buyers_keep_suppliers_but_not_warehouses(db_url: str, logged_in: Callable[..., AppTest]) -> None:
    at = logged_in("buyer", page=PAGE)
    assert not at.exception, at.exception
    keys = {b.key for b in at.button}
    assert "md_su_save" in keys and "md_wh_save" not in keys and "md_ch_save" not in keys
    at.text_input(key="md_su_name_new").input("西湖茶厂")
    at.number_input(key="md_su_moq_new").set_value(24)
    at.button(key="md_su_save").click().run()
    assert en("md.created", item="西湖茶厂") in [s.value for s in at.success]
    assert _count(Supplier, Supplier.moq == 24) == 1
    assert at.selectbox(key="md_su_pick").value != ""  # the picker shows the new supplier
    at.selectbox(key="md_su_pick").set_value("").run()
    at.text_input(key="md_su_name_new").input("西湖茶厂")  # the same name again
    at.button(key="md_su_save").click().run()
    assert en("md.issue_name_taken", name="西湖茶厂") in at.markdown[0].value
    assert _count(Supplier) == 1


def test_clerks_do_not_get_the_page(db_url: str, logged_in: Callable[..., AppTest]) -> None:
    at = logged_in("clerk")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(PAGE)


def test_order_entry_in_a_shop_with_one_channel_or_none(db_url: str, logged_in: Callable[..., AppTest]) -> None:
    for code in ("PHONE", "TMALL", "JD", "DOUYIN", "WECHAT", "GROUPBUY"):
        md.set_channel_active(code, False, ADMIN)
    at = logged_in("clerk", page="pages/order_entry.py")
    assert at.selectbox(key="oe_channel").value == "POS"  # the only channel is the one offered
    assert at.selectbox(key="oe_channel").options == ["门店POS"]
    md.set_channel_active("POS", False, ADMIN)
    at = logged_in("clerk", page="pages/order_entry.py")
    assert en("md.no_channels") in [w.value for w in at.warning]


@pytest.mark.parametrize("page", ["pages/order_entry.py", "pages/fulfillment.py", "pages/inventory.py",
                                  "pages/transfers.py", "pages/receiving.py", "pages/stock_count.py",
                                  "pages/rules.py"])
def test_a_shop_with_one_warehouse_and_one_channel_opens_every_operational_page(
        db_url: str, logged_in: Callable[..., AppTest], page: str) -> None:
    with db.transaction() as s:
        for model in (Rule, Warehouse, Channel):
            s.execute(delete(model))
        refdata.bump(s)
    md.create_warehouse(md.WarehouseInput(code="HZ", name="杭州门店", province="浙江", is_store=True), ADMIN)
    md.create_channel(md.ChannelInput(code="POS", name="门店收银", kind="store"), ADMIN)
    make_product("TEA", "20.00", {"HZ": 5})
    at = logged_in("manager", page=page)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def test_add_a_carrier_with_its_tracking_page(db_url: str, logged_in: Callable[..., AppTest]) -> None:
    at = logged_in("admin", page=PAGE)
    assert "SF" in at.dataframe[3].value[en("field.code")].tolist()  # the demo's carriers
    at.text_input(key="md_ca_code_new").input("ems")
    at.text_input(key="md_ca_name_new").input("中国邮政 EMS")
    at.text_input(key="md_ca_url_new").input("https://track.example.com/ems")
    at.button(key="md_ca_save").click().run()
    assert not at.exception, at.exception
    shown = " ".join(e.value for e in at.error) + " ".join(str(m.value) for m in at.markdown)
    assert en("md.issue_tracking_url_placeholder") in shown  # nothing saved, the field named
    assert "EMS" not in md.list_carriers(ADMIN)["code"].tolist()
    at.text_input(key="md_ca_url_new").input("https://track.example.com/ems/{tracking_no}")
    at.button(key="md_ca_save").click().run()
    assert en("md.created", item="EMS") in [s.value for s in at.success]
    row = md.list_carriers(ADMIN).set_index("code").loc["EMS"]
    assert (row["name"], row["tracking_url"]) == ("中国邮政 EMS", "https://track.example.com/ems/{tracking_no}")
