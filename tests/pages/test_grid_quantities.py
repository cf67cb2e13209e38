"""Issue 13, "Minus signs dropped": typing −5 into the basket grid created an order for 5, −3 in
the transfer grid a transfer of 3. Every editable quantity grid (basket, transfers, receiving,
ad hoc receipts, stock count, RMA lines and inspection) now passes the cell exactly as typed;
the service refuses a negative, non-integer or absurd value with a message naming the row, and
nothing is written. The basket is no grid any more (issue 15: one line per product with its own
quantity box, a float box without bounds, so −5 and 2.5 reach the service as typed too).

Two layers can change a typed value before the page sees it: the browser widget (a
``NumberColumn`` with ``min_value=0`` does not accept the minus sign) and Streamlit's edit
parsing (an integer column applies ``int()``, so 2.5 becomes 2). AppTest only exercises the
second, so these tests also check the column configs the browser receives: no ``min_value``,
``max_value`` or ``step`` on an editable quantity, and a float column underneath."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from core import db
from core.i18n import translate
from core.models import (
    Order,
    POLine,
    PurchaseOrder,
    Return,
    StockAdjustment,
    StockMovement,
    Supplier,
    Transfer,
    Warehouse,
)
from core.services import catalog
from core.timeutil import utcnow
from tests.aftersales_data import delivered_order
from tests.factories import CLERK, make_product

ADDRESS = {"oe_name": "李四", "oe_phone": "13900139000", "oe_province": "上海", "oe_city": "上海市",
           "oe_district": "浦东新区", "oe_address": "张江路 1 号"}


def en(key: str, **params: object) -> str:
    return translate(key, "en", **params)


def _issue(row: int, field: str, key: str, **params: object) -> str:
    return f"{en('error.line', row=row)} · {en(f'field.{field}')}: {en(key, **params)}"


def _shown(at: AppTest, text: str) -> bool:
    """``text`` is on the page, as an error or in the issue list under it."""
    return any(text in e.value for e in [*at.error, *at.markdown])


def _count(model: type) -> int:
    with db.transaction() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def _editable_qty_configs(at: AppTest, column: str) -> list[dict]:
    """What the browser is told about ``column`` in every data editor on the page."""
    configs = []
    for editor in [*at.data_editor, *at.dataframe]:
        columns = json.loads(editor.proto.columns or "{}")
        if column in columns:
            configs.append(columns[column])
    return configs


def _assert_raw(at: AppTest, column: str) -> None:
    configs = _editable_qty_configs(at, column)
    assert configs, f"no editor with a {column} column"
    for cfg in configs:
        params = cfg.get("type_config", {})
        assert not {"min_value", "max_value", "step"} & {k for k, v in params.items() if v is not None}, cfg


CASES = [(-5, "issue.positive", {}), (2.5, "issue.whole_number", {}), (10 ** 12, "issue.at_most", {"n": 100000})]


@pytest.mark.parametrize("qty, key, params", CASES)
def test_basket_quantity_box_passes_the_number_as_typed(logged_in: Callable[..., AppTest], qty: float, key: str,
                                              params: dict) -> None:
    make_product("TEA-1", "25.00", {"SH": 10})
    at = logged_in("clerk", username="clerk1")
    for field, value in ADDRESS.items():
        at.text_input(key=field).input(value)
    at.text_input(key="oe_barcode").input(str(catalog.search_products("TEA-1", CLERK)["barcode"].iloc[0])).run()
    box = at.number_input(key=f"oe_qty_{at.session_state['oe_rev']}_0")
    assert (box.min, box.max) == (None, None)  # a bound would make the browser change what was typed
    box.set_value(qty).run()
    assert at.session_state["oe_basket"] == [{"sku": "TEA-1", "qty": qty}]  # never 5 for −5, never 2 for 2.5
    at.button(key="oe_submit").click().run()
    assert _shown(at, _issue(1, "qty", key, **params))
    assert _count(Order) == 0


def _transfer(at: AppTest, qty: float) -> AppTest:
    at.selectbox(key="tr_from").set_value("SH")
    at.selectbox(key="tr_to").set_value("GZ").run()
    at.session_state[f"tr_lines_{at.session_state['tr_rev'] if 'tr_rev' in at.session_state else 0}"] = {
        "edited_rows": {}, "added_rows": [{"sku": "TEA-1", "qty": qty}], "deleted_rows": []}
    return at.button(key="tr_create").click().run()


@pytest.mark.parametrize("qty, key, params", [(-3, "issue.negative", {}), (2.5, "issue.whole_number", {}),
                                              (4e18, "rb.qty_at_most", {"n": "1,000,000"})])
def test_transfer_grid_refuses_what_it_cannot_take(logged_in: Callable[..., AppTest], qty: float, key: str,
                                                   params: dict) -> None:
    make_product("TEA-1", "25.00", {"SH": 10})
    at = logged_in("warehouse", page="pages/transfers.py")
    _assert_raw(at, "qty")
    at = _transfer(at, qty)
    assert not at.exception
    assert _shown(at, _issue(1, "qty", key, **params))
    assert _count(Transfer) == 0


@pytest.mark.parametrize("qty, key, params", [(-3, "issue.negative", {}), (4e18, "rb.qty_at_most", {"n": "1,000,000"})])
def test_adhoc_receipt_grid_refuses_what_it_cannot_take(logged_in: Callable[..., AppTest], qty: float, key: str,
                                                        params: dict) -> None:
    make_product("TEA-1", "25.00", {"SH": 10})
    at = logged_in("warehouse", page="pages/receiving.py")
    _assert_raw(at, "qty")
    before = _count(StockMovement)
    at.session_state["rc_adhoc_0"] = {"edited_rows": {}, "added_rows": [{"sku": "TEA-1", "qty": qty}],
                                      "deleted_rows": []}
    at.run()
    at.button(key="rc_receive_adhoc").click().run()
    assert _shown(at, _issue(1, "qty", key, **params))
    assert _count(StockMovement) == before


def test_po_receipt_grid_refuses_a_negative_cell(logged_in: Callable[..., AppTest]) -> None:
    tea = make_product("TEA-1", "25.00", {"SH": 0})
    with db.transaction() as s:
        supplier = Supplier(name="茶园", lead_time_days=7, moq=1)
        s.add(supplier)
        s.flush()
        wh = s.execute(select(Warehouse.id).where(Warehouse.code == "SH")).scalar_one()
        po = PurchaseOrder(number="PO-G1", supplier_id=supplier.id, warehouse_id=wh, status="sent",
                           created_at=utcnow(), created_by="buyer1", total=Decimal("0"))
        s.add(po)
        s.flush()
        s.add(POLine(po_id=po.id, product_id=tea, qty_ordered=10, qty_received=0, unit_cost=Decimal("5")))
        po_id = po.id
    at = logged_in("buyer", page="pages/receiving.py")
    _assert_raw(at, "receive")
    before = _count(StockMovement)
    at.session_state[f"rc_po_lines_{po_id}_0"] = {"edited_rows": {0: {"receive": -4}}, "added_rows": [],
                                                   "deleted_rows": []}
    at.button(key="rc_receive_po").click().run()
    assert _shown(at, _issue(1, "qty", "issue.negative"))
    assert _count(StockMovement) == before


@pytest.mark.parametrize("counted, key, params", [(-5, "issue.negative", {}), (2.5, "issue.whole_number", {}),
                                                  (10 ** 12, "rb.qty_at_most", {"n": "1,000,000"})])
def test_count_sheet_refuses_what_it_cannot_take(logged_in: Callable[..., AppTest], counted: float, key: str,
                                                 params: dict) -> None:
    make_product("TEA-1", "25.00", {"SH": 10})
    at = logged_in("warehouse", page="pages/stock_count.py")
    at.selectbox(key="sc_count_wh").set_value("SH").run()
    at.button(key="sc_load").click().run()
    _assert_raw(at, "counted")
    at.session_state[f"sc_editor_{at.session_state['sc_rev']}"] = {
        "edited_rows": {0: {"counted": counted, "reason": translate("adj_reason.found", "en")}},
        "added_rows": [], "deleted_rows": []}
    at.run()
    at.button(key="sc_post").click().run()
    assert _shown(at, _issue(1, "counted", key, **params)), [e.value for e in [*at.error, *at.markdown, *at.warning]]
    assert _count(StockAdjustment) == 0


def test_rma_line_grid_refuses_a_negative_quantity(logged_in: Callable[..., AppTest]) -> None:
    make_product("TEA-1", "25.00", {"SH": 10})
    order = delivered_order(("TEA-1", 3))
    at = logged_in("service", page="pages/aftersales.py")
    at.text_input(key="as_query").input(order.number).run()
    _assert_raw(at, "qty")
    at.session_state[f"as_open_{order.id}_0"] = {"edited_rows": {0: {"qty": -2}}, "added_rows": [],
                                                 "deleted_rows": []}
    at.run()
    at.button(key="as_open_go").click().run()
    assert _shown(at, _issue(1, "qty", "issue.negative"))
    assert _count(Return) == 0
