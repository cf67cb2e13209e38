"""A forecast run end to end: read demand, fan out per series, store the results.

The Forecast page queues a run (:func:`start_forecast`); the worker (``core.worker``) calls
:func:`run_forecast`, whose progress and cancel go through the job (docs/jobs.md).

The orchestration of the pure ``forecasting`` package: it touches the database only through
``core.analytics`` (reads) and ``core.services.forecast_runs`` (the run's three short
transactions). Any exception — including KeyboardInterrupt and the SystemExit the CLI raises
on SIGTERM — marks the run failed before it propagates, and a failed run stored nothing, so
running again is always safe.

The SKU × warehouse forecasts it stores — what replenishment orders on — are reconciled with the
SKU, category and shop totals by the method the run's holdout chose (bottom-up, top-down or
MinT-shrink: :mod:`forecasting.coherent`); the method and every method's holdout WAPE per level
are kept in the run's metrics (``reconciliation``), with the reconciled totals the page shows.

A run is *as of* a day (default today): the forecast starts on that day and reads only the
complete days before it, so a history imported months after its last sale forecasts from where
it ends. Nothing after the history's last day reaches a fit or a backtest. A run with nothing to
forecast fails with a reason (a message code stored with the run), never "succeeded: 0 series".
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from core.analytics.demand import demand_history, last_sale_day, product_groups
from core.analytics.planning import lead_times, planning_events
from core.asof import check_as_of
from core.errors import FieldIssue, Refused, ValidationError
from core.jobs import kinds
from core.jobs.runtime import JobCancelled
from core.permissions import Actor, require
from core.services import forecast_runs, jobs
from forecasting.backtest import Scores
from forecasting.calendar import Promotion, builtin_promotions, open_mask, prophet_holidays
from forecasting.coherent import reconcile_run
from forecasting.profile import Profile, group_demand, shop_profiles, total_demand
from forecasting.runner import RunConfig, SeriesResult, SeriesTask, pool_holdout, run_all
from forecasting.series import build_tasks

HISTORY_DAYS = 3 * 365
PROPHET_MAX_SERIES = 200
HEARTBEAT_SECONDS = 10.0
GAP_WARN_DAYS = 7  # a longer gap between the last sale and the as-of date is warned about

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
                         folds=config.folds, min_train=config.min_train, holidays=config.holidays,
                         ends=(0, config.horizon))


def pooled_metrics(results: list[SeriesResult]) -> dict[str, Any]:
    """Per model (over the series it was tried on) and for the selected models, pooled — on the
    selection folds (``models``, ``selected``: optimistic, the choice was made on them) and on
    the final holdout the choice never saw (``holdout``: the figures the page shows)."""
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
    return {"models": models, "selected": {**_figures(selected), "series": len(results)},
            "holdout": holdout_metrics(results)}


def holdout_metrics(results: list[SeriesResult]) -> dict[str, Any]:
    """The holdout figures pooled over the series that have one: per candidate, for the chosen
    models, and the gain of the chosen models over the 28-day moving average on the same days
    (``gain_vs_ma28`` = 1 − chosen lead-time WAPE ÷ moving average's; positive = better), and
    the share of holdout days inside the 80 % band (``interval_coverage_80``) and the same share
    by the PIT of counts (``interval_pit_coverage_80``; 0.8 is right, see forecasting.intervals)."""
    pool = pool_holdout(results)
    return {"series": pool.series, "selected": _figures(pool.selected), "ma28": _figures(pool.baseline),
            "gain_vs_ma28": pool.gain, "interval_coverage_80": pool.coverage,
            "interval_pit_coverage_80": pool.coverage_pit,
            "models": {name: _figures(s) for name, s in pool.models.items()}}


def _figures(scores: Scores) -> dict[str, float | None]:
    return {"wape_weekly": scores.wape_weekly, "wape_lead_time": scores.wape_lead, "mase": scores.mase,
            "bias": scores.bias}


def _empty_figures() -> dict[str, float | None]:
    return dict.fromkeys(("wape_weekly", "wape_lead_time", "mase", "bias"))


def result_frames(results: list[SeriesResult], first_day: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows :func:`core.services.forecast_runs.finish_run` stores: forecasts and series.

    A series' accuracy columns hold its *holdout* figures (empty without a holdout); its
    ``metrics`` keep every candidate's selection-fold (``backtest``) and holdout summaries."""
    parts = []
    for r in results:
        days = [first_day + dt.timedelta(days=i) for i in range(len(r.yhat))]
        parts.append(pd.DataFrame({"product_id": r.product_id, "warehouse_id": r.warehouse_id, "ds": days,
                                   "yhat": np.round(r.yhat, 4), "yhat_lower": np.round(r.lower, 4),
                                   "yhat_upper": np.round(r.upper, 4), "model": r.model}))
    forecasts = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=forecast_runs.FORECAST_COLUMNS)
    series = pd.DataFrame([{
        "product_id": r.product_id, "warehouse_id": r.warehouse_id, "model": r.model, "history_days": r.history_days,
        "folds": r.folds, "lead_time_days": r.lead_time,
        **(_empty_figures() if r.holdout_selected is None else _figures(r.holdout_selected)),
        "sigma_daily": r.sigma_daily, "sigma_lead_time": r.sigma_lead_time,
        "metrics": {"backtest": {name: s.summary() for name, s in r.scores.items()},
                    "holdout": {name: s.summary() for name, s in r.holdout.items()},
                    "sigma": {"method": r.sigma_method, "windows": r.sigma_windows}},
    } for r in results], columns=forecast_runs.SERIES_COLUMNS)
    return forecasts, series


@dataclass(frozen=True)
class HistoryEnd:
    """Where the demand history ends, seen from an as-of date: the forecast's first day by
    default, or the day after the last sale when the gap between them is not to count as zero
    demand (a history imported weeks after its last sale)."""

    as_of: dt.date
    last_sale: dt.date | None  # last local day with demand before ``as_of``; None: no history

    @property
    def gap_days(self) -> int | None:
        """Days without any sale between the last sale and the as-of date."""
        return None if self.last_sale is None else (self.as_of - self.last_sale).days - 1

    @property
    def long_gap(self) -> bool:
        """True when the gap is longer than :data:`GAP_WARN_DAYS`: worth a warning, because
        counting it as zero demand drags every moving average and level down."""
        return self.gap_days is not None and self.gap_days > GAP_WARN_DAYS

    def first_forecast_day(self, from_last_sale: bool) -> dt.date:
        if from_last_sale and self.last_sale is not None:
            return self.last_sale + dt.timedelta(days=1)
        return self.as_of


def history_end(as_of: dt.date | None = None) -> HistoryEnd:
    """Where the history ends before ``as_of`` (default today); for the page's warning and the run."""
    day = check_as_of(as_of)
    return HistoryEnd(day, last_sale_day(day))


def start_forecast(actor: Actor, *, horizon: int = 28, backend: str = "local", as_of: dt.date | None = None,
                   from_last_sale: bool = False) -> int:
    """Queue a forecast run for the worker (the Forecast page's button); returns the job's id.
    The horizon, backend and as-of date are checked now, so a bad one is refused on the spot;
    a second run is refused while one is queued or running."""
    require(actor, "forecast.run")
    forecast_runs.check_params(horizon, backend)
    day = check_as_of(as_of)
    return jobs.submit(kinds.FORECAST, {"horizon": horizon, "backend": backend, "as_of": day.isoformat(),
                                        "from_last_sale": bool(from_last_sale)}, actor, "forecast.run")


def run_forecast(actor: Actor, *, horizon: int = 28, backend: str = "local", workers: int | None = None,
                 folds: int = 3, history_days: int = HISTORY_DAYS, prophet_max_series: int = PROPHET_MAX_SERIES,
                 progress: Progress | None = None, as_of: dt.date | None = None,
                 from_last_sale: bool = False) -> forecast_runs.RunInfo:
    """Forecast every product × warehouse with demand before ``as_of`` (default today), from
    ``as_of`` on — or, with ``from_last_sale``, from the day after the last sale before it.
    Nothing after the history's last day reaches a fit or a backtest. A run with nothing to
    forecast fails with a reason (:class:`~core.errors.Refused`); returns the stored run."""
    issues = [FieldIssue(name, "issue.whole_at_least", value=value, params={"n": 1})
              for name, value in (("workers", workers), ("folds", folds), ("history_days", history_days))
              if value is not None and (not isinstance(value, int) or value < 1)]
    if issues:
        raise ValidationError(issues)
    as_of = check_as_of(as_of)
    params = {"folds": folds, "history_days": history_days, "prophet_max_series": prophet_max_series,
              "workers": workers, "as_of": as_of.isoformat(), "from_last_sale": bool(from_last_sale)}
    run_id = forecast_runs.start_run(actor, horizon=horizon, backend=backend, params=params)
    started = time.perf_counter()
    try:
        end = HistoryEnd(as_of, last_sale_day(as_of))
        if end.last_sale is None:
            raise Refused("asof.no_history", as_of=as_of.isoformat())
        first_forecast_day = end.first_forecast_day(from_last_sale)
        last = first_forecast_day - dt.timedelta(days=1)
        first = last - dt.timedelta(days=history_days - 1)
        if end.last_sale < first:
            raise Refused("asof.history_too_old", last_sale=end.last_sale.isoformat(), first=first.isoformat(),
                          days=history_days)
        closures, promotions = _calendar(first, first_forecast_day + dt.timedelta(days=horizon))
        tasks = build_tasks(demand_history(first, last), last, horizon, lead_times=lead_times(), closures=closures,
                            prophet_max_series=prophet_max_series, groups=product_groups())
        if not tasks:
            raise Refused("asof.no_series", first=first.isoformat(), last=last.isoformat())
        holidays = prophet_holidays(first, first_forecast_day + dt.timedelta(days=horizon), promotions)
        config = RunConfig(horizon=horizon, folds=folds, holidays=holidays,
                           groups=group_demand(((t.group, t.start, t.y) for t in tasks), last))
        config = replace(config, profiles=_profiles(tasks, last, closures.get(None, []), config))
        results = run_all(tasks, config, backend=backend, workers=workers, progress=_Heartbeat(run_id, progress))
        coherent = reconcile_run(tasks, results, config, workers=workers)
        forecasts, series = result_frames(coherent.results, first_forecast_day)
        metrics = pooled_metrics(results) | {"reconciliation": coherent.summary()} | {
            "series": len(results), "prophet_series": sum(t.use_prophet for t in tasks),
            "seconds": round(time.perf_counter() - started, 2), "first_day": first_forecast_day.isoformat(),
            "as_of": as_of.isoformat(), "history_end": end.last_sale.isoformat(), "gap_days": end.gap_days,
            "from_last_sale": first_forecast_day != as_of}
        return forecast_runs.finish_run(run_id, forecasts, series, metrics, actor)
    except Refused as exc:
        forecast_runs.fail_run(run_id, exc.message, actor, reason=(exc.key, exc.params))
        raise
    except JobCancelled as exc:
        forecast_runs.fail_run(run_id, str(exc), actor, reason=("job.cancelled", {}))
        raise
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
