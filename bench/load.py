"""Load test: N concurrent simulated shop users against the services for a bounded time.

* clerks enter phone orders (1–3 lines, random products, now and then the one scarce SKU, so
  clear stock refusals happen as they do in a promotion);
* warehouse staff take confirmed orders, scan every unit at the pack bench and ship them;
* managers load the sales dashboard (the ``core.analytics`` queries the dashboard page runs).

Clerks and warehouse staff are the writers. Every user is a thread with its own transactions,
exactly as Streamlit runs sessions. The database is a fresh demo retailer (``data.demo``) in a
temp SQLite file, or a throw-away PostgreSQL database with ``--backend postgres``. Afterwards the
invariants are checked (:mod:`core.invariants`: Σ ledger = on_hand, reserved ≤ on_hand, reserved
= Σ open reservations, no half orders, totals add up). Prints one JSON line: throughput,
p50/p95/p99 latency per operation, stock refusals, errors by type, invariant breaches.

    python bench/load.py                                   # SQLite: 6 clerks + 2 warehouse, 2 managers, 20 s
    python bench/load.py --backend postgres                # PostgreSQL: 24 clerks + 8 warehouse, 4 managers
    python bench/load.py --clerks 4 --shippers 4 --managers 1 --seconds 60
    python bench/load.py --backend postgres --processes 2   # the same users over two app processes

``--processes N`` deals the users out over N processes (round robin), as N app servers behind a
proxy would hold them: one Python process runs its threads one at a time (the GIL), so with
dozens of users it is CPU-bound on one core whatever the database could do.

Goal (docs/security.md): 8 concurrent writers on SQLite and 32 on PostgreSQL with no error other
than stock refusals and no invariant broken. Driving the Streamlit server itself over its
websocket protocol is not done here: each browser session costs a Chromium page, so the server
path is covered by the browser smoke tests and this bench measures the layer every page calls.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, select, text  # noqa: E402

from core import analytics, db, invariants, refdata, stock  # noqa: E402
from core.errors import InsufficientStock  # noqa: E402
from core.models import Product, StockLevel, Warehouse  # noqa: E402
from core.permissions import Actor  # noqa: E402
from core.reference import seed_reference  # noqa: E402
from core.schema import upgrade  # noqa: E402
from core.services.fulfillment import pack_progress, scan_item  # noqa: E402
from core.services.orders import LineInput, OrderInput, create_order, search_orders, transition  # noqa: E402
from data.demo import load_demo  # noqa: E402

PG_ADMIN_URL = os.environ.get("OMS_TEST_PG_ADMIN_URL", "postgresql+psycopg://root@127.0.0.1:5432/postgres")
DEFAULTS = {"sqlite": (6, 2, 2), "postgres": (24, 8, 4)}  # clerks, warehouse staff, managers
TOP_UP = 5_000  # units received per stock row before the run, so refusals come from the scarce SKU
SCARCE_UNITS = 30
ADDRESSES = [("上海", "上海市", "浦东新区"), ("广东", "广州市", "天河区"), ("北京", "北京市", "朝阳区"),
             ("四川", "成都市", "武侯区"), ("浙江", "杭州市", "西湖区"), ("湖北", "武汉市", "洪山区")]


@contextmanager
def fresh_database(backend: str, demo_orders: int) -> Iterator[str]:
    """A demo database (SQLite temp file or throw-away PostgreSQL database), set as DATABASE_URL."""
    admin = None
    if backend == "postgres":
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        name = f"oms_load_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = admin.url.set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{tempfile.mkdtemp(prefix='oms_load_')}/load.db"
    os.environ["DATABASE_URL"] = url
    try:
        upgrade(db.get_engine(url))
        with db.transaction(url) as session:
            seed_reference(session)
        load_demo(url, orders=demo_orders, seed=17)
        yield url
    finally:
        db.dispose_all()
        refdata.clear_cache()
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def prepare_stock() -> tuple[list[str], str]:
    """Receive TOP_UP units into every stock row (through the ledger) and make one SKU scarce.
    Returns (SKUs clerks sell, the scarce SKU)."""
    with db.transaction() as session:
        rows = session.execute(
            select(StockLevel.product_id, StockLevel.warehouse_id, Product.sku, StockLevel.on_hand,
                   StockLevel.reserved)
            .join(Product, Product.id == StockLevel.product_id)
            .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
            .where(Product.active.is_(True), Warehouse.active.is_(True))
            .order_by(Product.id, Warehouse.id)
        ).all()
        skus = sorted({r.sku for r in rows})
        scarce = skus[-1]
        for r in rows:
            if r.sku == scarce:  # down to a few units beyond what open orders hold
                delta = r.reserved + SCARCE_UNITS // 4 - r.on_hand
            else:
                delta = TOP_UP
            stock.post_movement(session, product_id=r.product_id, warehouse_id=r.warehouse_id, qty_delta=delta,
                                kind="adjustment" if r.sku == scarce else "receipt", actor="bench",
                                reason="load test set-up")
    return skus[:-1], scarce


class Recorder:
    """Latencies per operation, stock refusals and errors, shared by all user threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.refused = 0
        self.errors: Counter[str] = Counter()
        self.samples: dict[str, str] = {}

    def timed(self, op: str, call: Callable[[], object]) -> object | None:
        started = time.perf_counter()
        try:
            result = call()
        except InsufficientStock:
            with self.lock:
                self.refused += 1
                self.latency[op].append(time.perf_counter() - started)
            return None
        except Exception as exc:  # noqa: BLE001 - every other failure is what this bench counts
            with self.lock:
                self.errors[type(exc).__name__] += 1
                self.samples.setdefault(type(exc).__name__, str(exc)[:300])
            return None
        with self.lock:
            self.latency[op].append(time.perf_counter() - started)
        return result


def clerk(n: int, rec: Recorder, skus: list[str], scarce: str, until: float) -> None:
    rng = random.Random(n)
    actor = Actor(f"clerk{n}", "clerk")
    i = 0
    while time.monotonic() < until:
        picks = rng.sample(skus, rng.randint(1, 3))
        if rng.random() < 0.1:
            picks[0] = scarce
        province, city, district = rng.choice(ADDRESSES)
        data = OrderInput(channel="PHONE", lines=[LineInput(sku, rng.randint(1, 3)) for sku in picks],
                          customer_name=f"顾客{n}-{i}", phone=f"13{n:02d}{i:07d}"[:11], province=province, city=city,
                          district=district, address=f"人民路 {i} 号", payment_method="wechat_pay",
                          payment_status="paid")
        rec.timed("create_order", lambda d=data: create_order(d, actor))
        i += 1


def warehouse(n: int, shippers: int, rec: Recorder, until: float) -> None:
    actor = Actor(f"wh{n}", "warehouse")
    while time.monotonic() < until:
        queue = rec.timed("ship_queue", lambda: search_orders(actor, statuses=["confirmed"], limit=100))
        mine = [int(i) for i in queue["id"] if int(i) % shippers == n] if queue is not None else []
        if not mine:
            time.sleep(0.05)
            continue
        for order_id in mine[:5]:
            lines = rec.timed("pack_progress", lambda o=order_id: pack_progress(o, actor))
            codes = [] if lines is None else [r.barcode or r.sku for r in lines.itertuples() for _ in range(r.qty)]
            for code in codes:  # one pack-bench scan per unit; the last one packs the order
                if time.monotonic() >= until:
                    return
                if rec.timed("scan", lambda o=order_id, c=code: scan_item(o, c, actor)) is None:
                    break
            else:
                rec.timed("transition", lambda o=order_id: transition(
                    o, "shipped", actor, carrier="SF", tracking_no=f"SF{o:010d}"))


def manager(n: int, rec: Recorder, until: float) -> None:
    while time.monotonic() < until:
        def dashboard() -> None:
            for days in (1, 7, 30):
                analytics.sales_kpis(days)
            analytics.channel_totals(analytics.daily_revenue_by_channel(30))

        rec.timed("dashboard", dashboard)


def run_users(users: list[tuple[str, int]], shippers: int, skus: list[str], scarce: str,
              until: float) -> dict[str, object]:
    """Run ``users`` (``("clerk" | "warehouse" | "manager", number)``) as threads of this process
    until ``until`` (``time.monotonic``, one clock for every process); what they recorded."""
    rec = Recorder()
    targets: dict[str, Callable[[int], tuple[object, ...]]] = {
        "clerk": lambda n: (n, rec, skus, scarce, until), "warehouse": lambda n: (n, shippers, rec, until),
        "manager": lambda n: (n, rec, until)}
    functions: dict[str, Callable[..., None]] = {"clerk": clerk, "warehouse": warehouse, "manager": manager}
    threads = [threading.Thread(target=functions[kind], args=targets[kind](n)) for kind, n in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    db.dispose_all()
    return {"latency": dict(rec.latency), "refused": rec.refused, "errors": dict(rec.errors), "samples": rec.samples}


def merged(parts: list[dict[str, object]]) -> Recorder:
    """One recorder holding what every process's users recorded."""
    rec = Recorder()
    for part in parts:
        for op, values in part["latency"].items():  # type: ignore[attr-defined]
            rec.latency[op].extend(values)
        rec.refused += part["refused"]  # type: ignore[operator]
        rec.errors.update(part["errors"])  # type: ignore[arg-type]
        for kind, sample in part["samples"].items():  # type: ignore[attr-defined]
            rec.samples.setdefault(kind, sample)
    return rec


def summary(rec: Recorder, seconds: float) -> dict[str, dict[str, float]]:
    out = {}
    for op, values in sorted(rec.latency.items()):
        ordered = sorted(values)
        quantiles = statistics.quantiles(ordered, n=100, method="inclusive") if len(ordered) > 1 else ordered * 99
        out[op] = {"n": len(values), "per_s": round(len(values) / seconds, 1),
                   "p50_ms": round(quantiles[49] * 1000, 1), "p95_ms": round(quantiles[94] * 1000, 1),
                   "p99_ms": round(quantiles[98] * 1000, 1)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--clerks", type=int)
    parser.add_argument("--shippers", type=int)
    parser.add_argument("--managers", type=int)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--demo-orders", type=int, default=2000)
    parser.add_argument("--processes", type=int, default=1, help="app processes the users are dealt out over")
    args = parser.parse_args()
    clerks, shippers, managers = (v if v is not None else d for v, d in
                                  zip((args.clerks, args.shippers, args.managers), DEFAULTS[args.backend], strict=True))
    users = [("clerk", i) for i in range(clerks)] + [("warehouse", i) for i in range(shippers)]
    users += [("manager", i) for i in range(managers)]
    with fresh_database(args.backend, args.demo_orders):
        skus, scarce = prepare_stock()
        db.dispose_all()  # a forked process opens its own connections
        until = time.monotonic() + args.seconds
        started = time.monotonic()
        if args.processes > 1:
            shares = [users[k::args.processes] for k in range(args.processes)]
            with multiprocessing.get_context("fork").Pool(args.processes) as pool:
                parts = pool.starmap(run_users, [(share, shippers, skus, scarce, until) for share in shares])
        else:
            parts = [run_users(users, shippers, skus, scarce, until)]
        elapsed = time.monotonic() - started
        rec = merged(parts)
        breaches = invariants.check()
    ops = summary(rec, elapsed)
    print(json.dumps({
        "bench": "load", "backend": args.backend, "processes": args.processes, "seconds": round(elapsed, 1),
        "writers": clerks + shippers,
        "clerks": clerks, "warehouse": shippers, "managers": managers, "ops": ops,
        "orders_per_s": ops.get("create_order", {}).get("per_s", 0), "stock_refusals": rec.refused,
        "errors": sum(rec.errors.values()), "error_types": dict(rec.errors), "error_samples": rec.samples,
        "invariant_breaches": len(breaches), "breach_samples": [b.__dict__ for b in breaches[:3]],
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
