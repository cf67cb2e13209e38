"""After-sales speed on a demo retailer: full RMA cycles through the real services, public
lookups with their database rate limit, and the returns analytics queries.

Loads ``--orders`` demo orders (default 50 000, with the demo's closed returns) into a fresh
SQLite file, or a throw-away PostgreSQL database when DATABASE_URL points to a server. Then:

* ``--cycles`` RMAs, each open → approve → receive → inspect (restock) → refund → close, one
  transaction per step, one after the other (an agent's pace is far below this);
* ``--lookups`` public lookups (order number + last 4 digits) from rotating sessions;
* each returns-analysis query over the last 90 and 365 days (median of 3 runs).

Prints one JSON line.

    python bench/aftersales.py [--orders 50000] [--cycles 200] [--lookups 500]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select  # noqa: E402

from bench._db import fresh_database  # noqa: E402
from core import db  # noqa: E402
from core.analytics import returns as ra  # noqa: E402
from core.errors import OMSError  # noqa: E402
from core.models import Channel, Order, OrderLine, Warehouse  # noqa: E402
from core.permissions import Actor  # noqa: E402
from core.services import aftersales, return_policy  # noqa: E402
from core.services.aftersales import Inspection, RMALine, RMARequest  # noqa: E402
from core.services.order_lookup import lookup_order  # noqa: E402
from data.demo import load_demo  # noqa: E402

SERVICE = Actor("bench-cs", "service")
WAREHOUSE = Actor("bench-wh", "warehouse")
MANAGER = Actor("bench-boss", "manager")
STEPS = ("open", "approve", "receive", "inspect", "refund", "close")


def _fresh_database() -> tuple[str, Callable[[], None]]:
    target, cleanup = fresh_database("aftersales")
    os.environ["DATABASE_URL"] = target
    return target, cleanup


def _candidates(n: int) -> list[tuple[int, int, str, str | None, str]]:
    """(order id, line no, order number, phone, warehouse) of paid, delivered, unreturned lines."""
    with db.transaction(readonly=True) as s:
        rows = s.execute(
            select(Order.id, OrderLine.line_no, Order.number, Order.ship_phone, Warehouse.code)
            .join(OrderLine, OrderLine.order_id == Order.id)
            .join(Warehouse, Warehouse.id == OrderLine.warehouse_id)
            .where(Order.status.in_(("delivered", "completed")), Order.payment_status == "paid",
                   OrderLine.qty_returned == 0, OrderLine.line_no == 1)
            .order_by(Order.id.desc()).limit(n)
        ).all()
    return [tuple(r) for r in rows]


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50": round(statistics.median(ordered) * 1000, 2),
            "p99": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2)}


def _cycles(targets: list[tuple[int, int, str, str | None, str]]) -> tuple[float, dict[str, dict[str, float]]]:
    timings: dict[str, list[float]] = {step: [] for step in STEPS}

    def timed(step: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        result = fn(*args, **kwargs)
        timings[step].append(time.perf_counter() - began)
        return result

    start = time.perf_counter()
    for order_id, line_no, _, _, warehouse in targets:
        rid = timed("open", aftersales.open_rma, RMARequest(order_id, "return", "size", (RMALine(line_no, 1),)),
                    SERVICE).id
        timed("approve", aftersales.transition_rma, rid, "approved", SERVICE)
        timed("receive", aftersales.transition_rma, rid, "received", WAREHOUSE)
        timed("inspect", aftersales.inspect_rma, rid, [Inspection(line_no, 1, warehouse)], WAREHOUSE)
        timed("refund", aftersales.refund_rma, rid, SERVICE)
        timed("close", aftersales.transition_rma, rid, "closed", SERVICE)
    elapsed = time.perf_counter() - start
    return len(targets) / elapsed, {step: _ms(values) for step, values in timings.items()}


def _lookups(targets: list[tuple[int, int, str, str | None, str]], n: int) -> tuple[dict[str, float], int]:
    samples, found = [], 0
    for i in range(n):
        _, _, number, phone, _ = targets[i % len(targets)]
        last4 = (phone or "0000")[-4:] if i % 4 else "0000"  # every fourth one is a wrong guess
        start = time.perf_counter()
        try:
            found += lookup_order(number, last4, f"bench-{i // 5}") is not None
        except OMSError:
            pass
        samples.append(time.perf_counter() - start)
    return _ms(samples), found


def _analytics() -> dict[str, float]:
    queries: dict[str, Callable[[int], object]] = {
        "rates_sku": lambda d: ra.return_rates("sku", d), "rates_category": lambda d: ra.return_rates("category", d),
        "rates_channel": lambda d: ra.return_rates("channel", d), "reasons": ra.return_reasons,
        "reason_mix": lambda d: ra.reason_mix("category", d), "resolution": ra.resolution_times,
        "flags": lambda d: ra.flag_outliers(ra.return_rates("sku", d)),
    }
    out = {}
    for days in (90, 365):
        for name, fn in queries.items():
            runs = []
            for _ in range(3):
                start = time.perf_counter()
                fn(days)
                runs.append(time.perf_counter() - start)
            out[f"{name}_{days}d_ms"] = round(statistics.median(runs) * 1000, 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=50_000)
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--lookups", type=int, default=500)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    url, cleanup = _fresh_database()
    backend = "postgresql" if url.startswith("postgresql") else "sqlite"
    try:
        summary = load_demo(url, orders=args.orders, seed=args.seed)
        with db.transaction(readonly=True) as s:
            codes = list(s.execute(select(Channel.code).where(Channel.active.is_(True))).scalars())
        return_policy.update_return_policy({c: return_policy.MAX_WINDOW_DAYS for c in codes}, "seller_fault", MANAGER)
        targets = _candidates(args.cycles)
        analytics = _analytics()
        per_s, steps = _cycles(targets)
        lookups, found = _lookups(targets, args.lookups)
    finally:
        cleanup()
    print(json.dumps({
        "bench": "aftersales", "backend": backend, "orders": summary.orders, "cycles": len(targets),
        "rma_cycles_per_s": round(per_s, 1), "step_ms": steps, "lookups": args.lookups, "lookups_found": found,
        "lookup_ms": lookups, **analytics,
    }))


if __name__ == "__main__":
    main()
