"""A process that writes until the fault tests (tests/services/test_faults.py) SIGKILL it.

Modes:
``loop SKUS``      create orders one after another (each its own transaction), printing a line
                   after every commit, so the kill lands at an arbitrary moment;
``hang SKUS``      open one transaction, create several orders in it (as an import does), print
                   ``in-transaction`` and wait to be killed before committing;
``import FILE``    import an order file through the import service, printing each stage
                   (``writing`` is the single write transaction);
``forecast``       a small forecast run (baselines only), printing each progress step.
"""

from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path

from core import db
from core.errors import InsufficientStock
from core.permissions import Actor
from core.services.orders import LineInput, OrderInput, create_order

CLERK = Actor("worker", "clerk")
MANAGER = Actor("worker", "manager")


def _order(i: int, skus: list[str]) -> OrderInput:
    lines = [LineInput(skus[(i + k) % len(skus)], 1 + (i + k) % 3) for k in range(1 + i % 3)]
    return OrderInput(channel="PHONE", lines=lines, customer_name=f"客户{i}", phone=f"139{i:08d}", province="上海",
                      city="上海市", district="浦东新区", address=f"世纪大道 {i} 号", allow_backorder=i % 5 == 0)


def _say(fraction: float, stage: str) -> None:
    print(f"{stage} {fraction:.2f}", flush=True)


def orders_loop(skus: list[str]) -> None:
    for i in itertools.count():
        try:
            create_order(_order(i, skus), CLERK)
        except InsufficientStock:
            pass
        print(i, flush=True)


def orders_hang(skus: list[str]) -> None:
    with db.transaction() as session:
        for i in range(5):
            create_order(_order(i, skus), CLERK, session=session)
        print("in-transaction", flush=True)
        time.sleep(600)


def import_file(path: str) -> None:
    from core.services import imports

    options = imports.ImportOptions(kind="orders", profile=imports.load_profile("generic-orders"))
    imports.run_import([imports.SourceFile(Path(path).name, Path(path).read_bytes())], options, MANAGER,
                       progress=_say)
    print("done", flush=True)


def forecast() -> None:
    from core.services.forecast_pipeline import run_forecast

    run_forecast(MANAGER, **SMALL_FORECAST, progress=lambda *args: print("progress", *args, flush=True))
    print("done", flush=True)


SMALL_FORECAST = {"horizon": 14, "workers": 1, "folds": 1, "history_days": 60, "prophet_max_series": 0}

if __name__ == "__main__":
    mode, *rest = sys.argv[1:]
    if mode == "loop":
        orders_loop(rest[0].split(","))
    elif mode == "hang":
        orders_hang(rest[0].split(","))
    elif mode == "import":
        import_file(rest[0])
    elif mode == "forecast":
        forecast()
    else:
        raise SystemExit(f"unknown mode {mode}")
