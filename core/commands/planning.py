"""``oms forecast run`` and ``oms replenish suggest``: the nightly planning jobs.

Both run as the system user (like every ``oms`` command) through the same functions as the
Forecast and Replenishment pages. A forecast run stopped with SIGTERM (a scheduler's timeout,
``kill``) is marked failed before the process exits, so the next run starts cleanly.
"""

from __future__ import annotations

import argparse
import signal
import sys
from types import FrameType

from core.asof import parse_as_of
from core.errors import english
from core.permissions import SYSTEM
from core.services.forecast_pipeline import PROPHET_MAX_SERIES


def _exit_on_sigterm(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def cmd_forecast_run(args: argparse.Namespace) -> int:
    from core.services.forecast_pipeline import history_end, run_forecast

    as_of = parse_as_of(args.as_of)
    end = history_end(as_of)
    if end.long_gap and not args.from_last_sale:
        assert end.last_sale is not None and end.gap_days is not None
        print("warning: " + english("asof.gap_warning_cli", {
            "last_sale": end.last_sale.isoformat(), "gap": end.gap_days, "as_of": end.as_of.isoformat(),
            "first": end.first_forecast_day(True).isoformat()}),
              file=sys.stderr)

    def progress(done: int, total: int) -> None:
        print(f"\r{done}/{total} series", end="", file=sys.stderr, flush=True)

    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        info = run_forecast(SYSTEM, horizon=args.horizon, backend=args.backend, workers=args.workers,
                            prophet_max_series=args.prophet_max_series, progress=progress, as_of=as_of,
                            from_last_sale=args.from_last_sale)
    finally:
        signal.signal(signal.SIGTERM, previous)
        print(file=sys.stderr)
    holdout = info.metrics.get("holdout") or {}
    selected, baseline = holdout.get("selected") or {}, holdout.get("ma28") or {}
    figures = ", ".join(f"{name} {selected[name]:.3f}" for name in ("wape_weekly", "wape_lead_time", "mase", "bias")
                        if selected.get(name) is not None)
    if figures and baseline.get("wape_lead_time") is not None:
        figures += f" (28-day moving average: wape_lead_time {baseline['wape_lead_time']:.3f})"
    print(f"forecast run #{info.id} {info.status}: {info.series} series in {info.metrics.get('seconds')} s"
          + (f"; holdout {figures}" if figures else ""))
    print(english("asof.run_dates", {"as_of": info.metrics.get("as_of"), "history_end": info.metrics.get("history_end"),
                                    "first": info.metrics.get("first_day")}))
    return 0


def cmd_replenish_suggest(args: argparse.Namespace) -> int:
    from core.services.replenishment import generate_suggestions

    summary = generate_suggestions(SYSTEM, service_level=args.service_level, review_days=args.review_days,
                                   as_of=parse_as_of(args.as_of))
    print(f"{summary.suggestions} suggestions ({summary.units} units, value {summary.value}) from forecast run "
          f"#{summary.run_id} as of {summary.as_of}; {summary.superseded} older open suggestions superseded"
          + (f"; {summary.cost_unknown} with cost unknown (left out of the value)" if summary.cost_unknown else ""))
    if summary.reason:
        print(english(summary.reason, {"checked": summary.checked, "as_of": str(summary.as_of)}))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    forecast = subparsers.add_parser("forecast", help="demand forecasting").add_subparsers(
        dest="forecast_command", required=True)
    p = forecast.add_parser("run", help="backtest, select and forecast every product × warehouse")
    p.add_argument("--horizon", type=int, default=28, help="days to forecast (default 28)")
    p.add_argument("--backend", choices=("local", "dask"), default="local",
                   help="local process pool, or a Dask cluster (DASK_SCHEDULER_ADDRESS, else a LocalCluster)")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores)")
    p.add_argument("--prophet-max-series", type=int, default=PROPHET_MAX_SERIES,
                   help=f"at most this many of the densest series get Prophet (default {PROPHET_MAX_SERIES})")
    p.add_argument("--as-of", default=None, metavar="YYYY-MM-DD",
                   help="forecast from this day on, with the history before it (default: today)")
    p.add_argument("--from-last-sale", action="store_true",
                   help="forecast from the day after the last sale before --as-of, instead of counting the "
                        "days without sales as zero demand")
    p.set_defaults(func=cmd_forecast_run)

    replenish = subparsers.add_parser("replenish", help="replenishment suggestions").add_subparsers(
        dest="replenish_command", required=True)
    p = replenish.add_parser("suggest", help="compute suggestions from the latest forecast run")
    p.add_argument("--service-level", type=float, default=0.95, help="cycle service level (default 0.95)")
    p.add_argument("--review-days", type=int, default=7, help="days between orders (default 7)")
    p.add_argument("--as-of", default=None, metavar="YYYY-MM-DD",
                   help="plan demand from this day on, from the forecast run covering it (default: today); "
                        "stock is always the current stock")
    p.set_defaults(func=cmd_replenish_suggest)
