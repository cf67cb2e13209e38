"""Coherent levels for a whole run: the SKU × warehouse forecasts that orders are placed on,
reconciled with the SKU, category and shop totals by the method the holdout chose.

:mod:`forecasting.reconcile` has the arithmetic; this module applies it to a run's results:

1. **Totals as series.** Every total of the hierarchy (shop, each category, each SKU over its
   warehouses) is the daily sum of its bottom series and is forecast by the same runner
   (cheap models, no Prophet; a total of a single bottom series *is* that series and reuses
   its result). Their base forecasts are what a buyer would see looking at that level alone.
2. **The choice, on the holdout.** Each row's base forecast of the last ``horizon`` days —
   made without them (:func:`forecasting.runner.run_series`) — is reconciled by bottom-up,
   top-down (split by the history before the holdout) and MinT-shrink (its error covariance
   from the latest selection fold, also before the holdout), and the method with the lowest
   mean WAPE over the levels is chosen (:func:`forecasting.reconcile.choose`). A bottom series
   too short for a holdout stands in with the moving average of what it sold before them.
3. **The final forecasts.** The chosen method reconciles the base forecasts of the days ahead
   (MinT's covariance now from the holdout's errors, the latest there are; top-down's shares
   from the whole history). The bottom forecasts are clipped at zero and zeroed on closed days
   before anything sums them, so every total shown is the sum of what replenishment orders on.
   Their 80 % bands are cut again around the reconciled forecast, from the same fold errors.

MinT inverts a (rows × rows) covariance twice (for the choice and for the forecast): beyond
:data:`MINT_MAX_ROWS` rows it is not tried and the choice is between the other two — a cubic
cost, measured here at ~20 CPU-s an inversion for 2,000 rows (the demo's whole reconciliation, 1,010
rows, took 4.3 CPU-s in bench/forecast.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from forecasting.intervals import band
from forecasting.models import BASELINE, MODELS, Window
from forecasting.reconcile import METHODS, Hierarchy, choose, hierarchy, projection, reconcile
from forecasting.runner import RunConfig, SeriesResult, SeriesTask, run_all

MINT_MAX_ROWS = 1_500
BOTTOM_UP = "bottom_up"


@dataclass(frozen=True)
class Coherent:
    """A run's reconciled results and how the method was chosen."""

    method: str
    chosen_on_holdout: bool  # False: no holdout (or no demand in it) to choose on, so bottom-up by default
    wape: dict[str, dict[str, float]]  # "base" and each method tried → level → holdout WAPE of the horizon totals
    results: list[SeriesResult] = field(repr=False)  # the bottom series, with the reconciled forecasts
    rows: dict[str, int] = field(default_factory=dict)  # level → series at that level
    totals: dict[str, float] = field(default_factory=dict)  # level → reconciled units over the horizon
    categories: dict[str, float] = field(default_factory=dict)  # category ("" = none) → reconciled units

    def summary(self) -> dict[str, Any]:
        """What the run stores in its metrics (JSON) and the Forecast page shows."""
        return {"method": self.method, "chosen_on_holdout": self.chosen_on_holdout, "wape": self.wape,
                "rows": self.rows, "totals": self.totals, "categories": self.categories}


def aggregate_tasks(tasks: list[SeriesTask], h: Hierarchy, horizon: int) -> list[SeriesTask]:
    """One task per total row of ``h`` (rows before the bottom ones; ``tasks`` in ``h``'s bottom
    order, all ending on the same day): the daily sums of its bottom series, open on a day when
    any of them is open, from the first day any of them sold. Product ids are ``-(row + 1)``."""
    last = tasks[0].last_day
    first = min(t.start for t in tasks)
    days = (last - first).days + 1
    y, opened = np.zeros((len(tasks), days)), np.zeros((len(tasks), days), dtype=bool)
    future = np.vstack([t.future_open[:horizon] for t in tasks])
    for j, t in enumerate(tasks):
        y[j, days - len(t.y):], opened[j, days - len(t.y):] = t.y, t.open
    out = []
    for i, (level, _key) in enumerate(h.rows[:len(h.rows) - h.bottom]):
        members = h.S[i] > 0
        total = y[members].sum(axis=0)
        begin = int(np.flatnonzero(total > 0)[0]) if (total > 0).any() else 0
        group = None if level == "total" else tasks[int(np.flatnonzero(members)[0])].group
        out.append(SeriesTask(product_id=-(i + 1), warehouse_id=0, start=first + dt.timedelta(days=begin),
                              y=total[begin:], open=opened[members].any(axis=0)[begin:],
                              future_open=future[members].any(axis=0), lead_time=horizon, group=group))
    return out


def reconcile_run(tasks: list[SeriesTask], results: list[SeriesResult], config: RunConfig, *,
                  workers: int | None = None) -> Coherent:
    """Reconcile a run's bottom ``results`` (one per task, any order) as the module says. The
    totals run on this machine whatever the run's backend: cheap models, a few hundred series
    inline in seconds, not worth starting a cluster for."""
    h_ = config.horizon
    by_key = {(r.product_id, r.warehouse_id): r for r in results}
    tasks = sorted(tasks, key=lambda t: (t.product_id, t.warehouse_id))
    bottom = [by_key[(t.product_id, t.warehouse_id)] for t in tasks]
    h = hierarchy([(t.product_id, t.warehouse_id) for t in tasks], {t.product_id: t.group for t in tasks})
    totals = aggregate_tasks(tasks, h, h_)
    single = {i: int(np.flatnonzero(h.S[i])[0]) for i in range(len(totals)) if h.S[i].sum() == 1}
    to_run = [t for i, t in enumerate(totals) if i not in single]
    ran = {r.product_id: r for r in run_all(to_run, replace(config, library=False), workers=workers)}
    rows = [bottom[single[i]] if i in single else ran[t.product_id] for i, t in enumerate(totals)] + bottom
    row_tasks = [tasks[single[i]] if i in single else t for i, t in enumerate(totals)] + tasks

    actual = np.vstack([_last(t.y, h_) for t in row_tasks])
    held = np.vstack([_holdout_base(t, r, h_) for t, r in zip(row_tasks, rows, strict=True)])
    bottom_open = np.vstack([_last(t.open, h_) for t in tasks]).astype(float)
    methods = [m for m in METHODS if m != "mint_shrink" or len(h.rows) <= MINT_MAX_ROWS]
    # nothing to choose on without a holdout, or when nothing sold in it (every WAPE undefined)
    if any(r.holdout_selected is not None for r in bottom) and actual[0].sum() > 0:
        fold_errors = np.vstack([_fold_errors(r, h_) for r in rows]).T
        before = np.array([t.y[:max(len(t.y) - h_, 0)].sum() for t in tasks])
        trial = {m: projection(h, m, history_share=before, errors=fold_errors) for m in methods}
        method, wape = choose(h, held, actual, trial, bottom_open)
    else:
        method, wape = BOTTOM_UP, {}
    G = projection(h, method, history_share=np.array([t.y.sum() for t in tasks]), errors=(actual - held).T)
    base = np.vstack([r.yhat[:h_] for r in rows])
    future_open = np.vstack([t.future_open[:h_] for t in tasks]).astype(float)
    # to the 1/10,000 unit a run stores (forecast_runs), so the totals are the sums of what is stored
    coherent = h.S @ np.round(reconcile(h, base, G, future_open)[len(totals):], 4)
    new_bottom = [_rebanded(r, t, coherent[len(totals) + j]) for j, (t, r) in enumerate(zip(tasks, bottom, strict=True))]
    levels = np.array(h.levels)
    sums = coherent.sum(axis=1)
    return Coherent(
        method=method, chosen_on_holdout=bool(wape),
        wape={k: {lv: round(v, 6) for lv, v in sc.items()} for k, sc in wape.items()},
        results=new_bottom,
        rows={lv: int((levels == lv).sum()) for lv in dict.fromkeys(h.levels)},
        totals={lv: round(float(sums[levels == lv].sum()), 4) for lv in dict.fromkeys(h.levels)},
        categories={str(key): round(float(sums[i]), 4) for i, (lv, key) in enumerate(h.rows) if lv == "category"})


def _last(values: np.ndarray, days: int) -> np.ndarray:
    """The last ``days`` values, zero-padded in front for a series that started within them."""
    tail = np.asarray(values[-days:], dtype=float)
    return np.r_[np.zeros(days - len(tail)), tail]


def _holdout_base(task: SeriesTask, result: SeriesResult, days: int) -> np.ndarray:
    """The series' base forecast of the holdout days, made without them: its chosen model's, or
    for a series too short for a holdout the moving average of what it sold before them."""
    if len(result.holdout_yhat) == days:
        return np.asarray(result.holdout_yhat, dtype=float)
    cut = len(task.y) - days
    if cut <= 0:
        return np.zeros(days)
    window = Window(task.start, task.y[:cut], task.open[:cut], task.open[cut:])
    return MODELS[BASELINE](window)


def _fold_errors(result: SeriesResult, days: int) -> np.ndarray:
    """The errors of the latest selection fold — the ``days`` before the holdout — for a series
    with a holdout; for one without (its folds end elsewhere, or it has none) a stand-in of the
    same spread, ±σ of its daily error day by day, uncorrelated with the others."""
    errors = result.selected.daily_errors
    if result.holdout_selected is not None and len(errors) >= days:
        return np.asarray(errors[-days:], dtype=float)
    return np.resize([result.sigma_daily, -result.sigma_daily], days)


def _rebanded(result: SeriesResult, task: SeriesTask, yhat: np.ndarray) -> SeriesResult:
    lower, upper = band(yhat, result.selected.residuals if result.folds else [], result.sigma_daily,
                        task.future_open[:len(yhat)])
    return replace(result, yhat=yhat, lower=lower, upper=upper)
