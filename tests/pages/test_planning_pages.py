"""Forecast, Replenishment, Purchase orders and Allocation pages through AppTest: they render,
their key actions work and refusals are shown."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core import db
from core.i18n import translate
from core.models import ForecastRun, PlanningEvent, POLine, PurchaseOrder, ReplenishmentSuggestion, Transfer
from core.services.purchasing import POLineInput, create_purchase_order
from core.services.replenishment import generate_suggestions
from data.demo import load_demo
from tests.factories import BUYER, make_product
from tests.jobs_support import wait_idle
from tests.planning_data import make_supplier, stored_run, warehouse_id


def _en(key: str, **params: object) -> str:
    return translate(key, "en", **params)


def _button(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click().run()
    assert not at.exception, at.exception
    return at


def test_forecast_page_runs_and_shows_accuracy(logged_in: Callable[..., AppTest], job_worker: None) -> None:
    load_demo(orders=1_500, seed=5)
    at = logged_in("buyer", page="pages/forecast.py")
    assert at.title[0].value == _en("page.forecast")
    at.number_input(key="fc_horizon").set_value(14)
    _button(at, "fc_run")  # queued for the worker; the page shows the job
    assert at.button(key="fc_run").disabled and at.button(key="fc_job_cancel")
    wait_idle()
    at.run()
    assert not at.exception, at.exception
    assert any(_en("plan.run_done", run=1, series="").split(":")[0] in s.value for s in at.success)
    with db.transaction() as s:
        run = s.execute(select(ForecastRun)).scalar_one()
    assert (run.status, run.horizon) == ("succeeded", 14)
    metric_labels = [m.label for m in at.metric]
    # the holdout figure beside the moving average's, and what "better" means in words
    assert _en("plan.holdout_selected") in metric_labels and _en("plan.holdout_ma28") in metric_labels
    assert any(_en("plan.holdout_better", days=14) == c.value for c in at.caption)
    # coherent levels: which method won, and per level the reconciled total (the same at every level)
    recon = run.metrics["reconciliation"]
    method = _en(f"plan.recon.{recon['method']}")
    assert any(_en("plan.levels_chosen", method=method, days=14) == c.value for c in at.caption)
    levels = at.dataframe[1].value
    assert levels[_en("plan.col.level")].tolist() == [_en(f"plan.level.{lv}") for lv in ("total", "category", "sku",
                                                                                        "bottom")]
    totals = levels[_en("plan.col.reconciled_total")]
    assert totals.max() - totals.min() < 1e-6 and _en("plan.col.wape_bottom_up") in levels.columns
    categories = at.dataframe[2].value
    assert abs(categories[_en("plan.col.reconciled_total")].sum() - totals.iloc[0]) < 1e-3
    models = at.dataframe[3].value[_en("plan.col.model")].tolist()
    assert _en("plan.model.ma28") in models and _en("plan.model.selected") in models


def test_calendar_add_refusal_and_delete(logged_in: Callable[..., AppTest]) -> None:
    at = logged_in("manager", page="pages/forecast.py")
    _button(at, "fc_ev_submit")  # no name
    assert at.error and _en("plan.event_added") not in [s.value for s in at.success]
    at.text_input(key="fc_ev_name").input("盘点停业")
    at.selectbox(key="fc_ev_kind").set_value("closure")
    at.text_input(key="fc_ev_warehouse").input("SH")
    _button(at, "fc_ev_submit")
    with db.transaction() as s:
        event = s.execute(select(PlanningEvent)).scalar_one()
    assert (event.kind, event.name, event.warehouse_id) == ("closure", "盘点停业", warehouse_id("SH"))
    _button(at, "fc_ev_delete")
    with db.transaction() as s:
        assert s.execute(select(PlanningEvent)).first() is None


def _suggestions() -> dict[str, int]:
    tea = make_product("TEA", "20.00", {"SH": 10})
    cup = make_product("CUP", "8.00", {"SH": 0})
    make_supplier("茶具厂", 7, 1, tea, cup)
    stored_run({(tea, "SH"): 10.0, (cup, "SH"): 2.0})
    generate_suggestions(BUYER)
    with db.transaction() as s:
        return {sku: sid for sku, sid in s.execute(
            select(ReplenishmentSuggestion.product_id, ReplenishmentSuggestion.id)).all()
            for sku in (("TEA",) if sku == tea else ("CUP",))}


def _status(suggestion_id: int) -> tuple[str, int | None, str | None]:
    with db.transaction() as s:
        row = s.execute(select(ReplenishmentSuggestion.status, ReplenishmentSuggestion.final_qty,
                               ReplenishmentSuggestion.reason).where(ReplenishmentSuggestion.id == suggestion_id)).one()
    return row.status, row.final_qty, row.reason


def test_replenishment_edit_accept_dismiss_and_order(logged_in: Callable[..., AppTest]) -> None:
    ids = _suggestions()
    at = logged_in("buyer", page="pages/replenishment.py")
    assert len(at.expander) == 2
    assert at.expander[0].label.startswith("CUP")  # the most urgent first: none in stock
    assert at.expander[1].label.startswith("TEA · SH · order 130 · stock-out in 1 d")
    explanation = at.expander[1].markdown[0].value
    assert "Reorder point = lead-time demand 70.0" in explanation and "= 130" in explanation
    # the safety stock says its σ is the forecast's error, over how many windows
    assert _en("plan.explain.sigma.lead_error", n=4) in explanation
    at.number_input(key=f"rp_qty_{ids['TEA']}").set_value(150)
    _button(at, f"rp_accept_{ids['TEA']}")
    assert _status(ids["TEA"]) == ("edited", 150, None)
    _button(at, f"rp_dismiss_{ids['CUP']}")  # no reason given
    assert at.error and _status(ids["CUP"])[0] == "open"
    at.text_input(key=f"rp_reason_{ids['CUP']}").input("discontinued next month")
    _button(at, f"rp_dismiss_{ids['CUP']}")
    assert _status(ids["CUP"]) == ("dismissed", None, "discontinued next month")
    _button(at, "rp_order")
    with db.transaction() as s:
        po = s.execute(select(PurchaseOrder)).scalar_one()
    assert po.status == "draft" and _status(ids["TEA"])[0] == "ordered"
    assert any(po.number in s.value for s in at.success)


def test_replenishment_without_a_forecast(logged_in: Callable[..., AppTest]) -> None:
    at = logged_in("buyer", page="pages/replenishment.py")
    assert _en("plan.no_runs") in [i.value for i in at.info]


def test_purchase_order_page_send_and_cancel(logged_in: Callable[..., AppTest]) -> None:
    tea = make_product("TEA", "20.00", {"SH": 0})
    supplier = make_supplier("茶具厂", 7, 1, tea)
    po = create_purchase_order(supplier, warehouse_id("SH"), [POLineInput(tea, 10)], BUYER)
    at = logged_in("buyer", page="pages/purchase_orders.py")
    assert at.subheader[0].value == _en("plan.po_detail", number=po.number)
    assert _en("doc.purchase_order") in [b.label for b in at.get("download_button")]
    line_key = next(w.key for w in at.number_input if w.key.startswith("po_qty_"))
    at.number_input(key=line_key).set_value(12)
    _button(at, f"po_save_{po.id}")
    _button(at, f"po_send_{po.id}")
    with db.transaction() as s:
        assert s.execute(select(PurchaseOrder.status, PurchaseOrder.total)).one() == ("sent", 120)
    _button(at, f"po_cancel_{po.id}")  # no reason
    assert at.error
    at.text_input(key=f"po_cancel_reason_{po.id}").input("supplier closed")
    _button(at, f"po_cancel_{po.id}")
    with db.transaction() as s:
        assert s.execute(select(PurchaseOrder.status)).scalar_one() == "cancelled"


def test_a_purchase_order_by_hand_gains_and_loses_lines(logged_in: Callable[..., AppTest]) -> None:
    """Any supplier (this one supplies nothing yet) and any warehouse; a first line, one more,
    one removed — then it is an ordinary draft."""
    make_product("TEA", "20.00", {"SH": 0})  # unit cost 10.00
    make_product("CUP", "9.00", {"SH": 0})
    supplier = make_supplier("杂货批发")
    at = logged_in("buyer", page="pages/purchase_orders.py")
    assert [i.value for i in at.info] == [_en("plan.no_pos")]
    at.selectbox(key="po_new_supplier").set_value(supplier)
    at.selectbox(key="po_new_warehouse").set_value(warehouse_id("GZ"))
    at.text_input(key="po_new_q").input("TEA").run()
    at.number_input(key="po_new_qty").set_value(4)
    _button(at, "po_create")
    gz = warehouse_id("GZ")
    with db.transaction() as s:
        po = s.execute(select(PurchaseOrder.id, PurchaseOrder.number, PurchaseOrder.status, PurchaseOrder.supplier_id,
                              PurchaseOrder.warehouse_id, PurchaseOrder.total)).one()
    assert (po.status, po.supplier_id, po.warehouse_id, po.total) == ("draft", supplier, gz, 40)
    assert at.subheader[0].value == _en("plan.po_detail", number=po.number)  # the new draft is open
    at.text_input(key=f"po_add_{po.id}_q").input("CUP").run()
    at.number_input(key=f"po_add_{po.id}_qty").set_value(3)
    at.text_input(key=f"po_add_{po.id}_cost").input("2.5")
    _button(at, f"po_add_{po.id}")
    with db.transaction() as s:
        assert s.execute(select(PurchaseOrder.total)).scalar_one() == Decimal("47.50")
    first = next(b.key for b in at.button if b.key.startswith("po_rm_"))
    _button(at, first)
    with db.transaction() as s:
        assert len(s.execute(select(POLine.id)).all()) == 1


def test_allocation_page_accepts_transfers(logged_in: Callable[..., AppTest]) -> None:
    pid = make_product("TEA", "20.00", {"SH": 20})
    stored_run({(pid, "SH"): 1.0, (pid, "GZ"): 2.0, (pid, "BJ"): 1.0}, sigma_lead=2.0)
    at = logged_in("manager", page="pages/allocation.py")
    assert "TEA" in at.dataframe[0].value[_en("plan.col.sku")].tolist()
    assert any("safety-stock floors" in m.value for m in at.markdown)
    _button(at, "al_accept")
    with db.transaction() as s:
        assert s.execute(select(Transfer.status)).scalars().all() == ["draft", "draft"]
    assert any(_en("plan.alloc_done", numbers="").strip() in s.value for s in at.success)
