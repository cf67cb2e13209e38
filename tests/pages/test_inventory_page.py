"""Inventory page: stock by product × warehouse with filters and the below-safety highlight, costs
only for roles that may see them, and a product's ledger history and stock chart."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import update
from streamlit.testing.v1 import AppTest

from core import db
from core.i18n import translate
from core.models import StockLevel
from core.services import orders
from core.services.inventory import adjust_stock
from tests.factories import CLERK, WAREHOUSE, make_product, order_input

PAGE = "pages/inventory.py"


def en(key: str, **params: object) -> str:
    return translate(key, "en", **params)


def _stocked() -> int:
    tea = make_product("TEA-1", "25.00", {"SH": 10, "GZ": 2})
    make_product("CUP-1", "8.00", {"SH": 50})
    with db.transaction() as s:
        s.execute(update(StockLevel).where(StockLevel.product_id == tea).values(safety_stock=5))
    orders.create_order(order_input(("TEA-1", 3), warehouse="GZ", allow_backorder=True), CLERK)
    adjust_stock("TEA-1", "SH", -1, "damage", WAREHOUSE, note="dropped")
    return tea


def test_stock_table_filters_and_highlight(logged_in: Callable[..., AppTest]) -> None:
    _stocked()
    at = logged_in("warehouse", page=PAGE)
    table = at.dataframe[0].value
    assert table[en("field.sku")].tolist() == ["CUP-1", "TEA-1", "TEA-1"]
    assert en("field.stock_value") not in table.columns  # warehouse staff see no costs
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[en("inv.below_count")] == "1"  # GZ: 2 available < 5 (the backorder reserved nothing)
    assert metrics[en("field.on_hand")] == "61"
    at.checkbox(key="inv_below").check().run()
    below = at.dataframe[0].value
    assert below[[en("field.sku"), en("field.warehouse")]].values.tolist() == [["TEA-1", "GZ"]]
    at.checkbox(key="inv_below").uncheck().run()
    at.text_input(key="inv_query").input("nothing-like-this").run()
    assert [i.value for i in at.info] == [en("inv.none_found")]


def test_product_view_shows_ledger_and_chart(logged_in: Callable[..., AppTest]) -> None:
    tea = _stocked()
    at = logged_in("buyer", page=PAGE)
    assert en("field.stock_value") in at.dataframe[0].value.columns  # buyers may see costs
    at.selectbox(key="inv_product").set_value(tea).run()
    assert not at.exception
    ledger = at.dataframe[1].value
    first = ledger.iloc[0]
    assert (first[en("field.kind")], first[en("field.qty_delta")], first[en("field.balance")]) == (
        en("move_kind.adjustment"), -1, 9)
    assert first[en("field.reference")].startswith("ADJ-") and first[en("field.actor")] == "wh1"
    total = len(ledger)
    assert en("list.showing", first=1, last=total, total=total) in [c.value for c in at.caption]
    assert en("list.download_all", n=total) in [b.label for b in at.download_button]
    assert at.get("plotly_chart"), "the stock-over-time chart is drawn"
