"""Read-only queries behind the forecast, replenishment, purchase-order and allocation pages.

Each returns a tidy DataFrame (or a small dict) aggregated in SQL; pages only display them.
"""

from __future__ import annotations

import datetime as dt
from statistics import NormalDist
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.analytics import _read
from core.analytics.demand import demand_history
from core.models import (
    Forecast,
    ForecastRun,
    ForecastSeries,
    PlanningEvent,
    POLine,
    Product,
    PurchaseOrder,
    ReplenishmentSuggestion,
    Supplier,
    Warehouse,
)
from core.timeutil import local_today

DEFAULT_LEAD_TIME = 7
RUN_COLUMNS = ["id", "status", "started_at", "finished_at", "as_of", "history_end", "first_day", "horizon", "backend",
               "series", "wape_weekly", "wape_lead_time", "mase", "bias", "seconds", "created_by", "error", "metrics"]


def lead_times(*, session: Session | None = None) -> dict[int, int]:
    """Lead time in days per active product: its own, else its supplier's, else 7."""
    def query(s: Session) -> dict[int, int]:
        rows = s.execute(
            select(Product.id, func.coalesce(Product.lead_time_days, Supplier.lead_time_days, DEFAULT_LEAD_TIME))
            .outerjoin(Supplier, Supplier.id == Product.supplier_id).where(Product.active.is_(True))
        ).all()
        return {int(pid): int(days) for pid, days in rows}

    return _read(session, query)


def planning_events(*, kind: str | None = None, session: Session | None = None) -> pd.DataFrame:
    """Closures and promotions: ``[id, kind, name, start_date, end_date, warehouse_id, warehouse, note,
    created_by]``, newest first."""
    def query(s: Session) -> list:
        stmt = (select(PlanningEvent.id, PlanningEvent.kind, PlanningEvent.name, PlanningEvent.start_date,
                       PlanningEvent.end_date, PlanningEvent.warehouse_id, Warehouse.code, PlanningEvent.note,
                       PlanningEvent.created_by)
                .outerjoin(Warehouse, Warehouse.id == PlanningEvent.warehouse_id)
                .order_by(PlanningEvent.start_date.desc(), PlanningEvent.id.desc()))
        if kind is not None:
            stmt = stmt.where(PlanningEvent.kind == kind)
        return list(s.execute(stmt))

    return pd.DataFrame(_read(session, query), columns=["id", "kind", "name", "start_date", "end_date", "warehouse_id",
                                                         "warehouse", "note", "created_by"])


def forecast_runs(limit: int = 20, *, session: Session | None = None) -> pd.DataFrame:
    """Latest runs with their as-of date, where their history ended, their first forecast day
    and the pooled holdout accuracy of the selected models (``RUN_COLUMNS``; empty for a run
    stored before holdouts existed; ``metrics`` carries a failed run's reason code)."""
    def query(s: Session) -> list:
        return list(s.execute(select(ForecastRun).order_by(ForecastRun.id.desc()).limit(limit)).scalars())

    rows = []
    for run in _read(session, query):
        metrics = run.metrics or {}
        selected = (metrics.get("holdout") or {}).get("selected") or {}
        rows.append([run.id, run.status, run.started_at, run.finished_at, (run.params or {}).get("as_of"),
                     metrics.get("history_end"), metrics.get("first_day"), run.horizon, run.backend,
                     metrics.get("series"), selected.get("wape_weekly"), selected.get("wape_lead_time"),
                     selected.get("mase"), selected.get("bias"), metrics.get("seconds"), run.created_by,
                     run.error, metrics])
    return pd.DataFrame(rows, columns=RUN_COLUMNS)


def latest_run(*, session: Session | None = None) -> dict[str, Any] | None:
    """The newest succeeded run as ``{id, started_at, horizon, backend, metrics}``; None if none."""
    def query(s: Session) -> Any:
        return s.execute(select(ForecastRun).where(ForecastRun.status == "succeeded")
                         .order_by(ForecastRun.id.desc()).limit(1)).scalar_one_or_none()

    run = _read(session, query)
    if run is None:
        return None
    return {"id": run.id, "started_at": run.started_at, "horizon": run.horizon, "backend": run.backend,
            "metrics": run.metrics or {}}


def model_accuracy(run_id: int, *, session: Session | None = None) -> pd.DataFrame:
    """Pooled accuracy per model of a run on the final holdout no selection saw: ``[model,
    series, selected, wape_weekly, wape_lead_time, mase, bias, backtest_wape_lead_time]`` (the
    ``selected`` row pools each series' chosen model; ``backtest_wape_lead_time`` is the
    optimistic figure on the folds the choice was made on, shown for comparison)."""
    metrics = _run_metrics(run_id, session)
    holdout = metrics.get("holdout") or {}
    held = holdout.get("models") or {}
    rows = [[name, m.get("series"), m.get("selected_for"), *_held(held.get(name)), m.get("wape_lead_time")]
            for name, m in (metrics.get("models") or {}).items()]
    selected = metrics.get("selected")
    if selected:
        rows.append(["selected", selected.get("series"), selected.get("series"), *_held(holdout.get("selected")),
                     selected.get("wape_lead_time")])
    return pd.DataFrame(rows, columns=["model", "series", "selected", "wape_weekly", "wape_lead_time", "mase", "bias",
                                       "backtest_wape_lead_time"])


def _held(figures: dict[str, Any] | None) -> list[Any]:
    figures = figures or {}
    return [figures.get(k) for k in ("wape_weekly", "wape_lead_time", "mase", "bias")]


def holdout_summary(run_id: int, *, session: Session | None = None) -> dict[str, Any] | None:
    """The run's pooled holdout figures (``series``, ``selected``, ``ma28``, ``gain_vs_ma28``),
    or None for a run stored before holdouts existed."""
    holdout: dict[str, Any] | None = _run_metrics(run_id, session).get("holdout")
    return holdout


def _run_metrics(run_id: int, session: Session | None) -> dict[str, Any]:
    def query(s: Session) -> Any:
        return s.execute(select(ForecastRun.metrics).where(ForecastRun.id == run_id)).scalar_one_or_none()

    metrics: dict[str, Any] = _read(session, query) or {}
    return metrics


def series_accuracy(run_id: int, *, session: Session | None = None) -> pd.DataFrame:
    """Per series of a run, on its final holdout: ``[product_id, warehouse_id, sku, name,
    warehouse, model, history_days, folds, lead_time_days, wape_weekly, wape_lead_time, mase,
    bias, ma28_wape_lead_time]`` (empty figures: the history was too short for a holdout)."""
    def query(s: Session) -> list:
        return list(s.execute(
            select(ForecastSeries.product_id, ForecastSeries.warehouse_id, Product.sku, Product.name, Warehouse.code,
                   ForecastSeries.model, ForecastSeries.history_days, ForecastSeries.folds,
                   ForecastSeries.lead_time_days, ForecastSeries.wape_weekly, ForecastSeries.wape_lead_time,
                   ForecastSeries.mase, ForecastSeries.bias, ForecastSeries.metrics)
            .join(Product, Product.id == ForecastSeries.product_id)
            .join(Warehouse, Warehouse.id == ForecastSeries.warehouse_id)
            .where(ForecastSeries.run_id == run_id)
            .order_by(Product.sku, Warehouse.code)
        ))

    rows = [[*r[:9], *_held_only(r[9:13], r[13]), ma28_holdout(r[13])] for r in _read(session, query)]
    return pd.DataFrame(rows, columns=["product_id", "warehouse_id", "sku", "name", "warehouse", "model",
                                       "history_days", "folds", "lead_time_days", "wape_weekly", "wape_lead_time",
                                       "mase", "bias", "ma28_wape_lead_time"])


def _sigma_source(metrics: dict[str, Any] | None) -> tuple[str | None, int | None]:
    """Where a series' σ_L came from (``lead_error``, ``daily_error`` or ``demand``) and over how
    many windows; (None, None) for a run stored before it was recorded."""
    sigma = (metrics or {}).get("sigma") or {}
    return sigma.get("method"), sigma.get("windows")


def _held_only(figures: Any, metrics: dict[str, Any] | None) -> list[Any]:
    """A series' stored accuracy figures when they are holdout figures; blank for a run stored
    before holdouts existed, whose columns hold the optimistic backtest figures instead."""
    return list(figures) if "holdout" in (metrics or {}) else [None] * len(figures)


def ma28_holdout(metrics: dict[str, Any] | None) -> float | None:
    """The 28-day moving average's lead-time WAPE on a series' holdout, from its stored metrics."""
    value = (((metrics or {}).get("holdout") or {}).get("ma28") or {}).get("wape_lead_time")
    return None if value is None else float(value)


def series_chart(run_id: int, product_id: int, warehouse_id: int, history_days: int = 120, *,
                 session: Session | None = None) -> pd.DataFrame:
    """History and forecast of one series for a chart: ``[day, kind, qty, lower, upper]`` where
    ``kind`` is ``history`` (units ordered, zero-filled) or ``forecast`` (with its 80 % band)."""
    def query(s: Session) -> tuple[list, list]:
        fc = list(s.execute(
            select(Forecast.ds, Forecast.yhat, Forecast.yhat_lower, Forecast.yhat_upper)
            .where(Forecast.run_id == run_id, Forecast.product_id == product_id, Forecast.warehouse_id == warehouse_id)
            .order_by(Forecast.ds)))
        first = (fc[0][0] if fc else local_today()) - dt.timedelta(days=history_days)
        last = (fc[0][0] if fc else local_today()) - dt.timedelta(days=1)
        hist = demand_history(first, last, product_ids=[product_id], warehouse_id=warehouse_id, session=s)
        days = pd.date_range(first, last, freq="D").date
        qty = dict(zip(hist["day"], hist["qty"], strict=True))
        return [(d, "history", float(qty.get(d, 0)), None, None) for d in days], \
            [(d, "forecast", y, lo, hi) for d, y, lo, hi in fc]

    history, forecast = _read(session, query)
    return pd.DataFrame([*history, *forecast], columns=["day", "kind", "qty", "lower", "upper"])


SUGGESTION_COLUMNS = [
    "id", "sku", "name", "warehouse", "supplier", "status", "suggested_qty", "final_qty", "days_to_stockout",
    "value", "demand_lead_time", "demand_sigma", "safety_stock", "reorder_point", "order_up_to", "on_hand",
    "reserved", "backordered", "on_order", "in_transit", "pending_qty", "lead_time_days", "review_days",
    "service_level", "daily_demand", "pack_size", "moq", "unit_cost", "product_id", "warehouse_id", "run_id",
    "reason", "decided_by", "model", "wape_weekly", "wape_lead_time", "mase", "bias", "ma28_wape_lead_time",
    "sigma_method", "sigma_windows",
]


def suggestions(statuses: tuple[str, ...] = ("open",), *, session: Session | None = None) -> pd.DataFrame:
    """Suggestions in ``statuses``, most urgent first (fewest days to stock-out), then by value.

    ``SUGGESTION_COLUMNS`` plus the arithmetic's intermediate figures (``z``, ``available``,
    ``position``, ``need``) and the holdout accuracy of the forecast behind each one, with the
    28-day moving average's on the same days (``ma28_wape_lead_time``), and where the safety
    stock's σ_L came from (``sigma_method``, ``sigma_windows``).
    ``value`` = quantity (final if decided, else suggested) × unit cost; ``days_to_stockout``
    is NaN when no demand is forecast.
    """
    r, fs = ReplenishmentSuggestion, ForecastSeries

    def query(s: Session) -> list:
        return list(s.execute(
            select(r.id, Product.sku, Product.name, Warehouse.code, Supplier.name, r.status, r.suggested_qty,
                   r.final_qty, r.days_to_stockout, r.unit_cost, r.demand_lead_time, r.demand_sigma, r.safety_stock,
                   r.reorder_point, r.order_up_to, r.on_hand, r.reserved, r.backordered, r.on_order, r.in_transit,
                   r.pending_qty, r.lead_time_days, r.review_days, r.service_level, r.daily_demand, r.pack_size,
                   r.moq, r.unit_cost, r.product_id, r.warehouse_id, r.run_id, r.reason, r.decided_by, fs.model,
                   fs.wape_weekly, fs.wape_lead_time, fs.mase, fs.bias, fs.metrics)
            .join(Product, Product.id == r.product_id)
            .join(Warehouse, Warehouse.id == r.warehouse_id)
            .outerjoin(Supplier, Supplier.id == r.supplier_id)
            .outerjoin(fs, (fs.run_id == r.run_id) & (fs.product_id == r.product_id)
                       & (fs.warehouse_id == r.warehouse_id))
            .where(r.status.in_(statuses))
        ))

    frame = pd.DataFrame([[*row[:-5], *_held_only(row[-5:-1], row[-1]), ma28_holdout(row[-1]),
                           *_sigma_source(row[-1])] for row in _read(session, query)], columns=SUGGESTION_COLUMNS)
    extra = ["z", "available", "position", "need"]
    if frame.empty:
        return frame.reindex(columns=[*SUGGESTION_COLUMNS, *extra])
    qty = frame["final_qty"].fillna(frame["suggested_qty"]).astype("int64")
    frame["value"] = [None if cost is None or pd.isna(cost) else q * cost  # cost unknown: no value
                      for q, cost in zip(qty, frame["value"], strict=True)]
    frame["days_to_stockout"] = frame["days_to_stockout"].astype(float)
    frame["z"] = [NormalDist().inv_cdf(level) for level in frame["service_level"]]
    frame["available"] = frame["on_hand"] - frame["reserved"] - frame["backordered"]
    frame["position"] = frame["available"] + frame["on_order"] + frame["in_transit"] + frame["pending_qty"]
    frame["need"] = (frame["order_up_to"] - frame["position"]).clip(lower=0)
    order = frame.assign(_urgency=frame["days_to_stockout"].fillna(float("inf")),
                         _value=[0.0 if v is None else float(v) for v in frame["value"]])
    return order.sort_values(["_urgency", "_value"], ascending=[True, False]).drop(
        columns=["_urgency", "_value"]).reset_index(drop=True)


def open_purchase_orders_for(product_id: int, warehouse: str, *, session: Session | None = None) -> pd.DataFrame:
    """Open purchase orders into ``warehouse`` carrying the product: ``[id, number, status, open_qty]``."""
    def query(s: Session) -> list:
        return list(s.execute(
            select(PurchaseOrder.id, PurchaseOrder.number, PurchaseOrder.status,
                   func.sum(POLine.qty_ordered - POLine.qty_received))
            .join(POLine, POLine.po_id == PurchaseOrder.id)
            .join(Warehouse, Warehouse.id == PurchaseOrder.warehouse_id)
            .where(POLine.product_id == product_id, Warehouse.code == warehouse,
                   PurchaseOrder.status.in_(("draft", "sent", "partial")))
            .group_by(PurchaseOrder.id, PurchaseOrder.number, PurchaseOrder.status)
            .order_by(PurchaseOrder.id)))

    return pd.DataFrame(_read(session, query), columns=["id", "number", "status", "open_qty"])
