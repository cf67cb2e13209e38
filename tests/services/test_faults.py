"""Faults: a writer killed with SIGKILL mid-order leaves a consistent database (no half
orders, the ledger reconciles, reservations match open lines) and the next order works; a
locked SQLite database is a clear "busy, try again"; a dropped PostgreSQL connection is a
clear error and the next action works."""

from __future__ import annotations

import csv
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from core import db, invariants
from core.db import unit_of_work
from core.errors import Busy, Unavailable
from core.models import Forecast, ForecastRun, ImportBatch, Order, Product, StockLevel
from core.services.orders import create_order, search_orders
from data.demo import load_demo
from tests.conftest import BACKEND, PG_ADMIN_URL
from tests.factories import CLERK, MANAGER, make_product, order_input

ROOT = Path(__file__).resolve().parents[2]
SKUS = ["TEA-1", "TEA-2", "CUP-1"]
IMPORT_ORDERS = 150  # enough for a write transaction that lasts a moment


@pytest.fixture
def stocked(db_url: str) -> str:
    make_product("TEA-1", "25.00", {"SH": 400})
    make_product("TEA-2", "30.00", {"SH": 40})  # scarce: refusals and backorders happen too
    make_product("CUP-1", "12.00", {"SH": 400})
    return db_url


@pytest.fixture
def worker(db_url: str) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Start ``tests/faults/worker.py MODE ARGS`` against the test database."""
    procs: list[subprocess.Popen[str]] = []

    def start(mode: str, *args: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen([sys.executable, "-m", "tests.faults.worker", mode, *args], cwd=ROOT,
                                env=os.environ | {"DATABASE_URL": db_url}, stdout=subprocess.PIPE, text=True)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if proc.stdout:
            proc.stdout.close()


def _read_until(proc: subprocess.Popen[str], done: Callable[[str], bool]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        if done(line.strip()):
            return
    pytest.fail(f"worker exited early with code {proc.wait()}")


def _kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL


def _orders() -> int:
    with db.transaction() as s:
        return s.execute(select(func.count(Order.id))).scalar_one()


def _assert_sound_and_working() -> None:
    """The invariants hold and the next order goes through."""
    db.dispose_all()
    assert invariants.check() == []
    with db.transaction() as s:
        sku = s.execute(select(Product.sku).join(StockLevel, StockLevel.product_id == Product.id)
                        .where(Product.active.is_(True), StockLevel.on_hand - StockLevel.reserved > 0)
                        .order_by(Product.id).limit(1)).scalar_one()
    before = _orders()
    create_order(order_input((sku, 1)), CLERK)
    assert _orders() == before + 1


def test_sigkill_while_writing_orders_leaves_no_half_order(stocked: str,
                                                           worker: Callable[..., subprocess.Popen[str]]) -> None:
    proc = worker("loop", ",".join(SKUS))
    _read_until(proc, lambda line: line.isdigit() and int(line) >= 40)
    _kill(proc)  # almost always inside the next order's transaction
    assert _orders() >= 30
    _assert_sound_and_working()


def test_sigkill_inside_an_open_transaction_writes_nothing(stocked: str,
                                                            worker: Callable[..., subprocess.Popen[str]]) -> None:
    proc = worker("hang", ",".join(SKUS))
    _read_until(proc, lambda line: line == "in-transaction")  # five orders written, not committed
    _kill(proc)
    assert _orders() == 0
    with db.transaction() as s:
        assert s.execute(select(func.sum(StockLevel.reserved))).scalar_one() == 0
    _assert_sound_and_working()


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite's file lock")
def test_locked_sqlite_is_busy_not_a_traceback(stocked: str) -> None:
    engine = db.get_engine()
    event.listen(engine, "connect", lambda conn, _record: conn.execute("PRAGMA busy_timeout=200"))
    engine.dispose()  # new connections get the short timeout (the test's only change)
    holder = sqlite3.connect(engine.url.database or "", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        with pytest.raises(Busy, match="busy, please try again"):
            create_order(order_input(("TEA-1", 1)), CLERK)
        assert search_orders(CLERK, "").empty  # reads are not blocked (WAL)
    finally:
        holder.rollback()
        holder.close()
    _assert_sound_and_working()


@unit_of_work
def _order_then_connection_dies(session: Session) -> None:
    create_order(order_input(("TEA-1", 1)), CLERK, session=session)
    session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))


@pytest.mark.skipif(BACKEND != "postgres", reason="PostgreSQL server connections")
def test_dropped_postgres_connection(stocked: str) -> None:
    create_order(order_input(("TEA-1", 1)), CLERK)  # the pool now holds a live connection
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:  # the server drops every idle connection of the app
        killed = conn.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                   "WHERE datname = :db AND pid <> pg_backend_pid()"),
                              {"db": make_url(stocked).database}).scalar_one()
    admin.dispose()
    assert killed >= 1
    assert len(search_orders(CLERK, "")) == 1  # pool_pre_ping replaced the dead connection
    with pytest.raises(Unavailable, match="connection was lost"):
        _order_then_connection_dies()  # dies mid-transaction: a clear error, not a traceback
    assert _orders() == 1  # the half-done order was rolled back
    _assert_sound_and_working()


# --- long-running work: an import and a forecast run ----------------------------------------


@pytest.fixture
def demo(db_url: str) -> str:
    load_demo(db_url, orders=150, seed=21)
    return db_url


def _order_file(path: Path, orders: int) -> Path:
    """A generic-format order file of ``orders`` completed one-line orders (KILL-00000 …)."""
    with db.transaction() as s:
        skus = s.execute(select(Product.sku).where(Product.active.is_(True)).order_by(Product.id)).scalars().all()
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["external_ref", "line_ref", "channel", "placed_at", "shipped_at", "delivered_at", "status",
                      "customer_name", "phone", "province", "city", "district", "address", "sku", "qty", "unit_price",
                      "payment_method", "payment_status"])
        for i in range(orders):
            out.writerow([f"KILL-{i:05d}", 1, "WECHAT", "2026-10-02 10:15:00", "2026-10-02 18:00:00",
                          "2026-10-04 11:20:00", "completed", f"客户{i}", f"137{i:08d}", "上海", "上海市", "浦东新区",
                          f"张杨路 {i} 号", skus[i % len(skus)], 1, "10.00", "wechat_pay", "paid"])
    return path


def _wait_for_a_writer(url: str, proc: subprocess.Popen[str]) -> None:
    """Return once another connection holds an open write transaction on the database."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT") if BACKEND == "postgres" else None
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if admin is not None:
                with admin.connect() as conn:
                    if conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = :db "
                                         "AND backend_xid IS NOT NULL"), {"db": make_url(url).database}).scalar_one():
                        return
            else:
                probe = sqlite3.connect(make_url(url).database or "", timeout=0, isolation_level=None)
                try:
                    probe.execute("BEGIN IMMEDIATE")
                    probe.execute("ROLLBACK")
                except sqlite3.OperationalError:
                    return  # locked: the writer is in its transaction
                finally:
                    probe.close()
            time.sleep(0.005)
    finally:
        if admin is not None:
            admin.dispose()
    pytest.fail("the worker never started writing")


def _imported(prefix: str) -> int:
    with db.transaction() as s:
        return s.execute(select(func.count(Order.id)).where(Order.external_ref.like(f"{prefix}%"))).scalar_one()


def test_sigkill_during_an_import_leaves_nothing_half_imported(demo: str, tmp_path: Path,
                                                               worker: Callable[..., subprocess.Popen[str]]) -> None:
    from core.services import imports

    path = _order_file(tmp_path / "orders.csv", IMPORT_ORDERS)
    proc = worker("import", str(path))
    _read_until(proc, lambda line: line.startswith("writing"))
    _wait_for_a_writer(demo, proc)  # the import's one write transaction has begun
    _kill(proc)
    assert _imported("KILL-") == 0  # all or nothing: not one order of the file
    with db.transaction() as s:
        assert s.execute(select(func.count(ImportBatch.id)).where(ImportBatch.status == "imported")).scalar_one() == 0
    _assert_sound_and_working()
    # the same file imports cleanly afterwards (the killed attempt left no "already imported" trace)
    options = imports.ImportOptions(kind="orders", profile=imports.load_profile("generic-orders"))
    report = imports.run_import([imports.SourceFile(path.name, path.read_bytes())], options, MANAGER)
    assert report.status == "imported" and report.accepted == IMPORT_ORDERS
    assert _imported("KILL-") == IMPORT_ORDERS
    assert invariants.check() == []


def test_sigkill_during_a_forecast_run_marks_it_failed_and_it_reruns(
        demo: str, worker: Callable[..., subprocess.Popen[str]]) -> None:
    from core.services.forecast_pipeline import run_forecast
    from tests.faults.worker import SMALL_FORECAST

    proc = worker("forecast")
    _read_until(proc, lambda line: line.startswith("progress"))  # the run is claimed and computing
    _kill(proc)
    with db.transaction() as s:
        killed = s.execute(select(ForecastRun).order_by(ForecastRun.id.desc())).scalars().first()
        assert killed is not None and killed.status == "running"  # a killed process cannot fail its own run
        assert s.execute(select(func.count(Forecast.id)).where(Forecast.run_id == killed.id)).scalar_one() == 0
    rerun = run_forecast(MANAGER, **SMALL_FORECAST)  # the next run notices the dead one first
    assert rerun.status == "succeeded" and rerun.series > 0
    with db.transaction() as s:
        old = s.get(ForecastRun, killed.id)
        assert old is not None and old.status == "failed" and "process" in (old.error or "")
    assert invariants.check() == []
