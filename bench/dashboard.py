"""Dashboard speed at scale: every dashboard's query set and a full AppTest render of every
dashboard page, on a demo database of ``--orders`` orders (default one million).

SQLite always; PostgreSQL too when ``--pg-url`` (or ``OMS_BENCH_PG_URL``) names a server
admin URL. The demo database is generated once and cached — a file under ``--cache-dir`` for
SQLite, a database ``oms_bench_dash_<orders>_<seed>`` on the server — keyed by orders and seed,
so later runs skip the minutes of generation; the summary tables' first build is timed when it
happens (``build_s``, null when the cache already had them).

Figures per backend (milliseconds, median of ``--repeat`` warm runs):
- ``queries_ms``: each page's one analytics call on the summaries, default filters (the last
  30 days; customers: acquired in the last 730 days), and ``queries_365d_ms`` for a year;
- ``raw_ms`` / ``raw_ratio``: the same call with :func:`core.analytics.summary.raw_source`,
  i.e. the summaries' defining SELECTs run on the raw tables (one cold run each);
- ``render_ms``: AppTest run of the page with empty Streamlit caches (queries included);
- ``refresh_ms``: incremental refresh after ``--new-orders`` orders entered through the order
  service (on a copy, so the cache stays clean), the process's first (its statements compiled
  then); ``refresh_warm_ms`` the next one after as many more orders (the worker is a
  long-running process); and ``fresh_check_ms``, the cost of finding that nothing changed;
- ``new_day_refresh_ms``: the first refresh of a new local day with nothing written — it
  rescores every customer's R (simulated on the same copy by dating the stored scores back a
  day).
Prints one JSON line.

    python bench/dashboard.py [--orders 1000000] [--seed 42] [--repeat 3] [--cache-dir DIR]
                              [--pg-url URL [--pg-only] [--pg-prefix NAME]] [--no-raw]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select, text, update  # noqa: E402

from core import datakeys, db, refdata  # noqa: E402
from core.analytics import dashboards, summary  # noqa: E402
from core.analytics.filters import Filters  # noqa: E402
from core.models import AggCustomerScore, Order, Product  # noqa: E402
from core.permissions import Actor  # noqa: E402
from core.reference import seed_reference  # noqa: E402
from core.schema import upgrade  # noqa: E402
from core.services.orders import LineInput, OrderInput, create_order  # noqa: E402
from core.timeutil import local_today, utcnow  # noqa: E402
from data.demo import load_demo  # noqa: E402

PAGES = {"sales": "pages/sales.py", "channels": "pages/channels.py", "customers": "pages/customers.py",
         "products": "pages/products.py", "fulfillment": "pages/fulfillment_kpis.py",
         "stock": "pages/stock_health.py"}


def _calls(days: int) -> dict[str, Callable[[], Any]]:
    """Each page's one analytics call with the page's default filters (``days`` long)."""
    today = local_today()
    f = Filters.last(days, today)
    customers = Filters.last(max(days, 730), today)
    return {
        "sales": lambda: dashboards.sales_dashboard(f, "day", today),
        "channels": lambda: dashboards.channels_dashboard(f, "week"),
        "customers": lambda: dashboards.customers_dashboard(customers, today),
        "products": lambda: dashboards.products_dashboard(f),
        "fulfillment": lambda: dashboards.fulfillment_dashboard(f, utcnow()),
        "stock": lambda: dashboards.stock_dashboard(f, today),
    }


def _ms(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1)


def _progress(fraction: float, message: str) -> None:
    print(f"\r[{fraction:5.0%}] {message:<60}", end="", file=sys.stderr, flush=True)


def _use(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    db.dispose_all()
    refdata.clear_cache()


def _ensure_demo(url: str, orders: int, seed: int) -> float | None:
    """Migrate, load the demo if the database is empty, bring the summaries up to date;
    returns the seconds the summaries' build took (None when they were already current)."""
    _use(url)
    upgrade(db.get_engine(url))
    with db.transaction(url) as s:
        seed_reference(s)
        have = s.execute(select(func.count()).select_from(Order)).scalar_one()
    if not have:
        print(f"generating {orders:,} demo orders (cached for later runs)", file=sys.stderr)
        load_demo(url, orders=orders, seed=seed, progress=_progress)
        print(file=sys.stderr)
    if summary.is_current():
        return None
    started = time.perf_counter()
    summary.refresh(progress=_progress)
    print(file=sys.stderr)
    return round(time.perf_counter() - started, 1)


def _render_ms(page: str, repeat: int) -> float:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    def once() -> None:
        st.cache_data.clear()
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
        at.session_state["username"], at.session_state["role"], at.session_state["lang"] = "bench", "manager", "zh"
        at.run()
        started = time.perf_counter()
        at.switch_page(page).run()
        once.elapsed.append((time.perf_counter() - started) * 1000)  # type: ignore[attr-defined]
        assert not at.exception, at.exception

    once.elapsed = []  # type: ignore[attr-defined]
    for _ in range(repeat):
        once()
    return round(statistics.median(once.elapsed), 1)  # type: ignore[attr-defined]


def _refresh_after_orders(url: str, n: int) -> tuple[float, float, float]:
    """(ms of the incremental refresh after ``n`` new orders, the same for the next ``n`` in the
    same process — what the long-running worker pays once its statements are compiled —, ms
    of the no-change check)."""
    _use(url)
    with db.transaction() as s:
        skus = s.execute(select(Product.sku).where(Product.active.is_(True)).order_by(Product.id).limit(20)
                         ).scalars().all()
    clerk = Actor("bench", "clerk")
    times = []
    for _ in range(2):
        for i in range(n):
            create_order(OrderInput(
                channel="PHONE", lines=[LineInput(skus[i % len(skus)], 1)], customer_name="压测", phone="13800138000",
                province="上海", city="上海市", district="浦东新区", address="世纪大道 1 号", allow_backorder=True),
                clerk)
        started = time.perf_counter()
        summary.refresh()
        times.append(round((time.perf_counter() - started) * 1000, 1))
    return times[0], times[1], _ms(summary.is_current, 5)


def _new_day_refresh(url: str) -> float:
    """ms of the refresh a new local day triggers when nothing was written: the stored RFM
    scores are yesterday's, so every customer is rescored."""
    _use(url)
    with db.transaction() as s:
        s.execute(update(AggCustomerScore).values(as_of=local_today() - dt.timedelta(days=1)))
    assert not summary.is_current()
    started = time.perf_counter()
    summary.refresh()
    return round((time.perf_counter() - started) * 1000, 1)


def _measure(url: str, args: argparse.Namespace, scratch: Callable[[], tuple[str, Callable[[], None]]]
             ) -> dict[str, Any]:
    build = _ensure_demo(url, args.orders, args.seed)
    out: dict[str, Any] = {"build_s": build}
    calls = _calls(30)
    for fn in calls.values():
        fn()  # warm the page cache of the database file
    out["queries_ms"] = {name: _ms(fn, args.repeat) for name, fn in calls.items()}
    out["queries_365d_ms"] = {name: _ms(fn, 1) for name, fn in _calls(365).items()}
    if not args.no_raw:
        raw = {}
        with summary.raw_source():
            for name, fn in calls.items():
                raw[name] = _ms(fn, 1)
        out["raw_ms"] = raw
        out["raw_ratio"] = {k: round(raw[k] / out["queries_ms"][k], 1) for k in raw}
    out["render_ms"] = {name: _render_ms(page, args.repeat) for name, page in PAGES.items()}
    copy, cleanup = scratch()
    try:
        out["refresh_ms"], out["refresh_warm_ms"], out["fresh_check_ms"] = _refresh_after_orders(copy,
                                                                                                args.new_orders)
        out["new_day_refresh_ms"] = _new_day_refresh(copy)
    finally:
        cleanup()
    return out


def _sqlite(args: argparse.Namespace) -> dict[str, Any]:
    cache = Path(args.cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"dashboard-{args.orders}-{args.seed}.db"
    url = f"sqlite:///{path}"

    def scratch() -> tuple[str, Callable[[], None]]:
        db.dispose_all()
        tmp = Path(tempfile.mkdtemp(prefix="oms_dash_"))
        shutil.copy(path, tmp / "copy.db")

        def drop() -> None:
            db.dispose_all()
            shutil.rmtree(tmp, ignore_errors=True)

        return f"sqlite:///{tmp / 'copy.db'}", drop

    return _measure(url, args, scratch)


def _postgres(args: argparse.Namespace, admin_url: str) -> dict[str, Any]:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"{args.pg_prefix}_{args.orders}_{args.seed}"
    with admin.connect() as c:
        if not c.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
            c.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)

    def scratch() -> tuple[str, Callable[[], None]]:
        db.dispose_all()
        copy = f"{name}_copy"
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)'))
            c.execute(text(f'CREATE DATABASE "{copy}" TEMPLATE "{name}"'))

        def drop() -> None:
            db.dispose_all()
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)'))

        return admin.url.set(database=copy).render_as_string(hide_password=False), drop

    try:
        return _measure(url, args, scratch)
    finally:
        db.dispose_all()
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--new-orders", type=int, default=100)
    parser.add_argument("--cache-dir", default=os.path.join(tempfile.gettempdir(), "oms-bench-cache"))
    parser.add_argument("--pg-url", default=os.environ.get("OMS_BENCH_PG_URL"),
                        help="PostgreSQL admin URL (e.g. postgresql+psycopg://root@127.0.0.1:5432/postgres)")
    parser.add_argument("--pg-only", action="store_true", help="measure PostgreSQL only")
    parser.add_argument("--pg-prefix", default="oms_bench_dash",
                        help="name of the cached PostgreSQL database, before _<orders>_<seed>")
    parser.add_argument("--no-raw", action="store_true", help="skip the raw-table comparison")
    args = parser.parse_args()
    if not os.environ.get(datakeys.ENV_KEY) and not os.environ.get(datakeys.ENV_FILE):
        # the cached demo database is encrypted: its key lives with the cache (in a folder of its
        # own, not beside the database file), so later runs can read it
        os.environ[datakeys.ENV_FILE] = os.path.join(args.cache_dir, "keys", "data-keys.json")
    result: dict[str, Any] = {"bench": "dashboard", "orders": args.orders, "seed": args.seed}
    if not args.pg_only:
        result["sqlite"] = _sqlite(args)
    if args.pg_url:
        result["postgresql"] = _postgres(args, args.pg_url)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
