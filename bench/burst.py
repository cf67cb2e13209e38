"""Bursts (issue #19, goal 2): a 双11 channel export of open orders through ``oms import``.

Generates an OMS generic-format CSV of ``--orders`` open orders (default 100,000; 1–3 lines,
2,000 SKUs with a few hot ones, 60 % returning buyers, a review-rule share above 5,000 and with
incomplete addresses) and imports it on a fresh database whose stock runs out for the hot SKUs, so
a share of the orders ends backordered. A gift rule (orders ≥ 300 get a scarce gift, then its
fallback) is active. Every open order goes through the reserving path: allocation, reservation
or backorder, rules, numbering, events, audit, notification outbox.

Printed (one JSON line): orders/s over the import's wall time, the client's CPU seconds and —
on PostgreSQL — the server backends' CPU seconds of the benchmark's database, the statuses,
``oversold`` (units reserved beyond what is on hand, and reservations that do not match the
open lines holding them: must be 0), backorders.

    python bench/burst.py [--orders 100000] [--pg-url postgresql+psycopg://root@127.0.0.1/postgres]

SQLite on a temp file by default; ``--pg-url`` (or a PostgreSQL ``DATABASE_URL``) names the
server where a throw-away database is created and dropped. ``OMS_BENCH_CODE=<checkout>`` (and
that checkout on ``PYTHONPATH``) measures another checkout's code with this same file — the
"before" figures in docs/benchmarks.md ("Bursts").
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path

if os.environ.get("OMS_BENCH_CODE"):  # measure another checkout's code (the "before" figure)
    sys.path.insert(0, os.environ["OMS_BENCH_CODE"])
else:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select, text  # noqa: E402

from core import db, refdata  # noqa: E402
from core.models import Order, OrderLine, Rule, StockLevel  # noqa: E402
from core.permissions import Actor  # noqa: E402
from core.services import imports  # noqa: E402
from core.timeutil import utcnow  # noqa: E402

MANAGER = Actor("bench", "manager")
SKUS = 2000
HOT = 40  # SKUs that take a third of the demand and run out
PLACES = [("上海", "上海市", "浦东新区"), ("广东", "广州市", "天河区"), ("北京", "北京市", "朝阳区"),
          ("四川", "成都市", "武侯区"), ("浙江", "杭州市", "西湖区"), ("江苏", "南京市", "鼓楼区"),
          ("湖南", "长沙市", "岳麓区")]
HEADER = ["external_ref", "channel", "placed_at", "status", "customer_name", "phone", "province", "city",
          "district", "address", "sku", "qty", "unit_price", "shipping_fee", "order_total", "payment_method",
          "payment_status"]


def _csv(rows: Sequence[Sequence[object]], header: list[str]) -> bytes:
    out = io.StringIO()
    out.write(",".join(header) + "\n")
    for r in rows:
        out.write(",".join(str(v) for v in r) + "\n")
    return out.getvalue().encode("utf-8")


def _price(i: int) -> int:
    return (i % 300) * 100 + 990 if i % 97 else 550_000  # a few SKUs cost 5,500 (manual review)


def catalogue(orders: int) -> tuple[bytes, bytes]:
    """Products, and stock that covers ordinary SKUs but not the hot ones (a third of the demand
    on 40 SKUs, stocked for about half of it)."""
    products = [[f"BK-{i:05d}", f"Bench product {i}", "bench", f"{_price(i) / 100:.2f}"] for i in range(SKUS)]
    products += [["GIFT-1", "赠品 1", "gift", "0.00"], ["GIFT-2", "赠品 2", "gift", "0.00"]]
    hot_units = max(1, orders * 2 // 3 // HOT // 4 // 2)  # per hot SKU and warehouse: half its demand
    stock = [[f"BK-{i:05d}", wh, hot_units if i < HOT else 10_000] for i in range(SKUS)
             for wh in ("SH", "GZ", "BJ", "CD")]
    stock += [["GIFT-1", "SH", orders // 20], ["GIFT-2", "SH", orders // 20]]
    return _csv(products, ["sku", "name", "category", "unit_price"]), _csv(stock, ["sku", "warehouse", "qty"])


def orders_csv(orders: int, seed: int = 11) -> bytes:
    """``orders`` open orders of a 双11 morning, 1–3 lines each, in the order they were placed."""
    rng = random.Random(seed)
    rows: list[list[object]] = []
    buyers = [f"13{rng.randrange(10**9):09d}" for _ in range(max(1, orders * 2 // 5))]
    for n in range(orders):
        k = rng.choice((1, 1, 1, 2, 2, 3))
        phone = rng.choice(buyers) if rng.random() < 0.6 else f"15{rng.randrange(10**9):09d}"
        province, city, district = rng.choice(PLACES)
        if rng.random() < 0.02:
            district = ""  # incomplete address → on hold
        second = n * 3600 // max(orders, 1)  # the first hour of 11 November
        placed = f"2026-11-11 00:{second // 60:02d}:{second % 60:02d}"
        items = [(rng.randrange(HOT) if rng.random() < 0.33 else rng.randrange(HOT, SKUS), rng.randrange(1, 3))
                 for _ in range(k)]
        total = sum(_price(i) * q for i, q in items) + 800
        for i, q in items:
            rows.append([f"D11-{n:07d}", "TMALL", placed, "open", f"客户{phone[-4:]}", phone, province, city, district,
                         f"光棍路 {n % 999} 号", f"BK-{i:05d}", q, f"{_price(i) / 100:.2f}", "8.00",
                         f"{total / 100:.2f}", "alipay", "paid"])
    return _csv(rows, HEADER)


def _gift_rule(url: str) -> None:
    with db.transaction(url) as s:
        s.add(Rule(name="双11 满 300 赠", kind="gift", priority=10, condition={"field": "total", "op": ">=", "value": 300},
                   action={"gift": "GIFT-1", "qty": 1, "fallback": "GIFT-2"}, active=True, updated_at=utcnow(),
                   updated_by="bench"))
        refdata.bump(s)


def _server_cpu(url: str) -> dict[int, float] | None:
    """CPU seconds so far of each PostgreSQL backend connected to the benchmark's database (the
    server runs on this machine: /proc); None on SQLite."""
    if not url.startswith("postgresql"):
        return None
    tick = os.sysconf("SC_CLK_TCK")
    with db.transaction(url, readonly=True) as s:
        pids = s.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")).scalars().all()
    cpu: dict[int, float] = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        cpu[pid] = (int(fields[11]) + int(fields[12])) / tick
    return cpu


def _checks(url: str) -> dict[str, object]:
    """Oversold units and reservations that do not match the open lines holding them."""
    with db.transaction(url, readonly=True) as s:
        levels = s.execute(select(StockLevel.product_id, StockLevel.warehouse_id, StockLevel.on_hand,
                                  StockLevel.reserved)).all()
        held = dict(((p, w), int(q)) for p, w, q in s.execute(
            select(OrderLine.product_id, OrderLine.warehouse_id, func.sum(OrderLine.qty_reserved))
            .group_by(OrderLine.product_id, OrderLine.warehouse_id)).all())
        statuses = dict(s.execute(select(Order.status, func.count(Order.id)).group_by(Order.status)).all())
    oversold = sum(max(0, lv.reserved - lv.on_hand) for lv in levels)
    mismatched = sum(lv.reserved != held.get((lv.product_id, lv.warehouse_id), 0) for lv in levels)
    return {"oversold": oversold + mismatched, "backorders": int(statuses.get("backordered", 0)),
            "statuses": {k: int(v) for k, v in sorted(statuses.items())}}


def run(orders: int) -> dict[str, object]:
    from bench._db import fresh_database

    url, cleanup = fresh_database("burst")
    try:
        os.environ["DATABASE_URL"] = url
        db.dispose_all()
        refdata.clear_cache()
        products, stock = catalogue(orders)
        for kind, data in (("products", products), ("stock", stock)):
            imports.run_import([imports.SourceFile(f"{kind}.csv", data)],
                               imports.ImportOptions(kind, imports.load_profile(f"generic-{kind}")), MANAGER)
        _gift_rule(url)
        data = orders_csv(orders)
        options = imports.ImportOptions("orders", imports.load_profile("generic-orders"), on_error="quarantine")
        server = _server_cpu(url)
        started, cpu = time.perf_counter(), time.process_time()
        report = imports.run_import([imports.SourceFile("double11.csv", data)], options, MANAGER)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        after = _server_cpu(url)
        assert report.status == "imported" and report.counts.get("open") == orders, report.summary()
        result: dict[str, object] = {
            "backend": "postgresql" if url.startswith("postgresql") else "sqlite", "orders": orders,
            "lines": report.rows, "file_mb": round(len(data) / 1048576, 1), "seconds": round(seconds, 2),
            "cpu_seconds": round(cpu, 2),
        }
        if server is not None and after is not None:
            result["server_cpu_seconds"] = round(sum(v - server.get(pid, 0.0) for pid, v in after.items()), 2)
        result["orders_per_s"] = round(orders / seconds)
        result |= _checks(url)
        result["goal_met"] = orders / seconds >= 3000 and result["oversold"] == 0
        return result
    finally:
        cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--pg-url", help="PostgreSQL server (a throw-away database is created there)")
    args = parser.parse_args()
    if args.pg_url:
        os.environ["DATABASE_URL"] = args.pg_url
    from expectations.runner import warm_up

    warm_up()  # Great Expectations' import (seconds, once per process) is not the import's work
    print(json.dumps({"bench": "burst", **run(args.orders)}, ensure_ascii=False))


if __name__ == "__main__":
    main()
