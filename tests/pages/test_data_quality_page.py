"""Data Quality page: run the checks, see the history and a failing expectation's rows; see
import batches and their problems."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select, update
from streamlit.testing.v1 import AppTest

from core import db
from core.i18n import translate
from core.models import Product, StockLevel, Warehouse
from core.services import data_quality, imports
from core.services.imports import ImportOptions, SourceFile
from core.services.orders import create_order
from tests.factories import CLERK, MANAGER, make_product, order_input

PAGE = "pages/data_quality.py"


def _en(key: str, **params: object) -> str:
    return translate(key, "en", **params)


def test_run_checks_and_drill_into_a_failure(logged_in: Callable[..., AppTest]) -> None:
    make_product("TEA-1", "25.00", {"SH": 10})
    create_order(order_input(("TEA-1", 2)), CLERK)
    at = logged_in("manager", page=PAGE)
    assert [i.value for i in at.info] == [_en("quality.no_runs")]
    at.button(key="dq_run_now").click().run()
    assert not at.exception
    assert [s.value for s in at.success][:1] == [_en("quality.ran_ok")]
    history = at.dataframe[0].value
    assert sorted(history[_en("quality.col.suite")]) == ["db.order_lines", "db.orders", "db.stock_levels"]
    assert at.get("plotly_chart"), "failures over time are charted"

    with db.transaction() as s:  # planted: on hand moved without a ledger movement
        s.execute(update(StockLevel).where(
            StockLevel.product_id == select(Product.id).where(Product.sku == "TEA-1").scalar_subquery(),
            StockLevel.warehouse_id == select(Warehouse.id).where(Warehouse.code == "SH").scalar_subquery(),
        ).values(on_hand=StockLevel.on_hand + 5))
    at.button(key="dq_run_now").click().run()
    assert [e.value for e in at.error] == [_en("quality.ran", failed=1)]
    runs = data_quality.list_runs(MANAGER)
    latest = int(runs.loc[runs["suite"] == "db.stock_levels", "id"].iloc[0])
    at.selectbox(key="dq_run").set_value(latest).run()
    failing = [d.value for d in at.dataframe if "ledger_sum" in d.value.columns]
    assert failing and failing[0][["sku", "warehouse", "on_hand", "ledger_sum"]].values.tolist() == \
        [["TEA-1", "SH", 15, 10]]


def test_import_batches_and_their_problems(logged_in: Callable[..., AppTest]) -> None:
    make_product("TEA-1", "25.00", {"SH": 10})
    body = ("external_ref,channel,placed_at,status,customer_name,phone,sku,qty\n"
            "A-1,WECHAT,2026-11-01 10:00,completed,王芳,13800138001,TEA-1,0\n")
    report = imports.run_import([SourceFile("bad.csv", body.encode())],
                                ImportOptions("orders", imports.load_profile("generic-orders")), MANAGER)
    assert report.status == "rejected"
    at = logged_in("manager", page=PAGE, lang="zh")
    assert not at.exception
    batches = at.dataframe[-2].value
    assert batches[translate("imp.col.status", "zh")].tolist() == [translate("imp.status.rejected", "zh")]
    issues = at.dataframe[-1].value
    assert translate("imp.reason.qty_positive", "zh", value="0") in issues[translate("imp.col.reason", "zh")].tolist()
    runs = at.dataframe[0].value  # the batch's validation is part of the history
    assert runs[translate("quality.col.target", "zh")].tolist() == [f"import_batch:{report.batch_id}"]
