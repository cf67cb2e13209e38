"""Words that fit (issue #15): a refused form says *what* was not saved (a stock adjustment is
no "order"); a fresh install shows hints with the next step, no red error; the audit log shows
labels, people's names and the stock on hand before and after; no page shows "None"."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

import app
from core.i18n import translate
from core.services import aftersales as rma
from core.services import users
from core.services.aftersales import RMALine, RMARequest
from core.services.inventory import adjust_stock
from core.services.orders import create_order, transition
from core.services.transfers import create_transfer
from core.webui import EMPTY_CELL
from tests.aftersales_data import delivered_order
from tests.factories import ADMIN, CLERK, SERVICE, WAREHOUSE, make_product, order_input, pack_by_scan

PAGES = [path for _, path, _, _, _ in app.PAGES]
NONE = re.compile(r"\bNone\b")


def _said(at: AppTest, lang: str, key: str, **params: object) -> bool:
    return translate(key, lang, **params) in [e.value for e in at.error]


def _headline(what: str, lang: str = "en") -> str:
    return translate("error.validation_what", lang, what=translate(f"what.{what}", lang))


# --- refusal headlines name what was not saved ------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_refused_adjustment_says_the_adjustment_was_not_saved(logged_in: Callable[..., AppTest], lang: str) -> None:
    at = logged_in("admin", page="pages/stock_count.py", lang=lang)
    at.button(key="sc_adj_go").click().run()  # no SKU, no quantity
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == [_headline("adjustment", lang)]
    if lang == "zh":
        assert at.error[0].value == "输入有误，库存调整未保存：" and "订单" not in at.error[0].value


def test_a_refused_transfer_user_receipt_and_order_name_themselves(logged_in: Callable[..., AppTest]) -> None:
    at = logged_in("admin", page="pages/transfers.py")
    at.button(key="tr_create").click().run()  # no lines
    assert _headline("transfer") in [e.value for e in at.error]
    at = logged_in("admin", page="pages/users.py")
    at.button(key="us_create_submit").click().run()  # no name, no password
    assert _headline("user") in [e.value for e in at.error]
    at = logged_in("admin", page="pages/receiving.py")
    at.button(key="rc_receive_adhoc").click().run()  # nothing to receive
    assert _headline("receipt") in [e.value for e in at.error]
    at = logged_in("admin", page="pages/order_entry.py")
    at.button(key="oe_submit").click().run()  # an empty basket
    assert _headline("order") in [e.value for e in at.error]


def test_a_refused_shipment_says_the_shipment_was_not_saved(logged_in: Callable[..., AppTest]) -> None:
    make_product("TEA", "10.00", {"SH": 5})
    order = create_order(order_input(("TEA", 1)), CLERK)
    pack_by_scan(order.id, ADMIN)
    at = logged_in("admin", page="pages/fulfillment.py")
    at.selectbox(key="fl_ship_order").set_value(order.id).run()
    at.text_input(key="fl_carrier").input("").run()
    at.button(key="fl_ship").click().run()  # no carrier, no tracking number
    assert not at.exception, at.exception
    assert _headline("shipment") in [e.value for e in at.error]


# --- a fresh install: hints, no red errors ------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_fresh_install_shows_no_red_error_anywhere(logged_in: Callable[..., AppTest], lang: str) -> None:
    at = logged_in("admin", lang=lang)
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        assert [e.value for e in at.error] == [], page
    at.switch_page("pages/allocation.py").run()
    assert translate("empty.no_forecast", lang) in [i.value for i in at.info]  # says what to do first


# --- the audit log ------------------------------------------------------------------------------


def test_the_audit_log_shows_labels_names_and_stock_on_hand(logged_in: Callable[..., AppTest]) -> None:
    users.create_user("zhang.san", "Correct-Horse-42!", "manager", ADMIN, display_name="张三")
    make_product("TEA", "10.00", {"SH": 5})
    adjust_stock("TEA", "SH", 3, "found", ADMIN)
    at = logged_in("admin", page="pages/audit.py", lang="zh")
    listed = at.dataframe[0].value
    actions = listed[translate("field.action", "zh")].tolist()
    assert actions == [translate("action.stock.adjust", "zh"), translate("action.user.create", "zh")]
    assert not any("." in a for a in actions)  # labels, not codes such as "po.send"
    records = listed[translate("field.entity_id", "zh")].tolist()
    assert records[1] == "张三"  # the user by name, not "用户 7"
    diff = at.dataframe[1].value  # the newest entry, the adjustment, is picked
    rows = {r[0]: (r[1], r[2]) for r in diff.itertuples(index=False)}
    assert rows[translate("field.on_hand", "zh")] == ("5", "8")  # stock on hand before and after


# --- "None" never shows -------------------------------------------------------------------------


@pytest.fixture
def busy_shop() -> None:
    """A shop with a little of everything: orders in several states, a return, an adjustment
    waiting for approval, a transfer, a user without a display name."""
    make_product("TEA", "10.00", {"SH": 50, "GZ": 5})
    make_product("CUP", "30.00", {"SH": 20})
    create_order(order_input(("TEA", 1), email="li.si@example.com"), CLERK)
    packed = create_order(order_input(("CUP", 1)), CLERK)
    pack_by_scan(packed.id, ADMIN)
    transition(packed.id, "shipped", ADMIN, carrier="顺丰速运", tracking_no="SF1")
    delivered = delivered_order(("TEA", 2))
    rma.open_rma(RMARequest(delivered.id, "return", "size", (RMALine(1, 1),)), SERVICE)
    adjust_stock("TEA", "SH", -40, "damage", WAREHOUSE)  # large: waits for approval
    create_transfer("SH", "GZ", [("TEA", 2)], ADMIN)
    users.create_user("li.wu", "Correct-Horse-42!", "clerk", ADMIN)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_page_shows_none(logged_in: Callable[..., AppTest], busy_shop: None, lang: str) -> None:
    at = logged_in("admin", lang=lang)
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        for kind in ("title", "header", "subheader", "markdown", "caption", "info", "success", "warning", "error",
                     "metric", "text"):
            for element in getattr(at, kind):
                assert not NONE.search(str(element.value)), (page, kind, element.value)
        for box in at.selectbox:
            assert not any(NONE.search(str(option)) for option in box.options), (page, box.key, box.options)
        for table in at.dataframe:  # Streamlit writes "None" in an empty cell unless told otherwise
            assert table.proto.placeholder == EMPTY_CELL or not table.value.isna().any().any(), (page, table.value)
