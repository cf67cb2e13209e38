"""A forecast run end to end: read demand, fan out per series, store the results.

This is the one module of ``forecasting`` that touches the database, and only through
``core.analytics`` (reads) and ``core.services.forecast_runs`` (the run's three short
transactions). Any exception — including KeyboardInterrupt and the SystemExit the CLI raises
on SIGTERM — marks the run failed before it propagates, and a failed run stored nothing, so
running again is always safe.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from core.analytics.demand import demand_history, product_groups
from core.analytics.planning import lead_times, planning_events
from core.errors import FieldIssue, ValidationError
from core.permissions import Actor
from core.services import forecast_runs
from core.timeutil import local_today
from forecasting.backtest import Scores
from forecasting.calendar import Promotion, builtin_promotions, open_mask, prophet_holidays
from forecasting.profile import Profile, group_demand, shop_profiles, total_demand
from forecasting.runner import RunConfig, SeriesResult, SeriesTask, run_all
from forecasting.series import build_tasks

HISTORY_DAYS = 3 * 365
PROPHET_MAX_SERIES = 200
HEARTBEAT_SECONDS = 10.0

Progress = Callable[[int, int], None]


def _calendar(first: dt.date, last: dt.date) -> tuple[dict[int | None, list[tuple[dt.date, dt.date]]], list[Promotion]]:
    events = planning_events()
    closures: dict[int | None, list[tuple[dt.date, dt.date]]] = {}
    promotions = builtin_promotions(first, last)
    for row in events.itertuples(index=False):
        if row.kind == "closure":
            key = None if pd.isna(row.warehouse_id) else int(row.warehouse_id)
            closures.setdefault(key, []).append((row.start_date, row.end_date))
        elif row.end_date >= first and row.start_date <= last:
            promotions.append(Promotion(row.name, row.start_date, row.end_date))
    return closures, promotions


def _profiles(tasks: list[SeriesTask], last: dt.date, shop_closures: list[tuple[dt.date, dt.date]],
              config: RunConfig) -> dict[dt.date, Profile]:
    """The shop-wide profile for every backtest cutoff and the final forecast (a few Prophet
    fits on the total of all series, which is dense even when every SKU is sparse)."""
    if not tasks:
        return {}
    first, total = total_demand(((t.start, t.y) for t in tasks), last)
    return shop_profiles(first, total, open_mask(first, len(total), shop_closures), horizon=config.horizon,
                         folds=config.folds, min_train=config.min_train, holidays=config.holidays)


def pooled_metrics(results: list[SeriesResult]) -> dict[str, Any]:
    """Per model (over the series it was tried on) and for the selected models, pooled."""
    per_model: dict[str, Scores] = {}
    count: dict[str, int] = {}
    chosen: dict[str, int] = {}
    selected = Scores()
    for r in results:
        for name, scores in r.scores.items():
            per_model.setdefault(name, Scores()).add(scores)
            count[name] = count.get(name, 0) + 1
        chosen[r.model] = chosen.get(r.model, 0) + 1
        selected.add(r.selected)
    models = {name: {**_figures(s), "series": count[name], "selected_for": chosen.get(name, 0)}
              for name, s in per_model.items()}
    return {"models": models, "selected": {**_figures(selected), "series": len(results)}}


def _figures(scores: Scores) -> dict[str, float | None]:
    return {"wape_weekly": scores.wape_weekly, "wape_lead_time": scores.wape_lead, "mase": scores.mase,
            "bias": scores.bias}


def result_frames(results: list[SeriesResult], first_day: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows :func:`core.services.forecast_runs.finish_run` stores: forecasts and series."""
    parts = []
    for r in results:
        days = [first_day + dt.timedelta(days=i) for i in range(len(r.yhat))]
        parts.append(pd.DataFrame({"product_id": r.product_id, "warehouse_id": r.warehouse_id, "ds": days,
                                   "yhat": np.round(r.yhat, 4), "yhat_lower": np.round(r.lower, 4),
                                   "yhat_upper": np.round(r.upper, 4), "model": r.model}))
    forecasts = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=forecast_runs.FORECAST_COLUMNS)
    series = pd.DataFrame([{
        "product_id": r.product_id, "warehouse_id": r.warehouse_id, "model": r.model, "history_days": r.history_days,
        "folds": r.folds, "lead_time_days": r.lead_time, **_figures(r.selected),
        "sigma_daily": r.sigma_daily, "sigma_lead_time": r.sigma_lead_time,
        "metrics": {name: s.summary() for name, s in r.scores.items()},
    } for r in results], columns=forecast_runs.SERIES_COLUMNS)
    return forecasts, series


def run_forecast(actor: Actor, *, horizon: int = 28, backend: str = "local", workers: int | None = None,
                 folds: int = 3, history_days: int = HISTORY_DAYS, prophet_max_series: int = PROPHET_MAX_SERIES,
                 progress: Progress | None = None, today: dt.date | None = None) -> forecast_runs.RunInfo:
    """Forecast every product × warehouse with demand; returns the stored run."""
    issues = [FieldIssue(name, "must be a whole number ≥ 1", value=value)
              for name, value in (("workers", workers), ("folds", folds), ("history_days", history_days))
              if value is not None and (not isinstance(value, int) or value < 1)]
    if issues:
        raise ValidationError(issues)
    params = {"folds": folds, "history_days": history_days, "prophet_max_series": prophet_max_series,
              "workers": workers}
    run_id = forecast_runs.start_run(actor, horizon=horizon, backend=backend, params=params)
    started = time.perf_counter()
    try:
        first_forecast_day = today or local_today()
        last = first_forecast_day - dt.timedelta(days=1)
        first = last - dt.timedelta(days=history_days - 1)
        closures, promotions = _calendar(first, first_forecast_day + dt.timedelta(days=horizon))
        tasks = build_tasks(demand_history(first, last), last, horizon, lead_times=lead_times(), closures=closures,
                            prophet_max_series=prophet_max_series, groups=product_groups())
        holidays = prophet_holidays(first, first_forecast_day + dt.timedelta(days=horizon), promotions)
        config = RunConfig(horizon=horizon, folds=folds, holidays=holidays,
                           groups=group_demand(((t.group, t.start, t.y) for t in tasks), last))
        config = replace(config, profiles=_profiles(tasks, last, closures.get(None, []), config))
        results = run_all(tasks, config, backend=backend, workers=workers, progress=_Heartbeat(run_id, progress))
        forecasts, series = result_frames(results, first_forecast_day)
        metrics = pooled_metrics(results) | {
            "series": len(results), "prophet_series": sum(t.use_prophet for t in tasks),
            "seconds": round(time.perf_counter() - started, 2), "first_day": first_forecast_day.isoformat()}
        return forecast_runs.finish_run(run_id, forecasts, series, metrics, actor)
    except BaseException as exc:
        forecast_runs.fail_run(run_id, f"{type(exc).__name__}: {exc}", actor)
        raise


class _Heartbeat:
    """Progress sink that also keeps the run's heartbeat fresh (at most every 10 s)."""

    def __init__(self, run_id: int, progress: Progress | None) -> None:
        self.run_id, self.progress, self.last = run_id, progress, time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        if time.monotonic() - self.last >= HEARTBEAT_SECONDS:
            forecast_runs.heartbeat(self.run_id)
            self.last = time.monotonic()
        if self.progress is not None:
            self.progress(done, total)
