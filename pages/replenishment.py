"""Replenishment (buyers): suggestions computed from the latest forecast, most urgent first.

Suggestions are computed as of a date (default today): demand counts from that day, from the
forecast run covering it, against the current stock. The computation is a background job: the
page shows its progress and outcome from the job row (pages/_job_panel.py). When nothing is suggested the page says
why (no forecast covers the date, or every series is above its reorder point).

Every suggestion opens to the forecast behind it (history, forecast, 80 % band and the
backtest accuracy) and to its arithmetic in words; the buyer edits the quantity and accepts,
or dismisses with a reason. Accepted suggestions become draft purchase orders, one per
supplier and receiving warehouse (see the Purchase orders page to send and receive them).
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import pandas as pd
import streamlit as st

from core.analytics.planning import latest_run, series_chart, suggestions
from core.errors import OMSError
from core.locales.planning import COLUMNS
from core.services.jobs import REPLENISH, JobView, latest_job
from core.services.replenishment import (
    accept_suggestions,
    create_draft_pos,
    dismiss_suggestions,
    start_suggestions,
)
from core.timeutil import local_today
from core.webui import (
    Notice,
    attempt,
    cached_read,
    guard_page,
    money,
    percent,
    show_chart,
    show_notice,
    show_table,
    t,
)
from pages import _job_panel as job_panel
from pages._planning_charts import forecast_figure

actor = guard_page("replenish.decide")
state = st.session_state
PAGE_SIZE = 10
SERVICE_LEVELS = (0.80, 0.85, 0.90, 0.95, 0.97, 0.98, 0.99)
TABLE_COLUMNS = ["sku", "name", "warehouse", "supplier", "days_to_stockout", "suggested_qty", "value",
                 "demand_lead_time", "safety_stock", "reorder_point", "order_up_to", "available", "on_order",
                 "in_transit", "pending_qty", "lead_time_days", "model", "wape_lead_time", "ma28_wape_lead_time"]
PENDING_COLUMNS = ["sku", "name", "warehouse", "supplier", "status", "suggested_qty", "final_qty", "value",
                   "decided_by"]


def _notify(value: Notice | OMSError) -> None:
    state["rp_notice"] = value


def _compute() -> None:
    """Queue the computation (the worker runs it; the job panel shows how it went)."""
    state.pop("rp_notice", None)
    try:
        start_suggestions(actor, service_level=float(state["rp_level"]), review_days=int(state["rp_review"]),
                          as_of=state.get("rp_as_of"))
    except OMSError as exc:
        _notify(exc)


def _computed(job: JobView) -> None:
    """How the last computation went: how many suggestions, or why there are none."""
    result = job.result or {}
    if result.get("reason"):  # nothing suggested: say why
        st.info(t(result["reason"], checked=result.get("checked"), as_of=result.get("as_of")))
        return
    st.success(t("asof.suggest_done", n=result.get("suggestions"), units=result.get("units"),
                 value=money(Decimal(str(result.get("value") or 0))), superseded=result.get("superseded"),
                 as_of=result.get("as_of")))


def _accept(decisions: dict[int, int | None]) -> None:
    try:
        n = accept_suggestions(decisions, actor)
    except OMSError as exc:
        _notify(exc)
        return
    _notify(Notice("success", "plan.accepted", {"n": n}))


def _accept_one(suggestion_id: int) -> None:
    """Accept with the quantity in the row's box (an edit when it differs from the suggestion)."""
    _accept({suggestion_id: int(state[f"rp_qty_{suggestion_id}"])})


def _dismiss(suggestion_id: int) -> None:
    try:
        dismiss_suggestions([suggestion_id], state.get(f"rp_reason_{suggestion_id}", ""), actor)
    except OMSError as exc:
        _notify(exc)
        return
    _notify(Notice("success", "plan.dismissed", {"n": 1}))


def _order() -> None:
    try:
        created = create_draft_pos(actor)
    except OMSError as exc:
        _notify(exc)
        return
    _notify(Notice("success", "plan.pos_created", {"numbers": ", ".join(po.number for po in created)}))


def _explain(row: Any) -> str:
    """The suggestion's arithmetic, in words, from the figures stored with it."""
    parts = [
        t("plan.explain.demand", lead=row.lead_time_days, mu=f"{row.demand_lead_time:.1f}",
          daily=f"{row.daily_demand:.2f}", sigma=f"{row.demand_sigma:.1f}"),
        t("plan.explain.safety", level=percent(row.service_level, 0), z=f"{row.z:.2f}", sigma=f"{row.demand_sigma:.1f}",
          ss=row.safety_stock),
        t("plan.explain.reorder", mu=f"{row.demand_lead_time:.1f}", ss=row.safety_stock, rop=row.reorder_point,
          review=row.review_days, upto=row.order_up_to),
        t("plan.explain.available", on_hand=row.on_hand, reserved=row.reserved, backordered=row.backordered,
          available=row.available),
        t("plan.explain.position", on_order=row.on_order, in_transit=row.in_transit, pending=row.pending_qty,
          position=row.position, rop=row.reorder_point),
        t("plan.explain.order", upto=row.order_up_to, position=row.position, need=row.need, moq=row.moq,
          pack=row.pack_size, qty=row.suggested_qty),
    ]
    if isinstance(row.sigma_method, str):
        parts.insert(1, t(f"plan.explain.sigma.{row.sigma_method}", n=row.sigma_windows))
    if not math.isnan(row.days_to_stockout):
        parts.append(t("plan.explain.stockout", days=f"{row.days_to_stockout:.0f}"))
    return "\n".join(f"{i}. {text}" for i, text in enumerate(parts, start=1))


def _accuracy(row: Any) -> str:
    if pd.isna(row.model):
        return t("plan.no_accuracy")
    wape = "—" if pd.isna(row.wape_lead_time) else percent(row.wape_lead_time, 0)
    ma28 = "—" if pd.isna(row.ma28_wape_lead_time) else percent(row.ma28_wape_lead_time, 0)
    weekly = "—" if pd.isna(row.wape_weekly) else percent(row.wape_weekly, 0)
    mase = "—" if pd.isna(row.mase) else f"{row.mase:.2f}"
    bias = "—" if pd.isna(row.bias) else f"{row.bias:+.0%}"
    return t("plan.accuracy_line", model=t(f"plan.model.{row.model}"), wape=wape, ma28=ma28, weekly=weekly, mase=mase,
             bias=bias)


def _chart_labels() -> dict[str, str]:
    return {k: t(f"plan.chart.{k}") for k in ("history", "forecast", "band", "day", "units")}


def _row(row: Any) -> None:
    days = "∞" if math.isnan(row.days_to_stockout) else f"{row.days_to_stockout:.0f}"
    title = t("plan.row_title", sku=row.sku, warehouse=row.warehouse, qty=row.suggested_qty, days=days,
              value=money(row.value))
    with st.expander(title):
        chart = cached_read(series_chart, int(row.run_id), int(row.product_id), int(row.warehouse_id))
        show_chart(forecast_figure(chart, _chart_labels()), key=f"rp_chart_{row.id}")
        st.caption(_accuracy(row))
        st.markdown(_explain(row))
        qty_col, accept_col = st.columns([2, 1], vertical_alignment="bottom")
        qty_col.number_input(t("plan.final_qty"), min_value=1, value=int(row.suggested_qty), step=int(row.pack_size),
                             key=f"rp_qty_{row.id}")
        accept_col.button(t("plan.accept"), type="primary", key=f"rp_accept_{row.id}", on_click=_accept_one,
                          args=(int(row.id),))
        reason_col, dismiss_col = st.columns([2, 1], vertical_alignment="bottom")
        reason_col.text_input(t("plan.reason"), key=f"rp_reason_{row.id}")
        dismiss_col.button(t("plan.dismiss"), key=f"rp_dismiss_{row.id}", on_click=_dismiss, args=(int(row.id),))


def _controls(run: dict[str, Any] | None) -> None:
    if run is None:
        st.info(t("plan.no_runs"))
        return
    metrics = run["metrics"]
    st.caption(t("plan.based_on", run=run["id"]) + (" " + t(
        "asof.run_caption", as_of=metrics["as_of"], history_end=metrics.get("history_end"),
        first=metrics.get("first_day")) if metrics.get("as_of") else ""))
    level, review, as_of, go = st.columns([2, 1, 1, 1], vertical_alignment="bottom")
    level.select_slider(t("plan.service_level"), SERVICE_LEVELS, value=0.95, format_func=lambda v: percent(v, 0),
                        key="rp_level")
    review.number_input(t("plan.review_days"), min_value=0, max_value=90, value=7, key="rp_review")
    today = local_today()
    as_of.date_input(t("asof.label"), value=today, max_value=today, key="rp_as_of", format="YYYY-MM-DD",
                     help=t("asof.stock_is_current"))
    job = attempt(latest_job, REPLENISH, actor)
    go.button(t("plan.compute"), type="primary", key="rp_compute", on_click=_compute,
              disabled=job is not None and job.active)
    job_panel.show(job, actor, key="rp_job", outcome=_computed)


def _open_list(open_rows: pd.DataFrame) -> None:
    if open_rows.empty:
        st.info(t("plan.no_suggestions"))
        return
    urgent = int((open_rows["days_to_stockout"] <= open_rows["lead_time_days"]).sum())
    a, b, c = st.columns(3)
    a.metric(t("plan.metric_open"), len(open_rows))
    b.metric(t("plan.metric_urgent"), urgent)
    c.metric(t("plan.metric_value"), money(sum(open_rows["value"])))
    shown = open_rows[TABLE_COLUMNS].assign(value=[float(v) for v in open_rows["value"]],
                                           model=[t(f"plan.model.{m}") if pd.notna(m) else "" for m in
                                                  open_rows["model"]])
    show_table(shown, "replenishment", prefix=COLUMNS, percent=("wape_lead_time", "ma28_wape_lead_time"))
    pages = max(1, math.ceil(len(open_rows) / PAGE_SIZE))
    page = st.number_input(t("plan.page", pages=pages), min_value=1, max_value=pages, value=1, key="rp_page")
    chunk = open_rows.iloc[(int(page) - 1) * PAGE_SIZE:int(page) * PAGE_SIZE]
    st.button(t("plan.accept_page"), key="rp_accept_page",
              on_click=_accept, args=({int(i): None for i in chunk["id"]},))
    for row in chunk.itertuples(index=False):
        _row(row)


def _pending_list() -> None:
    pending = cached_read(suggestions, ("accepted", "edited"))
    st.subheader(t("plan.pending_title"))
    if pending.empty:
        st.caption(t("plan.no_pending"))
        return
    shown = pending[PENDING_COLUMNS].assign(status=[t(f"plan.status.{s}") for s in pending["status"]],
                                           value=[float(v) for v in pending["value"]])
    show_table(shown, "accepted_suggestions", prefix=COLUMNS)
    if actor.can("purchase.edit"):
        st.button(t("plan.create_pos"), type="primary", key="rp_order", on_click=_order)


st.title(t("page.replenishment"))
_controls(cached_read(latest_run))
show_notice(state.get("rp_notice"))
_open_list(cached_read(suggestions, ("open",)))
_pending_list()
