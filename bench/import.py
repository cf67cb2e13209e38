"""Lines/s through the real import service: read → stage → validate (GX) → write, one transaction.

Generates an OMS generic-format order CSV (default 100,000 lines, ~2.5 lines per order) in
the shape of a channel's history export: mostly completed/delivered orders, some cancelled,
and a small share of open orders that go through ``create_order`` (reservation, review rules).
The catalogue and stock are loaded first (not timed), and Great Expectations is imported before
the clock starts (a one-off ~2–4 s per process, reported separately as ``gx_import_s``).

Runs on a temp SQLite file, and also on a throw-away PostgreSQL database when a server answers
(``OMS_BENCH_PG_ADMIN_URL``, default root@127.0.0.1; ``--no-postgres`` skips it). Prints one JSON
line with wall and CPU seconds (this process; on PostgreSQL also the server's backends of the
benchmark's database, ``server_cpu_seconds``) and the load average before and after, because on a
shared machine only CPU seconds compare across runs. Issue 19's goal: ≥ 30,000 lines/s on SQLite,
≥ 15,000 on PostgreSQL.

    python bench/import.py [--lines 100000] [--open-share 0.01] [--no-postgres]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, func, select, text  # noqa: E402

from bench._db import ephemeral_key, scratch_postgres  # noqa: E402
from core import db, refdata  # noqa: E402
from core.models import Order, OrderLine  # noqa: E402
from core.permissions import Actor  # noqa: E402
from core.reference import seed_reference  # noqa: E402
from core.schema import upgrade  # noqa: E402
from core.services import imports  # noqa: E402
from data.demo_reference import seed_demo_reference  # noqa: E402

PG_ADMIN_URL = os.environ.get("OMS_BENCH_PG_ADMIN_URL", "postgresql+psycopg://root@127.0.0.1:5432/postgres")
SKUS = 2000
MANAGER = Actor("bench", "manager")
PLACES = [("上海", "上海市", "浦东新区"), ("广东", "广州市", "天河区"), ("北京", "北京市", "朝阳区"),
          ("四川", "成都市", "武侯区"), ("浙江", "杭州市", "西湖区"), ("江苏", "南京市", "鼓楼区")]
HEADER = ["external_ref", "line_ref", "channel", "placed_at", "shipped_at", "delivered_at", "status",
          "customer_name", "phone", "province", "city", "district", "address", "sku", "qty", "unit_price",
          "line_discount", "shipping_fee", "order_total", "payment_method", "carrier", "tracking_no"]


def _csv(rows: Sequence[Sequence[object]], header: list[str]) -> bytes:
    out = io.StringIO()
    out.write(",".join(header) + "\n")
    for r in rows:
        out.write(",".join(str(v) for v in r) + "\n")
    return out.getvalue().encode("utf-8")


def catalogue() -> tuple[bytes, bytes]:
    products = [[f"BK-{i:05d}", f"Bench product {i}", "bench", f"{(i % 300) + 9}.90"] for i in range(SKUS)]
    stock = [[f"BK-{i:05d}", wh, 500] for i in range(SKUS) for wh in ("SH", "GZ", "BJ", "CD")]
    return _csv(products, ["sku", "name", "category", "unit_price"]), _csv(stock, ["sku", "warehouse", "qty"])


def orders_csv(lines: int, open_share: float, seed: int = 7) -> tuple[bytes, dict[str, int]]:
    """A generic-format history export with exactly ``lines`` lines."""
    rng = random.Random(seed)
    rows: list[list[object]] = []
    mix = {"completed": 0, "delivered": 0, "cancelled": 0, "open": 0}
    n = 0
    while len(rows) < lines:
        n += 1
        k = min(rng.choice((1, 1, 2, 3, 4, 4)), lines - len(rows))
        r = rng.random()
        status = "open" if r < open_share else "cancelled" if r < open_share + 0.04 else \
            "delivered" if r < open_share + 0.2 else "completed"
        mix[status] += 1
        day = rng.randrange(1, 360)
        placed = f"2025-{1 + day // 30 % 12:02d}-{1 + day % 28:02d} {rng.randrange(24):02d}:{rng.randrange(60):02d}:00"
        shipped = placed if status in ("completed", "delivered") else ""
        province, city, district = rng.choice(PLACES)
        phone = f"13{rng.randrange(10**9):09d}"
        items = [(f"BK-{rng.randrange(SKUS):05d}", rng.randrange(1, 4)) for _ in range(k)]
        prices = [(int(sku[3:]) % 300) * 100 + 990 for sku, _ in items]
        total = sum(p * q for p, (_, q) in zip(prices, items, strict=True)) + 800
        for i, ((sku, qty), price) in enumerate(zip(items, prices, strict=True), start=1):
            rows.append([f"B{n:07d}", i, "WECHAT", placed, shipped, shipped, status, f"客户{phone[-4:]}", phone,
                         province, city, district, f"测试路 {n % 999} 号", sku, qty, f"{price / 100:.2f}", "0.00",
                         "8.00", f"{total / 100:.2f}", "wechat_pay", "顺丰速运" if shipped else "",
                         f"SF{n:010d}" if shipped else ""])
    return _csv(rows, HEADER), mix


GOAL = {"sqlite": 30_000, "postgresql": 15_000}  # lines/s, issue 19


def _server_cpu(url: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend connected to the database of ``url`` (the
    server runs on this machine; /proc is readable): pid → user + system seconds."""
    with db.transaction(url) as s:
        pids = s.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")).scalars().all()
    ticks = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return out


def _run(url: str, lines: int, open_share: float) -> dict[str, object]:
    os.environ["DATABASE_URL"] = url
    db.dispose_all()
    refdata.clear_cache()
    upgrade(db.get_engine(url))
    with db.transaction(url) as s:
        seed_reference(s)
        seed_demo_reference(s)
    products, stock = catalogue()
    for kind, data in (("products", products), ("stock", stock)):
        imports.run_import([imports.SourceFile(f"{kind}.csv", data)],
                           imports.ImportOptions(kind, imports.load_profile(f"generic-{kind}")), MANAGER)
    data, mix = orders_csv(lines, open_share)
    options = imports.ImportOptions("orders", imports.load_profile("generic-orders"))
    backend = "postgresql" if url.startswith("postgresql") else "sqlite"
    server = _server_cpu(url) if backend == "postgresql" else {}
    load = os.getloadavg()[0]
    started, cpu = time.perf_counter(), time.process_time()
    report = imports.run_import([imports.SourceFile("history.csv", data)], options, MANAGER)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    figures: dict[str, object] = {}
    if backend == "postgresql":
        after = _server_cpu(url)
        figures["server_cpu_seconds"] = round(sum(v - server.get(pid, 0.0) for pid, v in after.items()), 2)
    with db.transaction(url) as s:
        stored_lines = s.execute(select(func.count(OrderLine.id))).scalar_one()
        stored_orders = s.execute(select(func.count(Order.id))).scalar_one()
    assert report.status == "imported" and stored_lines == lines, (report.summary(), stored_lines)
    return {"lines": lines, "orders": stored_orders, "file_mb": round(len(data) / 1048576, 1), "mix": mix,
            "seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2), **figures,
            "lines_per_s": round(lines / seconds), "goal_met": lines / seconds >= GOAL[backend],
            "load": [round(load, 1), round(os.getloadavg()[0], 1)]}


def _postgres() -> tuple[str, Callable[[], None]] | None:
    try:
        return scratch_postgres(create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT"))
    except Exception:  # noqa: BLE001 - no server: the SQLite figure stands alone
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--open-share", type=float, default=0.01, help="share of orders still open (default 1%%)")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    ephemeral_key()
    started = time.perf_counter()
    from expectations.runner import warm_up

    warm_up()
    result: dict[str, object] = {"bench": "import", "gx_import_s": round(time.perf_counter() - started, 2)}
    with tempfile.TemporaryDirectory(prefix="oms_bench_import_") as tmp:
        result["sqlite"] = _run(f"sqlite:///{tmp}/bench.db", args.lines, args.open_share)
        db.dispose_all()
    pg = None if args.no_postgres else _postgres()
    if pg is not None:
        url, cleanup = pg
        try:
            result["postgresql"] = _run(url, args.lines, args.open_share)
        finally:
            cleanup()
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
