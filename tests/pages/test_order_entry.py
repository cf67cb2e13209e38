"""Order entry: a clerk fills the form, scans a barcode, submits once and sees the number;
bad input shows what is wrong and writes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from core import db
from core.i18n import translate
from core.models import AuditLog, Customer, Order, OrderLine, Payment, StockLevel
from core.services import catalog
from tests.factories import CLERK, make_product

ADDRESS = {"oe_name": "李四", "oe_phone": "13900139000", "oe_province": "上海", "oe_city": "上海市",
           "oe_district": "浦东新区", "oe_address": "张江路 1 号"}


def _barcode(sku: str) -> str:
    return str(catalog.search_products(sku, CLERK)["barcode"].iloc[0])


def _fill(at: AppTest, **fields: str) -> None:
    for key, value in fields.items():
        at.text_input(key=key).input(value)


def _scan(at: AppTest, sku: str) -> AppTest:
    at.text_input(key="oe_barcode").input(_barcode(sku))
    return at.run()


def _counts() -> dict[str, int]:
    with db.transaction() as s:
        counts = {m.__tablename__: s.execute(select(func.count()).select_from(m)).scalar_one()
                  for m in (Order, OrderLine, Customer, AuditLog)}
        counts["reserved"] = s.execute(select(func.coalesce(func.sum(StockLevel.reserved), 0))).scalar_one()
    return counts


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def _qty(at: AppTest, index: int) -> Any:
    """The quantity box of basket line ``index`` (0-based)."""
    return at.number_input(key=f"oe_qty_{at.session_state['oe_rev']}_{index}")


def _remove(at: AppTest, index: int) -> None:
    """Click the remove button of basket line ``index``."""
    at.button(key=f"oe_remove_{at.session_state['oe_rev']}_{index}").click().run()


@pytest.fixture
def entry(logged_in: Callable[..., AppTest]) -> AppTest:
    return logged_in("clerk", username="clerk1")  # a clerk lands on order entry


def test_enter_order_with_barcode_and_search(entry: AppTest) -> None:
    make_product("TEA-1", "25.00", {"SH": 10})
    _fill(entry, **ADDRESS)
    _scan(entry, "TEA-1")
    assert not entry.exception
    assert entry.session_state["oe_basket"] == [{"sku": "TEA-1", "qty": 1}]
    assert [s.value for s in entry.success] == [translate("entry.barcode_added", "en", name="商品 TEA-1",
                                                          sku="TEA-1")]
    entry.text_input(key="oe_product_query").input("tea").run()  # case-insensitive name/SKU search
    entry.number_input(key="oe_product_qty").set_value(2)
    entry.button(key="oe_add").click().run()
    assert entry.session_state["oe_basket"] == [{"sku": "TEA-1", "qty": 3}]
    assert _qty(entry, 0).value == 3
    assert translate("entry.line_stock", "en", stock="SH 10") in [c.value for c in entry.caption]
    assert entry.metric[-1].value == "CN¥75.00"  # live total

    entry.button(key="oe_submit").click().run()
    assert not entry.exception and not _errors(entry)
    [success] = entry.success
    with db.transaction() as s:
        order = s.execute(select(Order)).scalar_one()
        line = s.execute(select(OrderLine)).scalar_one()
        reserved = s.execute(select(StockLevel.reserved)).scalar_one()
    assert order.number in success.value
    assert (order.status, order.total, order.ship_district, order.created_by) == ("confirmed", 75, "浦东新区", "clerk1")
    assert (line.qty, line.qty_reserved, reserved) == (3, 3, 3)
    assert entry.session_state["oe_basket"] == []  # cleared after success
    assert entry.text_input(key="oe_name").value == ""
    assert [b.label for b in entry.download_button] == [translate("doc.order_slip", "en")]


def test_customer_search_fills_the_form(entry: AppTest) -> None:
    make_product("TEA-1", "25.00", {"SH": 10})
    _fill(entry, **ADDRESS)
    _scan(entry, "TEA-1")
    entry.button(key="oe_submit").click().run()
    entry.text_input(key="oe_cust_query").input("13900139000").run()
    assert entry.text_input(key="oe_name").value == "李四"
    assert entry.text_input(key="oe_district").value == "浦东新区"
    _scan(entry, "TEA-1")
    entry.button(key="oe_submit").click().run()
    assert not _errors(entry)
    with db.transaction() as s:
        assert s.execute(select(func.count()).select_from(Customer)).scalar_one() == 1
        assert s.execute(select(func.count(func.distinct(Order.customer_id)))).scalar_one() == 1


def test_unknown_barcode_says_so(entry: AppTest) -> None:
    entry.text_input(key="oe_barcode").input("0000000").run()
    assert _errors(entry) == [translate("entry.barcode_unknown", "en", code="0000000")]
    assert entry.session_state["oe_basket"] == []


def test_missing_district_is_shown_next_to_the_field_and_nothing_written(entry: AppTest) -> None:
    make_product("TEA-1", "25.00", {"SH": 10})
    _fill(entry, **(ADDRESS | {"oe_district": ""}))
    _scan(entry, "TEA-1")
    before = _counts()
    entry.button(key="oe_submit").click().run()
    issue = f"{translate('field.district', 'en')}: {translate('issue.address_incomplete', 'en')}"
    assert issue in _errors(entry)  # next to the district field
    assert translate("error.validation_what", "en", what=translate("what.order", "en")) in _errors(entry)
    assert _counts() == before
    assert entry.session_state["oe_basket"] == [{"sku": "TEA-1", "qty": 1}]  # the clerk can fix and resubmit


def test_quantity_zero_and_removed_line(entry: AppTest) -> None:
    make_product("TEA-1", "25.00", {"SH": 10})
    make_product("CUP-1", "8.00", {"GZ": 10})
    _fill(entry, **ADDRESS)
    _scan(entry, "TEA-1")
    _scan(entry, "CUP-1")
    _scan(entry, "CUP-1")
    assert entry.session_state["oe_basket"] == [{"sku": "TEA-1", "qty": 1}, {"sku": "CUP-1", "qty": 2}]
    captions = [c.value for c in entry.caption]  # stock per warehouse under each line
    assert {translate("entry.line_stock", "en", stock=s) for s in ("GZ 0 · SH 10", "GZ 10 · SH 0")} <= set(captions)
    _qty(entry, 1).set_value(0)
    _remove(entry, 0)  # the typed 0 of the other line survives the removal
    assert entry.session_state["oe_basket"] == [{"sku": "CUP-1", "qty": 0}]
    before = _counts()
    entry.button(key="oe_submit").click().run()
    line_issue = (f"{translate('error.line', 'en', row=1)} · {translate('field.qty', 'en')}: "
                  f"{translate('issue.positive', 'en')}")
    assert line_issue in _errors(entry)
    assert _counts() == before


def test_not_enough_stock_names_sku_and_available(entry: AppTest) -> None:
    make_product("TEA-1", "25.00", {"SH": 1})
    _fill(entry, **ADDRESS)
    _scan(entry, "TEA-1")
    _qty(entry, 0).set_value(5).run()
    before = _counts()
    entry.button(key="oe_submit").click().run()
    assert translate("error.insufficient_stock_what", "en", what=translate("what.order", "en")) in _errors(entry)
    shortage = translate("error.shortage", "en", sku="TEA-1", warehouse="SH", requested=5, available=1)
    assert any(shortage in m.value for m in entry.markdown)
    assert _counts() == before


def test_allow_backorder_saves_without_reserving(entry: AppTest) -> None:
    make_product("TEA-1", "25.00", {"SH": 0})
    _fill(entry, **ADDRESS)
    _scan(entry, "TEA-1")
    entry.checkbox(key="oe_backorder").check()
    entry.button(key="oe_submit").click().run()
    assert not _errors(entry) and entry.success
    assert [w.value for w in entry.warning] == [translate("entry.backordered_note", "en")]
    with db.transaction() as s:
        assert s.execute(select(Order.status)).scalar_one() == "backordered"


def test_basket_templates_save_load_delete(entry: AppTest) -> None:
    make_product("TEA-1", "25.00", {"SH": 10})
    _scan(entry, "TEA-1")
    entry.text_input(key="oe_template_name").input("礼盒A")
    entry.button(key="oe_template_save").click().run()
    assert [t.name for t in catalog.list_basket_templates(CLERK)] == ["礼盒A"]
    _remove(entry, 0)
    assert entry.session_state["oe_basket"] == []
    entry.button(key="oe_template_load").click().run()
    assert entry.session_state["oe_basket"] == [{"sku": "TEA-1", "qty": 1}]
    entry.button(key="oe_template_delete").click().run()
    assert catalog.list_basket_templates(CLERK) == []


def test_a_paid_order_records_its_payment_with_the_slip_reference(entry: AppTest) -> None:
    make_product("TEA-2", "25.00", {"SH": 10})
    _fill(entry, **ADDRESS)
    _scan(entry, "TEA-2")
    entry.radio(key="oe_payment").set_value("alipay_paid").run()
    entry.text_input(key="oe_payment_ref").input(" 2026120722001 ").run()
    entry.button(key="oe_submit").click().run()
    assert not entry.exception and not _errors(entry)
    with db.transaction() as s:
        order = s.execute(select(Order)).scalar_one()
        payment = s.execute(select(Payment)).scalar_one()
    assert (order.payment_status, order.payment_method) == ("paid", "alipay")
    assert (payment.order_id, payment.kind, payment.method, payment.provider_ref, payment.amount) == (
        order.id, "payment", "alipay", "2026120722001", 25)
    assert entry.text_input(key="oe_payment_ref").value == ""  # cleared with the order


def test_an_unpaid_order_asks_for_no_reference_and_records_no_payment(entry: AppTest) -> None:
    make_product("TEA-3", "25.00", {"SH": 10})
    _fill(entry, **ADDRESS)
    _scan(entry, "TEA-3")
    entry.radio(key="oe_payment").set_value("transfer_unpaid").run()
    assert "oe_payment_ref" not in [w.key for w in entry.text_input]
    entry.button(key="oe_submit").click().run()
    assert not entry.exception and not _errors(entry)
    with db.transaction() as s:
        assert s.execute(select(Order.payment_status)).scalar_one() == "unpaid"
        assert s.execute(select(func.count()).select_from(Payment)).scalar_one() == 0
