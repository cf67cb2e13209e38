"""Forecast accuracy and speed: the backtest on demo data and on a real public dataset, and
the runner's wall time at 1,000 and 10,000 series. Prints ONE JSON line.

Datasets:
- ``demo``: ``data.demo.load_demo(orders=N)`` in a temporary SQLite file (two years with weekly
  and yearly seasonality, 618 / 双11 / 年货节), read back through ``core.analytics.demand``;
- ``olist``: the real Brazilian marketplace order items in ``../shared/data/olist-sample``
  (CC BY-NC-SA, used for testing only, never shipped): daily units of its 200 best-selling
  products, dated by the seller's shipping deadline (the sample's items mostly lack their
  order row, so the purchase timestamp is not available; the deadline trails it by days);
  categories from its products file (most of the 200 lack one and borrow the total's season).

For each dataset, per model and for the selected model, at a 28-day horizon:
``wape_28d`` (WAPE of the 28-day totals, pooled over SKUs), ``wape_weekly``, ``bias`` (pooled)
and ``mase`` (daily, mean over SKUs) — twice, from one production run:
- ``backtest``: the folds the selection was made on (so the selected figures are optimistic);
- ``holdout``: the same run's final holdout — selection on 3 folds *before* the last 28 days,
  then the selected model and every candidate forecast those last 28 unseen days (category
  totals and shop profiles cut there too). The goals are judged here: selected ≥ 10 % better
  than the 28-day moving average on 28-day-total WAPE, |bias| ≤ 3 %, and
  ``interval_coverage_80`` (share of holdout days inside the 80 % band cut from the selection
  folds' errors) within 0.75–0.85.

Scale: demo series replicated with Poisson noise to 1,000 and 10,000 series, timed end to end
(backtest + selection + final forecast) on this machine's cores.

    python bench/forecast.py [--orders 200000] [--scale 1000,10000] [--workers N] [--olist-dir DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from core.services.forecast_pipeline import PROPHET_MAX_SERIES  # noqa: E402
from forecasting.backtest import Scores  # noqa: E402
from forecasting.calendar import builtin_promotions, prophet_holidays  # noqa: E402
from forecasting.coherent import reconcile_run  # noqa: E402
from forecasting.profile import group_demand, shop_profiles, total_demand  # noqa: E402
from forecasting.runner import RunConfig, SeriesResult, SeriesTask, default_workers, pool_holdout, run_all  # noqa: E402
from forecasting.series import build_tasks  # noqa: E402

HORIZON = 28
OLIST_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "olist-sample"
OLIST_PRODUCTS = 200


def cpu_seconds() -> float:
    """CPU time of this process and every finished worker (and their Stan runs): a figure that a
    busy machine does not inflate the way it inflates wall time."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def log(message: str) -> None:
    print(f"[bench/forecast] {message}", file=sys.stderr, flush=True)


def _figures(scores: Scores) -> dict[str, float | None]:
    def r(x: float | None) -> float | None:
        return None if x is None else round(x, 4)

    return {"wape_28d": r(scores.wape_lead), "wape_weekly": r(scores.wape_weekly), "bias": r(scores.bias),
            "mase": r(scores.mase)}


def run_metrics(tasks: list[SeriesTask], config: RunConfig,
                workers: int) -> tuple[dict[str, object], dict[str, object], dict[str, object]]:
    """The production run, reported twice: its backtest (the folds the selection was made on)
    and its final holdout (the last 28 days, which the selection never saw); then the
    reconciliation of its holdout forecasts with the SKU, category and shop totals."""
    started, cpu = time.perf_counter(), cpu_seconds()
    results = run_all(tasks, config, workers=workers)
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    return (backtest_metrics(results, seconds, cpu, sum(t.use_prophet for t in tasks)), holdout_metrics(results),
            reconciliation_metrics(tasks, results, config, workers))


def backtest_metrics(results: list[SeriesResult], seconds: float, cpu: float, prophet: int) -> dict[str, object]:
    """Pooled figures per model and for the selected models on the selection folds (optimistic)."""
    pooled: dict[str, Scores] = {}
    selected = Scores()
    chosen: dict[str, int] = {}
    for r in results:
        for name, s in r.scores.items():
            pooled.setdefault(name, Scores()).add(s)
        selected.add(r.selected)
        chosen[r.model] = chosen.get(r.model, 0) + 1
    return {"series": len(results), "prophet_series": prophet,
            "seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1), "models": {k: _figures(v) for k, v in pooled.items()},
            "selected": _figures(selected), "selected_models": chosen}


def holdout_metrics(results: list[SeriesResult]) -> dict[str, object]:
    """The selected model and every candidate on the last 28 days, which the selection (made on
    the folds before them) never saw; pooled over the series long enough to have them."""
    pool = pool_holdout(results)
    sel_fig = _figures(pool.selected)
    gain = None if pool.gain is None else round(pool.gain, 4)
    return {"series": pool.series, "ma28": _figures(pool.baseline), "selected": sel_fig, "gain_vs_ma28_wape_28d": gain,
            "goal_5pct_better": gain is not None and gain >= 0.05,
            "goal_10pct_better": gain is not None and gain >= 0.10,
            "goal_bias_within_3pct": sel_fig["bias"] is not None and abs(sel_fig["bias"]) <= 0.03,
            "interval_coverage_80": None if pool.coverage is None else round(pool.coverage, 4),
            "interval_pit_coverage_80": None if pool.coverage_pit is None else round(pool.coverage_pit, 4),
            "models": {k: _figures(v) for k, v in sorted(pool.models.items())}, "selected_models": pool.chosen}


def reconciliation_metrics(tasks: list[SeriesTask], results: list[SeriesResult], config: RunConfig,
                           workers: int) -> dict[str, object]:
    """What the production run does to reach coherent levels (forecasting.coherent): holdout
    WAPE of the 28-day totals per level (shop, category, SKU, SKU × warehouse) for the base
    forecasts (each level on its own: incoherent) and for bottom-up, top-down and MinT-shrink,
    and the method the holdout chooses."""
    started, cpu = time.perf_counter(), cpu_seconds()
    result = reconcile_run(tasks, results, config, workers=workers)
    return {"bottom_series": result.rows.get("bottom", 0), "rows": sum(result.rows.values()), "chosen": result.method,
            "wape_28d": {k: {lv: round(v, 4) for lv, v in sc.items()} for k, sc in result.wape.items()},
            "seconds": round(time.perf_counter() - started, 1), "cpu_seconds": round(cpu_seconds() - cpu, 1)}


def _with_28d_lead(tasks: list[SeriesTask]) -> list[SeriesTask]:
    return [replace(t, lead_time=HORIZON) for t in tasks]


def demo_tasks(orders: int, seed: int, prophet_max: int) -> tuple[list[SeriesTask], RunConfig, float]:
    from core import db
    from core.analytics.demand import demand_history, product_groups
    from core.reference import seed_reference
    from core.schema import upgrade
    from core.timeutil import local_today
    from data.demo import load_demo

    folder = tempfile.mkdtemp(prefix="oms-bench-forecast-")
    os.environ["DATABASE_URL"] = f"sqlite:///{folder}/demo.db"
    upgrade(db.get_engine())
    with db.transaction() as s:
        seed_reference(s)
    started = time.perf_counter()
    load_demo(orders=orders, seed=seed)
    load_seconds = time.perf_counter() - started
    last = local_today() - dt.timedelta(days=1)
    first = last - dt.timedelta(days=3 * 365)
    history = demand_history(first, last)
    groups = product_groups()
    db.dispose_all()
    tasks = build_tasks(history, last, HORIZON, lead_times={}, closures={}, prophet_max_series=prophet_max,
                        groups=groups)
    future_end = last + dt.timedelta(days=HORIZON + 1)
    holidays = prophet_holidays(first, future_end, builtin_promotions(first, future_end))
    return _with_28d_lead(tasks), with_profiles(tasks, last, RunConfig(horizon=HORIZON, holidays=holidays)), \
        load_seconds


def with_profiles(tasks: list[SeriesTask], last: dt.date, config: RunConfig) -> RunConfig:
    """``config`` with the shop-wide profiles for the backtest's cutoffs and the holdout's (which
    backtests on the history before the last 28 days) and the category totals (each series gets them cut at its own last day, so the holdout's
    shortened series never see the 28 days they are scored on)."""
    first, total = total_demand(((t.start, t.y) for t in tasks), last)
    profiles = shop_profiles(first, total, np.ones(len(total), dtype=bool), horizon=config.horizon,
                             folds=config.folds, min_train=config.min_train, holidays=config.holidays,
                             ends=(0, HORIZON))
    return replace(config, profiles=profiles, groups=group_demand(((t.group, t.start, t.y) for t in tasks), last))


def olist_tasks(folder: Path, prophet_max: int) -> tuple[list[SeriesTask], RunConfig] | None:
    path = folder / "olist_order_items_dataset.csv"
    if not path.exists():
        return None
    items = pd.read_csv(path, encoding="utf-8-sig", usecols=["order_id", "product_id", "shipping_limit_date"])
    products = pd.read_csv(folder / "olist_products_dataset.csv", encoding="utf-8-sig",
                           usecols=["product_id", "product_category_name"]).dropna()
    category = dict(zip(products["product_id"], products["product_category_name"], strict=True))
    items = items.dropna(subset=["order_id", "product_id"])
    items["day"] = pd.to_datetime(items["shipping_limit_date"], format="%m/%d/%Y %H:%M", errors="coerce").dt.date
    items = items.dropna(subset=["day"])
    items = items[(items["day"] >= dt.date(2017, 1, 1)) & (items["day"] <= dt.date(2018, 8, 31))]
    top = items["product_id"].value_counts().head(OLIST_PRODUCTS).index
    ids = {pid: i + 1 for i, pid in enumerate(top)}
    daily = (items[items["product_id"].isin(ids)].groupby(["product_id", "day"]).size().rename("qty").reset_index())
    history = pd.DataFrame({"product_id": daily["product_id"].map(ids), "warehouse_id": 1, "day": daily["day"],
                            "qty": daily["qty"]})
    last = max(history["day"])
    groups = {i: category[pid] for pid, i in ids.items() if pid in category}
    tasks = build_tasks(history, last, HORIZON, lead_times={}, closures={}, prophet_max_series=prophet_max,
                        groups=groups)
    # a Brazilian marketplace: no Chinese holidays or promotions
    return _with_28d_lead(tasks), with_profiles(tasks, last, RunConfig(horizon=HORIZON))


def replicate(tasks: list[SeriesTask], n: int, seed: int) -> list[SeriesTask]:
    """``n`` series made from the demo's by Poisson resampling around a random scale."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        base = tasks[i % len(tasks)]
        y = rng.poisson(base.y * rng.uniform(0.6, 1.4)).astype(float) if i >= len(tasks) else base.y
        out.append(replace(base, product_id=100_000 + i, y=y))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--scale", default="1000,10000", help="comma-separated series counts to time ('' = none)")
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--prophet-max-series", type=int, default=PROPHET_MAX_SERIES)
    parser.add_argument("--olist-dir", default=os.environ.get("OLIST_DIR", str(OLIST_DIR)),
                        help="the Olist sample's folder (default: ../shared/data/olist-sample, or $OLIST_DIR)")
    args = parser.parse_args()
    out: dict[str, object] = {"bench": "forecast", "cores": os.cpu_count(), "workers": args.workers,
                              "load_average": round(os.getloadavg()[0], 1),
                              "horizon": HORIZON, "prophet_max_series": args.prophet_max_series}
    log(f"demo data: {args.orders} orders")
    tasks, config, load_seconds = demo_tasks(args.orders, args.seed, args.prophet_max_series)
    log(f"demo: {len(tasks)} series ({sum(t.use_prophet for t in tasks)} with Prophet); backtest")
    backtest, holdout, reconciled = run_metrics(tasks, config, args.workers)
    out["demo"] = {"orders": args.orders, "load_seconds": round(load_seconds, 1), "backtest": backtest,
                   "holdout": holdout, "interval_coverage_80": holdout["interval_coverage_80"],
                   "interval_pit_coverage_80": holdout["interval_pit_coverage_80"], "reconciliation": reconciled}
    olist = olist_tasks(Path(args.olist_dir), args.prophet_max_series)
    if olist is None:
        out["olist"] = {"skipped": f"{args.olist_dir} not found"}
    else:
        log(f"olist: {len(olist[0])} series")
        backtest, holdout, reconciled = run_metrics(*olist, args.workers)
        out["olist"] = {"source": "shared/data/olist-sample (olist_order_items_dataset.csv)", "backtest": backtest,
                        "holdout": holdout, "interval_coverage_80": holdout["interval_coverage_80"],
                        "interval_pit_coverage_80": holdout["interval_pit_coverage_80"], "reconciliation": reconciled}
    scale: dict[str, object] = {}
    for n in [int(x) for x in args.scale.split(",") if x.strip()]:
        log(f"scale: {n} series")
        many = replicate(tasks, n, args.seed)
        budget = set(sorted(range(n), key=lambda i: -float(many[i].y[-365:].mean()))[:args.prophet_max_series])
        many = [replace(t, use_prophet=t.use_prophet and i in budget) for i, t in enumerate(many)]
        started, cpu = time.perf_counter(), cpu_seconds()
        run_all(many, config, workers=args.workers)
        scale[str(n)] = {"seconds": round(time.perf_counter() - started, 1),
                         "cpu_seconds": round(cpu_seconds() - cpu, 1),
                         "prophet_series": sum(t.use_prophet for t in many)}
    out["scale"] = scale
    print(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
