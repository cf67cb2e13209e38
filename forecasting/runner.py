"""Fan the per-series work out: a process pool by default, a Dask cluster with ``dask``.

:func:`run_series` is the unit of work — backtest the candidate models, select one, fit it on
the whole history and forecast — and is the *same* function on every backend, so a Dask run
gives the same forecasts as a local one. Series travel in batches (tens of series per task),
because one series of cheap models takes about a millisecond and per-task overhead would
otherwise dominate.

Which series get Prophet is decided before fanning out (:func:`prophet_series`): only series
dense enough to profit, and at most a budgeted number of them by volume, so the long tail of
sparse SKUs runs on the cheap models and a nightly run stays within its time budget.
"""

from __future__ import annotations

import datetime as dt
import math
import multiprocessing
import os
import sys
import types
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from forecasting.backtest import (
    Scores,
    backtest,
    forecast_all,
    holdout_start,
    mase_scale,
    profile_for,
    score_fold,
)
from forecasting.combination import COMBO, demand_class
from forecasting.intervals import band, pit_inside
from forecasting.models import BASELINE, MA_WINDOW, MODELS, YOY_LAG, Model, Window
from forecasting.profile import SHOP, GroupDemand, Profile
from forecasting.selection import select_model

BACKENDS = ("local", "dask")
CHEAP_MODELS = ("ma28", "snaive", "croston", "tsb")
# With a year of the category's history the level models come with its season instead: trying
# both the flat and the seasonal ones gives selection more chances to fit noise (measured on the
# demo's holdout without Prophet: 8 % better than the moving average with both, 10 % with the
# seasonal ones only).
SEASONAL_MODELS = ("ma28", "snaive", "yoy_ma", "yoy_croston", "yoy_tsb")
PROPHET_MIN_RATE = 0.5  # units per open day over the last year
PROPHET_MIN_NONZERO = 0.3  # share of open days with demand
PROPHET_MIN_DAYS = 180
BATCH_TARGET = 40
INLINE_MAX_SERIES = 3_000
# per demand class (forecasting.combination): the library models worth a fit (forecasting.library_models)
LIBRARY_MODELS: dict[str, tuple[str, ...]] = {"smooth": ("ets", "theta"), "erratic": ("ets", "theta"),
                                              "intermittent": ("adida", "imapa"), "lumpy": ("adida", "imapa")}

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RunConfig:
    """What every series of a run shares."""

    horizon: int = 28
    folds: int = 3
    min_train: int = 28
    holidays: pd.DataFrame | None = None
    profiles: dict[dt.date, Profile] = field(default_factory=dict)  # cutoff date → shop-wide profile
    groups: dict[str, GroupDemand] = field(default_factory=dict)  # category (or SHOP) → its demand
    combine: bool = True  # score the median combination of the demand class's models as ``combo``
    # try the library models (scored and shown, never chosen: REFERENCE_ONLY); off for the
    # totals forecasting.coherent reconciles, where nobody reads their scores
    library: bool = True


@dataclass(frozen=True)
class SeriesTask:
    product_id: int
    warehouse_id: int
    start: dt.date  # date of y[0]
    y: np.ndarray
    open: np.ndarray
    future_open: np.ndarray  # the days to forecast after the history (length ≥ horizon)
    lead_time: int
    use_prophet: bool = False
    group: str | None = None  # the product's category: whose season the ``yoy_*`` models borrow

    @property
    def last_day(self) -> dt.date:
        return self.start + dt.timedelta(days=len(self.y) - 1)


@dataclass(frozen=True)
class SeriesResult:
    product_id: int
    warehouse_id: int
    model: str
    history_days: int
    folds: int
    lead_time: int
    scores: dict[str, Scores] = field(repr=False)
    sigma_daily: float
    sigma_lead_time: float
    yhat: np.ndarray = field(repr=False)
    lower: np.ndarray = field(repr=False)
    upper: np.ndarray = field(repr=False)
    # every candidate scored on the final holdout (empty: the history was too short for one)
    holdout: dict[str, Scores] = field(default_factory=dict, repr=False)
    # (holdout open days inside the 80 % band cut from the selection folds' errors, open days)
    coverage: tuple[int, int] = (0, 0)
    # where σ_L came from: "lead_error" (lead-time totals' forecast error), "daily_error" (daily
    # forecast error × √L) or "demand" (no backtest: spread of demand), over how many windows
    sigma_method: str = "demand"
    sigma_windows: int = 0
    # the same holdout days counted by the PIT of counts (forecasting.intervals.pit_inside)
    coverage_pit: float = 0.0
    # the chosen model's forecast of the holdout days (empty without a holdout): the base
    # forecast forecasting.reconcile reconciles when choosing a method on the holdout
    holdout_yhat: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)

    @property
    def selected(self) -> Scores:
        """The chosen model's figures on the selection folds (optimistic: it was chosen on them)."""
        return self.scores[self.model]

    @property
    def holdout_selected(self) -> Scores | None:
        """The chosen model's figures on the holdout it was chosen without (None: no holdout)."""
        return self.holdout.get(self.model)


def prophet_series(volume: dict[tuple[int, int], float], nonzero: dict[tuple[int, int], float],
                   days: dict[tuple[int, int], int], max_series: int) -> set[tuple[int, int]]:
    """The series worth a Prophet fit: dense enough, long enough, the biggest first, capped."""
    eligible = [key for key, rate in volume.items()
                if rate >= PROPHET_MIN_RATE and nonzero.get(key, 0) >= PROPHET_MIN_NONZERO
                and days.get(key, 0) >= PROPHET_MIN_DAYS]
    eligible.sort(key=lambda k: (-volume[k], k))
    return set(eligible[:max(max_series, 0)])


def run_series(task: SeriesTask, config: RunConfig) -> SeriesResult:
    """Select a model on the folds before the final holdout, score every candidate on that
    holdout (which selection never saw), refit the chosen one on everything and forecast.

    The holdout — the last ``horizon`` days — is what the buyer is shown: the figure of the
    model that was chosen *without* it, next to the moving average's on the same days. A
    series too short for a holdout and a selection fold is selected on all its folds and has
    no holdout figure.
    """
    lead = max(1, min(task.lead_time, config.horizon))
    cut = holdout_start(len(task.y), config.horizon, config.folds, config.min_train)
    past = task if cut is None else replace(task, y=task.y[:cut], open=task.open[:cut],
                                            future_open=task.open[cut:])
    reference = reference_for(past, config)
    models = {name: MODELS[name] for name in _candidates(past, config, reference)}
    scores, folds = backtest(past.start, past.y, past.open, models, horizon=config.horizon, lead_time=lead,
                             folds=config.folds, min_train=config.min_train, holidays=config.holidays,
                             profiles=config.profiles, reference=reference, combine=config.combine)
    model = select_model(scores, folds)
    holdout: dict[str, Scores] = {}
    coverage, coverage_pit, holdout_yhat = (0, 0), 0.0, np.zeros(0)
    if cut is not None:
        window = Window(past.start, past.y, past.open, past.future_open, config.holidays,
                        profile_for(config.profiles, past.start, cut, config.horizon), reference)
        scale = mase_scale(past.y, past.open)
        forecasts = forecast_all(window, models, config.combine)
        holdout = {name: score_fold(task.y[cut:], f, task.open[cut:], lead, scale) for name, f in forecasts.items()}
        errors = scores[model].residuals
        low, high = band(forecasts[model], errors, scores[model].sigma_daily, past.future_open)
        inside = (task.y[cut:] >= low - 1e-9) & (task.y[cut:] <= high + 1e-9)
        coverage = (int(inside[past.future_open].sum()), int(past.future_open.sum()))
        coverage_pit = pit_inside(task.y[cut:], forecasts[model], errors, past.future_open)
        holdout_yhat = forecasts[model]
    full_reference = reference_for(task, config)
    window = Window(task.start, task.y, task.open, task.future_open, config.holidays,
                    profile_for(config.profiles, task.start, len(task.y), len(task.future_open)), full_reference)
    yhat = _final(window, model, models, config.combine)
    chosen = scores[model]
    sigma_daily = chosen.sigma_daily if folds else _naive_sigma(task)
    # Spread of the lead-time forecast error (not of demand): the larger of the daily error grown
    # over the lead time (errors independent from day to day) and the root-mean-square error of
    # the lead-time totals over the folds and the holdout (which also catches a level that was
    # off for weeks). The backtest covers at most the horizon. Without a backtest there is no
    # forecast error to measure, and the spread of demand stands in — the explanation says so.
    lead_errors = chosen.lead_errors + (holdout[model].lead_errors if model in holdout else [])
    from_lead = math.sqrt(float(np.mean(np.square(lead_errors))) * task.lead_time / lead) if lead_errors else 0.0
    from_daily = math.sqrt(task.lead_time) * sigma_daily
    sigma_lead = max(from_daily, from_lead)
    method = "demand" if not folds else ("lead_error" if from_lead >= from_daily else "daily_error")
    lower, upper = band(yhat, chosen.residuals if folds else [], sigma_daily, task.future_open)
    return SeriesResult(task.product_id, task.warehouse_id, model, len(task.y), folds, task.lead_time, scores,
                        sigma_daily, sigma_lead, yhat, lower, upper, holdout, coverage, method, len(lead_errors),
                        coverage_pit, holdout_yhat)


def _final(window: Window, model: str, models: dict[str, Model], combine: bool) -> np.ndarray:
    """The chosen model's forecast on the whole history: a combination refits its members (those
    of the class the whole history shows; a model the series never had counts for none)."""
    if model != COMBO:
        return MODELS[model](window)
    forecasts = forecast_all(window, models, combine)
    return forecasts.get(COMBO, MODELS[BASELINE](window))


def _candidates(task: SeriesTask, config: RunConfig, reference: np.ndarray | None) -> list[str]:
    """The models tried on a series: the level models (with the category's season when it has
    a year of history), the shop-profile one, the library models of its demand class (weekly
    ETS and Theta where demand is regular enough to show a week; ADIDA and IMAPA where it is
    intermittent), and Prophet where the budget gave it."""
    klass = demand_class(task.y[task.open][-YOY_LAG:])
    library = [f"yoy_{name}" if reference is not None and f"yoy_{name}" in MODELS else name
               for name in LIBRARY_MODELS[klass]] if config.library else []
    return [*(CHEAP_MODELS if reference is None else SEASONAL_MODELS), *(("seasonal_ma",) if config.profiles else ()),
            *library, *(("prophet",) if task.use_prophet else ())]


def reference_for(task: SeriesTask, config: RunConfig) -> np.ndarray | None:
    """The demand of the task's category (else the shop's) up to the task's last day — only when
    it reaches a year and a moving-average window back from the oldest backtest fold, so every
    fold can use last year's season (the ``yoy_*`` models would otherwise repeat the flat ones)."""
    group = config.groups.get(task.group or SHOP) or config.groups.get(SHOP)
    values = None if group is None else group.ending(task.last_day)
    if values is None or len(values) < len(task.y) \
            or len(values) - config.folds * config.horizon < YOY_LAG + MA_WINDOW:
        return None
    return values


def _naive_sigma(task: SeriesTask) -> float:
    """Without a backtest (too little history): the day-to-day spread of what was seen."""
    observed = task.y[task.open]
    return float(observed.std()) if observed.size > 1 else 0.0


def run_batch(tasks: list[SeriesTask], config: RunConfig) -> list[SeriesResult]:
    return [run_series(task, config) for task in tasks]


def _batches(tasks: list[SeriesTask], workers: int) -> list[list[SeriesTask]]:
    # Prophet series are ~100x dearer: spread them so no worker is left with all of them.
    ordered = sorted(tasks, key=lambda t: not t.use_prophet)
    size = max(1, min(BATCH_TARGET, math.ceil(len(ordered) / max(workers * 4, 1))))
    count = math.ceil(len(ordered) / size)
    return [ordered[i::count] for i in range(count)]


def _worth_a_pool(tasks: list[SeriesTask]) -> bool:
    """Worker processes cost seconds to start; cheap models do ~1,000 series a second inline."""
    return any(t.use_prophet for t in tasks) or len(tasks) >= INLINE_MAX_SERIES


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def run_all(tasks: list[SeriesTask], config: RunConfig, *, backend: str = "local", workers: int | None = None,
            progress: Progress | None = None) -> list[SeriesResult]:
    """Run every task on ``backend``; results in (product, warehouse) order.

    ``progress(done, total)`` is called as batches finish (from this process).
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}")
    workers = workers or default_workers()
    batches = _batches(tasks, workers)
    report = progress or (lambda _done, _total: None)
    report(0, len(tasks))
    if backend == "dask":
        results = _run_dask(batches, config, workers, len(tasks), report)
    elif workers == 1 or len(batches) <= 1 or not _worth_a_pool(tasks):
        results = []
        for batch in batches:
            results += run_batch(batch, config)
            report(len(results), len(tasks))
    else:
        results = _run_pool(batches, config, workers, len(tasks), report)
    return sorted(results, key=lambda r: (r.product_id, r.warehouse_id))


def _collect(finished: Iterable[Any], total: int, report: Progress) -> list[SeriesResult]:
    results: list[SeriesResult] = []
    for future in finished:
        results += future.result()
        report(len(results), total)
    return results


@contextmanager
def _neutral_main() -> Iterator[None]:
    """Hide ``__main__`` while worker processes start.

    A spawned worker re-imports its parent's ``__main__`` from that module's file. Under
    Streamlit (and AppTest) ``__main__`` is the *page script* being run, which must never execute
    in a worker (measured: it crashes the pool). Workers need nothing from ``__main__`` — they
    import :func:`run_batch` from this module — so a bare module stands in while they start.
    """
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main


def _run_pool(batches: list[list[SeriesTask]], config: RunConfig, workers: int, total: int,
              report: Progress) -> list[SeriesResult]:
    # spawn, not fork: the caller may be a threaded server (Streamlit) holding DB connections
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(batches)), mp_context=context) as pool:
        with _neutral_main():  # the workers are started by these submits
            futures = [pool.submit(run_batch, batch, config) for batch in batches]
        return _collect(as_completed(futures), total, report)


def _run_dask(batches: list[list[SeriesTask]], config: RunConfig, workers: int, total: int,
              report: Progress) -> list[SeriesResult]:
    """The same batches on a Dask cluster: ``DASK_SCHEDULER_ADDRESS``, else a LocalCluster."""
    from dask.distributed import Client, LocalCluster
    from dask.distributed import as_completed as dask_completed

    address = os.environ.get("DASK_SCHEDULER_ADDRESS")
    with _neutral_main():
        cluster = None if address else LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                                    dashboard_address=None)
    client = Client(address) if address else Client(cluster)
    try:
        shared = client.scatter(config, broadcast=True)
        futures = [client.submit(run_batch, batch, shared, pure=False) for batch in batches]
        return _collect(dask_completed(futures), total, report)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


@dataclass
class HoldoutPool:
    """The final holdout pooled over the series that have one (the figures a buyer is shown)."""

    series: int = 0
    selected: Scores = field(default_factory=Scores)  # each series' chosen model
    models: dict[str, Scores] = field(default_factory=dict)  # every candidate, over the series it was tried on
    chosen: dict[str, int] = field(default_factory=dict)  # model → series it was chosen for
    inside: int = 0  # holdout open days inside the 80 % band
    days: int = 0  # holdout open days
    inside_pit: float = 0.0  # the same days counted by the PIT of counts

    @property
    def baseline(self) -> Scores:
        return self.models.get(BASELINE, Scores())

    @property
    def gain(self) -> float | None:
        """1 − chosen lead-time WAPE ÷ the moving average's on the same days (positive = better)."""
        base, chosen = self.baseline.wape_lead, self.selected.wape_lead
        return None if not base or chosen is None else 1 - chosen / base

    @property
    def coverage(self) -> float | None:
        """Share of holdout days inside the 80 % band cut from the folds before them (0.8 is right)."""
        return self.inside / self.days if self.days else None

    @property
    def coverage_pit(self) -> float | None:
        """The same share by the PIT of counts (:func:`forecasting.intervals.pit_inside`): 0.8
        is right for sparse SKUs too, whose whole-unit bands cannot hold 80 % of days."""
        return self.inside_pit / self.days if self.days else None


def pool_holdout(results: Iterable[SeriesResult]) -> HoldoutPool:
    pool = HoldoutPool()
    for r in results:
        if r.holdout_selected is None:
            continue
        pool.series += 1
        pool.selected.add(r.holdout_selected)
        pool.chosen[r.model] = pool.chosen.get(r.model, 0) + 1
        pool.inside, pool.days = pool.inside + r.coverage[0], pool.days + r.coverage[1]
        pool.inside_pit += r.coverage_pit
        for name, scores in r.holdout.items():
            pool.models.setdefault(name, Scores()).add(scores)
    return pool
