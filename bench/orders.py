"""Orders/s through the real order service (validate + allocate + reserve + number + commit).

Measures 1 and 4 writers (threads, each order its own transaction; and 4 writer processes,
``service_4p``) on a fresh database:
SQLite in a temp file by default, or a throw-away PostgreSQL database when DATABASE_URL points
to a PostgreSQL server. Also measures the same transaction written as plain DBAPI SQL on the
same database (the ceiling), so the ratio shows what the service layer costs. Afterwards it
checks that nothing was oversold. Prints one JSON line.

With ``--demo-orders N`` the database is instead a copy of a demo shop already holding N
orders (generated once and cached, shared with ``bench/dashboard.py``; ``--cache-dir``), with
the benchmark's products added: throughput on a grown database against an empty one.

    python bench/orders.py [--orders 3000] [--lines-max 4] [--demo-orders 1000000 [--cache-dir DIR]]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select  # noqa: E402

from bench._db import demo_database, fresh_database  # noqa: E402
from core import db  # noqa: E402
from core.models import OrderLine, Product, StockLevel, StockMovement, Warehouse  # noqa: E402
from core.permissions import Actor  # noqa: E402
from core.services.orders import LineInput, OrderInput, create_order  # noqa: E402
from core.timeutil import utcnow  # noqa: E402

PRODUCTS = 200
STOCK_PER_ROW = 1_000_000
CLERK = Actor("bench", "clerk")
PROVINCES = [("上海", "上海市", "浦东新区"), ("广东", "广州市", "天河区"), ("北京", "北京市", "朝阳区"),
             ("四川", "成都市", "武侯区"), ("浙江", "杭州市", "西湖区")]


def _stock(target: str) -> tuple[list[int], int]:
    """Add the benchmark's products, stocked in every warehouse; their ids and the warehouse the
    plain-SQL ceiling writes to."""
    with db.transaction(target) as s:
        now = utcnow()
        s.execute(insert(Product), [
            dict(sku=f"B-{i:04d}", barcode=f"690000{i:07d}", name=f"Bench {i}", category="bench",
                 attributes={}, unit_price=Decimal("19.90"), unit_cost=Decimal("9.00"), pack_size=1,
                 active=True, created_at=now) for i in range(PRODUCTS)])
        pids = list(s.execute(select(Product.id).where(Product.sku.like("B-%")).order_by(Product.id)).scalars())
        whs = s.execute(select(Warehouse.id).order_by(Warehouse.id)).scalars().all()
        s.execute(insert(StockLevel), [dict(product_id=p, warehouse_id=w, on_hand=STOCK_PER_ROW, reserved=0,
                                            safety_stock=0, reorder_point=0) for p in pids for w in whs])
        s.execute(insert(StockMovement), [dict(at=now, product_id=p, warehouse_id=w, qty_delta=STOCK_PER_ROW,
                                               kind="initial", actor="bench") for p in pids for w in whs])
    return pids, whs[0]


def _fresh_database() -> tuple[str, Callable[[], None]]:
    """A migrated, seeded database URL holding the benchmark's stocked products, and a cleanup function."""
    target, cleanup = fresh_database("orders")
    _stock(target)
    return target, cleanup


def _order(rng: random.Random, lines_max: int) -> OrderInput:
    province, city, district = rng.choice(PROVINCES)
    skus = rng.sample(range(PRODUCTS), rng.randint(1, lines_max))
    return OrderInput(
        channel="PHONE", lines=[LineInput(f"B-{i:04d}", rng.randint(1, 3)) for i in skus],
        customer_name="压测客户", phone=f"138{rng.randint(0, 4999):08d}", province=province, city=city,
        district=district, address="测试路 1 号", payment_method="wechat_pay", payment_status="paid",
    )


def _run_service(url: str, orders: int, writers: int, lines_max: int) -> float:
    """orders/s with ``writers`` threads each creating orders through the service."""
    os.environ["DATABASE_URL"] = url
    per = orders // writers
    inputs = [[_order(random.Random(w * 1_000_003 + i), lines_max) for i in range(per)] for w in range(writers)]

    def work(batch: list[OrderInput]) -> None:
        for data in batch:
            create_order(data, CLERK)

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=writers) as pool:
        list(pool.map(work, inputs))
    return per * writers / (time.perf_counter() - start)


def _process_batch(url: str, w: int, per: int, lines_max: int) -> None:
    """One writer process's share of :func:`_run_processes` (forked: it opens its own connections)."""
    db.dispose_all()
    os.environ["DATABASE_URL"] = url
    for i in range(per):
        create_order(_order(random.Random(w * 1_000_003 + i), lines_max), CLERK)
    db.dispose_all()


def _run_processes(url: str, orders: int, processes: int, lines_max: int) -> float:
    """orders/s with ``processes`` writer processes, as app servers behind a proxy run: one
    process's threads share one interpreter (the GIL), so threads alone cannot use a second core."""
    per = orders // processes
    db.dispose_all()  # no pooled connection crosses the fork
    start = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        pool.starmap(_process_batch, [(url, 100 + w, per, lines_max) for w in range(processes)])
    return per * processes / (time.perf_counter() - start)


def _plain_sqlite(path: str, orders: int, writers: int, lines_max: int, pids: list[int], wh: int) -> float:
    """The same transaction in plain sqlite3: the ceiling for this database (money in whole
    cents, as the money columns store it: 1990 is ¥19.90)."""
    import sqlite3

    counter = iter(range(10**9))
    lock = threading.Lock()

    def work(w: int) -> None:
        conn = sqlite3.connect(path, isolation_level=None, timeout=30)
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("PRAGMA synchronous=NORMAL")
        rng = random.Random(w)
        for _ in range(orders // writers):
            with lock:
                n = next(counter)
            conn.execute("BEGIN IMMEDIATE")
            items = rng.sample(pids, rng.randint(1, lines_max))
            for pid in sorted(items):
                cur = conn.execute("UPDATE stock_levels SET reserved = reserved + 1 WHERE product_id = ? "
                                   "AND warehouse_id = ? AND on_hand - reserved >= 1", (pid, wh))
                assert cur.rowcount == 1
            seq = conn.execute("UPDATE sequences SET value = value + 1 WHERE name = 'SO' RETURNING value").fetchone()[0]
            oid = conn.execute(
                "INSERT INTO orders (number, channel_id, status, payment_status, delivery_method, priority, subtotal,"
                " discount, shipping_fee, total, placed_at, updated_at, version) VALUES (?, 1, 'confirmed', 'paid',"
                " 'express', 0, 1990, 0, 0, 1990, datetime('now'), datetime('now'), 1) RETURNING id",
                (f"PLAIN-{seq}-{n}",)).fetchone()[0]
            conn.executemany(
                "INSERT INTO order_lines (order_id, line_no, product_id, qty, unit_price, discount, line_total,"
                " warehouse_id, qty_reserved, qty_shipped, qty_returned) VALUES (?, ?, ?, 1, 1990, 0, 1990, ?, 1, 0, 0)",
                [(oid, i, pid, wh) for i, pid in enumerate(items, 1)])
            conn.execute("INSERT INTO order_events (order_id, at, actor, to_status) VALUES (?, datetime('now'),"
                         " 'bench', 'confirmed')", (oid,))
            conn.execute("COMMIT")
        conn.close()

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=writers) as pool:
        list(pool.map(work, range(writers)))
    return (orders // writers) * writers / (time.perf_counter() - start)


def _plain_postgres(url: str, orders: int, writers: int, lines_max: int, pids: list[int], wh: int) -> float:
    """The same transaction in plain psycopg: the ceiling for this database."""
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    counter = iter(range(10**9))
    lock = threading.Lock()

    def work(w: int) -> None:
        rng = random.Random(w)
        with psycopg.connect(dsn) as conn:
            for _ in range(orders // writers):
                with lock:
                    n = next(counter)
                with conn.transaction():
                    items = rng.sample(pids, rng.randint(1, lines_max))
                    for pid in sorted(items):
                        cur = conn.execute("UPDATE stock_levels SET reserved = reserved + 1 WHERE product_id = %s "
                                           "AND warehouse_id = %s AND on_hand - reserved >= 1", (pid, wh))
                        assert cur.rowcount == 1
                    oid = conn.execute(
                        "INSERT INTO orders (number, channel_id, status, payment_status, delivery_method, priority,"
                        " subtotal, discount, shipping_fee, total, placed_at, updated_at, version) VALUES (%s, 1,"
                        " 'confirmed', 'paid', 'express', 0, 1990, 0, 0, 1990, now(), now(), 1) RETURNING id",
                        (f"PLAIN-{writers}w-{n}",)).fetchone()[0]
                    with conn.cursor() as cur:
                        cur.executemany(
                            "INSERT INTO order_lines (order_id, line_no, product_id, qty, unit_price, discount,"
                            " line_total, warehouse_id, qty_reserved, qty_shipped, qty_returned) VALUES"
                            " (%s, %s, %s, 1, 1990, 0, 1990, %s, 1, 0, 0)",
                            [(oid, i, pid, wh) for i, pid in enumerate(items, 1)])
                    conn.execute("INSERT INTO order_events (order_id, at, actor, to_status) VALUES (%s, now(),"
                                 " 'bench', 'confirmed')", (oid,))
                    conn.execute("UPDATE sequences SET value = value + 1 WHERE name = 'SO'")

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=writers) as pool:
        list(pool.map(work, range(writers)))
    return (orders // writers) * writers / (time.perf_counter() - start)


def _oversold(url: str) -> int:
    """Stock rows whose reservations exceed on_hand or disagree with the order lines."""
    with db.transaction(url) as s:
        broken = s.execute(select(func.count()).where(StockLevel.reserved > StockLevel.on_hand)).scalar_one()
        line_total = s.execute(select(func.coalesce(func.sum(OrderLine.qty_reserved), 0))).scalar_one()
        level_total = s.execute(select(func.sum(StockLevel.reserved))).scalar_one()
    return int(broken) + (0 if line_total == level_total else 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=3000)
    parser.add_argument("--lines-max", type=int, default=4)
    parser.add_argument("--demo-orders", type=int, default=0, help="run on a copy of a demo shop of this many orders")
    parser.add_argument("--cache-dir", default=os.path.join(tempfile.gettempdir(), "oms-bench-cache"))
    parser.add_argument("--pg-prefix", default="oms_bench_dash", help="name prefix of the cached PostgreSQL demo")
    args = parser.parse_args()
    url, cleanup = (demo_database(args.demo_orders, 42, args.cache_dir, args.pg_prefix) if args.demo_orders
                    else fresh_database("orders"))
    pids, wh = _stock(url)
    backend = "postgresql" if url.startswith("postgresql") else "sqlite"
    try:
        _run_service(url, 200, 1, args.lines_max)  # warm-up: statement caches, connections
        figures = {f"service_{w}w": round(_run_service(url, args.orders, w, args.lines_max)) for w in (1, 4)}
        figures["service_4p"] = round(_run_processes(url, args.orders, 4, args.lines_max))
        oversold = _oversold(url)
        if backend == "sqlite":
            path = url.removeprefix("sqlite:///")
            plain = {f"plain_{w}w": round(_plain_sqlite(path, args.orders, w, args.lines_max, pids, wh)) for w in (1, 4)}
        else:
            plain = {f"plain_{w}w": round(_plain_postgres(url, args.orders, w, args.lines_max, pids, wh)) for w in (1, 4)}
    finally:
        cleanup()
    print(json.dumps({
        "bench": "orders", "backend": backend, "orders": args.orders, "lines_per_order": f"1-{args.lines_max}",
        "demo_orders": args.demo_orders,
        "orders_per_s": figures, "plain_sql_orders_per_s": plain,
        "service_vs_plain_1w": round(figures["service_1w"] / plain["plain_1w"], 2),
        "service_4p_vs_plain_4w": round(figures["service_4p"] / plain["plain_4w"], 2),
        "oversold": oversold,
    }))


if __name__ == "__main__":
    main()
