"""Forecast: run the demand forecast, see how accurate each model was in the backtest — pooled
and per series — and keep the closure/promotion calendar.

A run is a background job (``core.services.forecast_pipeline.start_forecast``): the worker runs
it, the page shows its progress from the job row — after a reload or a closed tab too — and can
cancel it (pages/_job_panel.py). It runs as of a date (default today): the page says where the
history ends and, when the gap to the as-of date is longer than a week, offers to forecast
from the day after the last sale instead of reading the gap as zero demand. Accuracy is what the
final holdout measured — the last ``horizon`` days, which the model choice never saw — next to
the 28-day moving average's on the same days: WAPE on weekly buckets and on the lead-time total,
daily MASE and bias (the backtest figure the choice was made on is shown beside it, labelled
optimistic).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from core.analytics.planning import (
    forecast_runs,
    holdout_summary,
    latest_run,
    model_accuracy,
    planning_events,
    series_accuracy,
    series_chart,
)
from core.errors import OMSError
from core.locales.planning import BACKEND, COLUMNS, KIND
from core.services.forecast_pipeline import history_end, start_forecast
from core.services.forecast_runs import BACKENDS, MAX_HORIZON, MIN_HORIZON
from core.services.jobs import FORECAST, JobView, latest_job
from core.services.planning_calendar import KINDS, add_event, delete_event
from core.timeutil import local_today
from core.webui import (
    Notice,
    attempt,
    cached_read,
    guard_page,
    labels,
    local_time,
    percent,
    show_chart,
    show_notice,
    show_table,
    t,
)
from pages import _job_panel as job_panel
from pages._planning_charts import accuracy_figure, forecast_figure

actor = guard_page("forecast.view")
state = st.session_state
RATIO_COLUMNS = ("wape_weekly", "wape_lead_time", "bias", "ma28_wape_lead_time", "backtest_wape_lead_time")


def table(frame: pd.DataFrame, basename: str) -> None:
    show_table(frame, basename, prefix=COLUMNS, percent=RATIO_COLUMNS)


def _run_section() -> None:
    st.subheader(t("plan.run_title"))
    if not actor.can("forecast.run"):
        st.caption(t("plan.run_not_allowed"))
        return
    left, middle, right = st.columns(3)
    horizon = left.number_input(t("plan.horizon"), min_value=MIN_HORIZON, max_value=MAX_HORIZON, value=28,
                                step=7, key="fc_horizon")
    backend = middle.selectbox(t("plan.backend_label"), BACKENDS, format_func=labels(BACKEND, BACKENDS).__getitem__,
                               key="fc_backend")
    today = local_today()
    as_of = right.date_input(t("asof.label"), value=today, max_value=today, key="fc_as_of", format="YYYY-MM-DD",
                             help=t("asof.forecast_help"))
    from_last_sale = _history_end(as_of)
    job = attempt(latest_job, FORECAST, actor)
    if st.button(t("plan.run"), type="primary", key="fc_run", disabled=job is not None and job.active):
        try:
            start_forecast(actor, horizon=int(horizon), backend=backend, as_of=as_of, from_last_sale=from_last_sale)
        except OMSError as exc:
            state["fc_notice"] = exc
        else:
            state.pop("fc_notice", None)
        st.rerun()
    show_notice(state.get("fc_notice"))
    job_panel.show(job, actor, key="fc_job", outcome=_run_done)


def _run_done(job: JobView) -> None:
    result = job.result or {}
    st.success(t("plan.run_done", run=result.get("run"), series=result.get("series"), seconds=result.get("seconds")))


def _history_end(as_of: dt.date) -> bool:
    """Where the history ends before the as-of date; when the gap to it is longer than a week,
    the warning and the choice to forecast from the day after the last sale (returned)."""
    end = cached_read(history_end, as_of)
    if end.last_sale is None:
        st.info(t("asof.no_history", as_of=as_of.isoformat()))
        return False
    params = {"last_sale": end.last_sale.isoformat(), "gap": end.gap_days, "as_of": as_of.isoformat(),
              "first": end.first_forecast_day(True).isoformat()}
    if not end.long_gap:
        st.caption(t("asof.history_ends", **params))
        return False
    st.warning(t("asof.gap_warning", **params), icon=":material/event_busy:")
    return st.checkbox(t("asof.from_last_sale"), key="fc_from_last_sale", help=t("asof.from_last_sale_help"))


def _reason(error: object, metrics: object) -> str:
    """A failed run's reason in the user's language when it was refused with a message code."""
    failure = (metrics or {}).get("failure") if isinstance(metrics, dict) else None
    if failure:
        return t(failure["code"], **failure.get("params", {}))
    return "" if error is None or pd.isna(error) else str(error)


def _runs_section() -> None:
    runs = cached_read(forecast_runs)
    if runs.empty:
        st.info(t("plan.no_runs"))
        return
    shown = runs.assign(status=[t(f"plan.run_status.{s}") for s in runs["status"]],
                        started_at=[local_time(v) for v in runs["started_at"]],
                        finished_at=[local_time(v) if pd.notna(v) else "" for v in runs["finished_at"]],
                        error=[_reason(e, m) for e, m in zip(runs["error"], runs["metrics"], strict=True)]
                        ).drop(columns=["metrics"])
    st.markdown(f"**{t('plan.runs')}**")
    table(shown, "forecast_runs")


def _accuracy_section() -> None:
    run = cached_read(latest_run)
    if run is None:
        st.info(t("plan.no_runs"))
        return
    metrics = run["metrics"]
    st.caption(t("plan.run_caption", run=run["id"], at=local_time(run["started_at"]), series=metrics.get("series"),
                 prophet=metrics.get("prophet_series", 0)))
    if metrics.get("as_of"):
        st.caption(t("asof.run_caption", as_of=metrics["as_of"], history_end=metrics.get("history_end"),
                     first=metrics.get("first_day")))
    _holdout_section(run["id"], int(run["horizon"]))
    _levels_section(metrics, int(run["horizon"]))
    models = cached_read(model_accuracy, run["id"])
    st.markdown(f"**{t('plan.by_model')}**")
    st.caption(t("plan.by_model_hint"))
    shown = models.assign(model=[t(f"plan.model.{m}") for m in models["model"]])
    table(shown, "model_accuracy")
    show_chart(accuracy_figure(shown, {c: t(f"plan.col.{c}") for c in ("wape_weekly", "wape_lead_time")}),
                    key="fc_accuracy_chart")
    _series_section(run["id"])


def _percent(value: float | None) -> str:
    return "—" if value is None else percent(value)


def _holdout_section(run_id: int, horizon: int) -> None:
    """The pooled holdout figure of the chosen models beside the moving average's, and what
    "better" means in words."""
    st.markdown(f"**{t('plan.holdout_title')}**")
    holdout = cached_read(holdout_summary, run_id)
    if not holdout or not holdout.get("series"):
        st.info(t("plan.holdout_none"))
        return
    st.caption(t("plan.holdout_better", days=horizon))
    chosen, baseline = holdout.get("selected") or {}, holdout.get("ma28") or {}
    gain = holdout.get("gain_vs_ma28")
    cols = st.columns(5)
    cols[0].metric(t("plan.holdout_selected"), _percent(chosen.get("wape_lead_time")))
    cols[1].metric(t("plan.holdout_ma28"), _percent(baseline.get("wape_lead_time")))
    cols[2].metric(t("plan.holdout_gain"), "—" if gain is None else f"{gain:+.1%}")
    cols[3].metric(t("plan.col.wape_weekly"), _percent(chosen.get("wape_weekly")))
    cols[4].metric(t("plan.col.bias"), "—" if chosen.get("bias") is None else f"{chosen['bias']:+.1%}")
    st.caption(t("plan.holdout_series", series=holdout["series"]))


LEVELS = ("total", "category", "sku", "bottom")


def _levels_section(metrics: dict, horizon: int) -> None:
    """Coherent levels: per level the reconciled forecast of the days ahead (the same total at
    every level — each is the sum of the SKU × warehouse forecasts replenishment orders on) and
    each reconciliation method's holdout WAPE there, which method won, then the reconciled
    forecast per category."""
    st.markdown(f"**{t('plan.levels_title')}**")
    recon = metrics.get("reconciliation")
    if not recon:
        st.info(t("plan.levels_none"))
        return
    method = t(f"plan.recon.{recon['method']}")
    st.caption(t("plan.levels_chosen" if recon.get("chosen_on_holdout") else "plan.levels_default",
                 method=method, days=horizon))
    wape = recon.get("wape") or {}
    levels = [lv for lv in LEVELS if lv in (recon.get("rows") or {})]
    frame = pd.DataFrame({"level": [t(f"plan.level.{lv}") for lv in levels],
                          "series": [recon["rows"][lv] for lv in levels],
                          "reconciled_total": [recon["totals"].get(lv) for lv in levels],
                          **{f"wape_{name}": [wape[name].get(lv) for lv in levels] for name in wape}})
    show_table(frame, "forecast_levels", prefix=COLUMNS, percent=[f"wape_{name}" for name in wape])
    categories = recon.get("categories") or {}
    if categories:
        show_table(pd.DataFrame({"category": [c or t("plan.no_category") for c in categories],
                                 "reconciled_total": list(categories.values())}), "forecast_categories",
                   prefix=COLUMNS)


def _series_section(run_id: int) -> None:
    st.markdown(f"**{t('plan.by_series')}**")
    series = cached_read(series_accuracy, run_id)
    query = st.text_input(t("plan.filter_sku"), key="fc_sku_filter").strip().upper()
    if query:
        series = series[series["sku"].str.upper().str.contains(query, regex=False)]
    shown = series.assign(model=[t(f"plan.model.{m}") for m in series["model"]]).drop(
        columns=["product_id", "warehouse_id"])
    table(shown, "series_accuracy")
    if series.empty:
        return
    keys = {(int(r.product_id), int(r.warehouse_id)): f"{r.sku} · {r.warehouse}" for r in series.itertuples()}
    picked = st.selectbox(t("plan.pick_series"), list(keys), format_func=keys.__getitem__, key="fc_series")
    if picked is not None:
        chart = cached_read(series_chart, run_id, picked[0], picked[1])
        show_chart(forecast_figure(chart, chart_labels()), key="fc_series_chart")


def chart_labels() -> dict[str, str]:
    return {k: t(f"plan.chart.{k}") for k in ("history", "forecast", "band", "day", "units")}


def _add_event() -> None:
    start, end = state.get("fc_ev_start"), state.get("fc_ev_end")
    try:
        add_event(state.get("fc_ev_kind", ""), state.get("fc_ev_name", ""), start, end or start, actor,
                  warehouse=state.get("fc_ev_warehouse") or None, note=state.get("fc_ev_note"))
    except OMSError as exc:
        state["fc_cal_notice"] = exc
        return
    state["fc_cal_notice"] = Notice("success", "plan.event_added")
    state["fc_ev_name"] = ""


def _delete_event(event_id: int) -> None:
    try:
        delete_event(event_id, actor)
    except OMSError as exc:
        state["fc_cal_notice"] = exc
        return
    state["fc_cal_notice"] = Notice("success", "plan.event_deleted")


def _calendar_section() -> None:
    st.caption(t("plan.calendar_hint"))
    events = cached_read(planning_events)
    if events.empty:
        st.info(t("plan.no_events"))
    else:
        shown = events.assign(kind=[t(f"plan.kind.{k}") for k in events["kind"]],
                              warehouse=events["warehouse"].fillna(t("plan.all_warehouses")))
        table(shown.drop(columns=["warehouse_id"]), "planning_calendar")
    show_notice(state.get("fc_cal_notice"))
    if not actor.can("forecast.run"):
        return
    with st.form("fc_event"):
        kind_col, name_col = st.columns(2)
        kind_col.selectbox(t("plan.col.kind"), KINDS, format_func=labels(KIND, KINDS).__getitem__,
                           key="fc_ev_kind")
        name_col.text_input(t("plan.col.name"), key="fc_ev_name")
        start_col, end_col, wh_col = st.columns(3)
        start_col.date_input(t("plan.col.start_date"), value=local_today(), key="fc_ev_start")
        end_col.date_input(t("plan.col.end_date"), value=local_today(), key="fc_ev_end")
        wh_col.text_input(t("plan.event_warehouse"), key="fc_ev_warehouse", placeholder="SH")
        st.text_input(t("plan.col.note"), key="fc_ev_note")
        st.form_submit_button(t("plan.add_event"), on_click=_add_event, key="fc_ev_submit")
    if not events.empty:
        names = {int(r.id): f"{r.name} · {r.start_date}–{r.end_date}" for r in events.itertuples()}
        pick, go = st.columns([3, 1], vertical_alignment="bottom")
        chosen = pick.selectbox(t("plan.pick_event"), list(names), format_func=names.__getitem__, key="fc_ev_pick")
        go.button(t("plan.delete_event"), key="fc_ev_delete", on_click=_delete_event, args=(chosen,))


st.title(t("page.forecast"))
run_tab, accuracy_tab, calendar_tab = st.tabs([t("plan.tab_run"), t("plan.tab_accuracy"), t("plan.tab_calendar")])
with run_tab:
    _run_section()
    _runs_section()
with accuracy_tab:
    _accuracy_section()
with calendar_tab:
    _calendar_section()
