"""What field encryption costs: order entry and the Customers dashboard, run side by side in a
checkout from before personal-data encryption and in this one, interleaved batch by batch.

On a machine shared with other work a figure taken minutes apart measures the neighbours, not
the code (docs/benchmarks.md). So this starts one worker process per checkout, each on its own
fresh SQLite database with the same input, and hands them work in alternation: a batch of
orders through the real order service (1 writer), then the Customers dashboard's query set
(:func:`core.analytics.dashboards.customers_dashboard`, default filters, on a demo database of
``--demo-orders`` orders with its summaries built). Load swings hit both sides alike; the
figures are medians over the batches, as orders/s (wall) and CPU ms per order or dashboard.
Prints one JSON line.

    git worktree add /tmp/enc-before d631aa7   # (or: git archive d631aa7 | tar -x -C DIR)
    python bench/encryption_cost.py --before /tmp/enc-before [--batches 15] [--batch 200]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


# --- the worker: runs in one checkout, with that checkout's code -------------------------------


def _worker(demo_orders: int) -> None:
    """Serve ``orders N`` / ``dashboard`` / ``quit`` on stdin; answer one JSON line each."""
    sys.path[0] = os.getcwd()  # this checkout, not the folder of this file
    from bench import orders as bench_orders  # this checkout's bench (workload and database)
    from bench._db import fresh_database
    from core import refdata
    from core.analytics import dashboards, summary
    from core.analytics.filters import Filters
    from core.services.orders import create_order
    from core.timeutil import local_today
    from data.demo import load_demo

    dash_url, dash_cleanup = fresh_database("dashboard")
    load_demo(dash_url, orders=demo_orders)
    os.environ["DATABASE_URL"] = dash_url
    refdata.clear_cache()
    summary.refresh()
    today = local_today()
    customers = Filters.last(730, today)  # the page's default: customers acquired in two years
    url, cleanup = bench_orders._fresh_database()
    counter = 0
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        command, *arg = line.split()
        if command == "quit":
            break
        if command == "orders":
            os.environ["DATABASE_URL"] = url
            batch = [bench_orders._order(random.Random(counter + i), 4) for i in range(int(arg[0]))]
            counter += len(batch)
            cpu, wall = time.process_time(), time.perf_counter()
            for data in batch:
                create_order(data, bench_orders.CLERK)
        else:
            os.environ["DATABASE_URL"] = dash_url
            cpu, wall = time.process_time(), time.perf_counter()
            dashboards.customers_dashboard(customers, today)
        print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}), flush=True)
    cleanup()
    dash_cleanup()


# --- the driver ---------------------------------------------------------------------------------


class _Side:
    def __init__(self, checkout: Path, demo_orders: int) -> None:
        env = {**os.environ, "PYTHONPATH": str(checkout)}
        env.pop("DATABASE_URL", None)  # SQLite, a temp file per worker
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--worker", "--demo-orders", str(demo_orders)],
            cwd=checkout, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ask(self, command: str) -> dict[str, float]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline()
        if not answer:
            raise RuntimeError(f"worker failed on {command!r}")
        return dict(json.loads(answer))

    def wait_ready(self) -> None:
        assert self.proc.stdout is not None
        if not self.proc.stdout.readline():
            raise RuntimeError("worker failed to start")

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("quit\n")
        self.proc.stdin.flush()
        self.proc.wait(timeout=120)


def _median(values: list[float], scale: float) -> float:
    return round(statistics.median(values) * scale, 2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", help="a checkout of the commit before encryption (required)")
    parser.add_argument("--after", default=str(ROOT), help="the checkout to compare (default: this one)")
    parser.add_argument("--batches", type=int, default=15)
    parser.add_argument("--batch", type=int, default=200, help="orders per batch")
    parser.add_argument("--demo-orders", type=int, default=20_000)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args.demo_orders)
        return
    if not args.before:
        parser.error("--before is required")
    sides = {name: _Side(Path(getattr(args, name)).resolve(), args.demo_orders) for name in ("before", "after")}
    for side in sides.values():
        side.wait_ready()
    runs: dict[str, dict[str, list[dict[str, float]]]] = {n: {"orders": [], "dashboard": []} for n in sides}
    try:
        for name in sides:  # warm-up: statement caches, page cache, first customers
            sides[name].ask(f"orders {args.batch}")
            sides[name].ask("dashboard")
        for i in range(args.batches):
            order = list(sides) if i % 2 == 0 else list(reversed(sides))
            for name in order:
                runs[name]["orders"].append(sides[name].ask(f"orders {args.batch}"))
            for name in order:
                runs[name]["dashboard"].append(sides[name].ask("dashboard"))
    finally:
        for side in sides.values():
            side.close()
    out: dict[str, Any] = {"bench": "encryption_cost", "backend": "sqlite", "batches": args.batches,
                           "orders_per_batch": args.batch, "demo_orders": args.demo_orders}
    for name, got in runs.items():
        out[name] = {
            "orders_per_s": round(statistics.median(args.batch / r["wall"] for r in got["orders"])),
            "order_cpu_ms": _median([r["cpu"] / args.batch for r in got["orders"]], 1000),
            "customers_dashboard_ms": _median([r["wall"] for r in got["dashboard"]], 1000),
            "customers_dashboard_cpu_ms": _median([r["cpu"] for r in got["dashboard"]], 1000),
        }
    before, after = out["before"], out["after"]
    out["slower_pct"] = {
        "orders_wall": round(100 * (before["orders_per_s"] / after["orders_per_s"] - 1), 1),
        "orders_cpu": round(100 * (after["order_cpu_ms"] / before["order_cpu_ms"] - 1), 1),
        "customers_dashboard_wall": round(100 * (after["customers_dashboard_ms"] / before["customers_dashboard_ms"] - 1), 1),
        "customers_dashboard_cpu": round(
            100 * (after["customers_dashboard_cpu_ms"] / before["customers_dashboard_cpu_ms"] - 1), 1),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
