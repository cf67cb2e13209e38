"""Migration 0015 turns a database whose money is NUMERIC (binary floats on SQLite) into whole
cents, splits existing order discounts like order entry does, empties the summaries for a
full rebuild — and its downgrade brings the old schema back. On SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from core import db, invariants
from core.schema import upgrade
from core.services import backup
from tests.conftest import BACKEND
from tests.factories import ADMIN
from tests.migration_support import downgrade, schema_differences

BEFORE = "0014_jobs"
# Rows as the app wrote them before 0015 (money in yuan). Order 1: three ¥10 lines with ¥10 off;
# orders 2…41: a dime, a fifth and ¥19.99 — binary floats that drift when summed on SQLite.
ORDERS = [(1, 30.0, 10.0, 0.0, 20.0)] + [(n, 20.29, 0.0, 0.0, 20.29) for n in range(2, 42)]
LINES = [(1, 1, 1, 1, 10.0, 10.0), (1, 2, 2, 1, 10.0, 10.0), (1, 3, 3, 1, 10.0, 10.0)] + [
    (n, i, p, 1, price, price) for n in range(2, 42) for i, (p, price) in enumerate(((4, 0.1), (5, 0.2), (6, 19.99)), 1)]


@pytest.fixture
def engine(empty_engine: Engine) -> Engine:
    """An empty database of the backend under test."""
    return empty_engine


def _old_database(engine: Engine) -> None:
    upgrade(engine, (BEFORE,))
    with engine.begin() as c:
        c.execute(text("INSERT INTO channels (id, code, name, kind, return_window_days, active) "
                       "VALUES (1, 'POS', 'POS', 'store', 7, true)"))
        c.execute(text("INSERT INTO warehouses (id, code, name, region, province, city, is_store, ship_cost, active) "
                       "VALUES (1, 'SH', 'SH', '华东', '上海', '上海', false, 8.5, true)"))
        c.execute(text("INSERT INTO products (id, sku, name, category, attributes, unit_price, unit_cost, pack_size, "
                       "active, created_at) VALUES (:id, :sku, 'p', 'c', '{}', :price, :cost, 1, true, "
                       "'2026-01-01 00:00:00')"),
                  [{"id": i, "sku": f"S{i}", "price": price, "cost": price / 2}
                   for i, price in enumerate((10.0, 10.0, 10.0, 0.1, 0.2, 19.99), 1)])
        c.execute(text("INSERT INTO orders (id, number, channel_id, status, payment_status, delivery_method, priority, "
                       "subtotal, discount, shipping_fee, total, placed_at, updated_at, version) VALUES (:id, :num, 1, "
                       "'completed', 'paid', 'pickup', 0, :sub, :disc, :ship, :total, '2026-11-20 04:00:00', "
                       "'2026-11-20 04:00:00', 1)"),
                  [{"id": n, "num": f"SO-{n}", "sub": s, "disc": d, "ship": f, "total": t} for n, s, d, f, t in ORDERS])
        c.execute(text("INSERT INTO order_lines (order_id, line_no, product_id, qty, unit_price, discount, line_total, "
                       "warehouse_id, qty_reserved, qty_shipped, qty_returned) VALUES (:o, :n, :p, :q, :price, 0, "
                       ":total, 1, 0, :q, 0)"),
                  [{"o": o, "n": n, "p": p, "q": q, "price": price, "total": total}
                   for o, n, p, q, price, total in LINES])
        c.execute(text("INSERT INTO agg_product_daily (day, product_id, channel_id, warehouse_id, region, orders, "
                       "units, returned_units, sales, returned_sales, cost) "
                       "VALUES ('2026-11-20', 1, 1, 1, '华东', 1, 1, 0, 6.6667, 0, 5)"))
        c.execute(text("INSERT INTO agg_state (name, refreshed_at, built_at, audit_id, order_id, movement_id, "
                       "timezone, logic_version) VALUES ('summary', '2026-11-20 04:00:00', '2026-11-20 04:00:00', "
                       "0, 41, 0, 'Asia/Shanghai', 1)"))


def _value(engine: Engine, sql: str) -> Any:
    with engine.connect() as c:
        return c.exec_driver_sql(sql).scalar_one()


def test_float_money_becomes_exact_cents_and_old_discounts_are_split(engine: Engine) -> None:
    _old_database(engine)
    if BACKEND == "sqlite":  # the bug: a raw sum of the REAL column is not the exact amount
        assert _value(engine, "SELECT sum(line_total) FROM order_lines") != 30.0 + 40 * 20.29
    upgrade(engine)
    assert _value(engine, "SELECT sum(line_total) FROM order_lines") == 3000 + 40 * 2029
    assert _value(engine, "SELECT sum(total) FROM orders") == 2000 + 40 * 2029
    assert _value(engine, "SELECT ship_cost FROM warehouses") == 850
    # ¥19.99 / 2: PostgreSQL's NUMERIC(12, 2) had rounded it to 10.00 when it was written; SQLite
    # kept the float 9.99499…, which the app showed as 9.99 — and which it still is
    assert _value(engine, "SELECT unit_cost FROM products WHERE id = 6") == (999 if BACKEND == "sqlite" else 1000)
    with engine.connect() as c:
        shares = c.exec_driver_sql("SELECT discount_share FROM order_lines WHERE order_id = 1 ORDER BY line_no")
        assert [int(v) for v in shares.scalars()] == [334, 333, 333]
    assert _value(engine, "SELECT count(*) FROM order_lines WHERE discount_share <> 0") == 3
    if BACKEND == "sqlite":
        assert _value(engine, "SELECT count(*) FROM order_lines WHERE typeof(line_total) <> 'integer'") == 0
    # the summaries were four-decimal derived data: emptied, and rebuilt in full by the next refresh
    assert _value(engine, "SELECT count(*) FROM agg_product_daily") == 0
    assert _value(engine, "SELECT count(*) FROM agg_state") == 0
    with Session(engine) as session, session.begin():
        assert invariants.check(session=session) == []


def test_the_downgrade_brings_back_the_old_schema_and_amounts(engine: Engine, tmp_path: Path) -> None:
    _old_database(engine)
    upgrade(engine)
    downgrade(engine, BEFORE)
    assert float(_value(engine, "SELECT total FROM orders WHERE id = 1")) == 20.0
    assert float(_value(engine, "SELECT sum(line_total) FROM order_lines WHERE order_id = 2")) == pytest.approx(20.29)
    if BACKEND == "sqlite":
        assert schema_differences(engine, BEFORE, tmp_path) == []
    else:
        with engine.connect() as c:
            kind = c.exec_driver_sql("SELECT data_type FROM information_schema.columns "
                                     "WHERE table_name = 'orders' AND column_name = 'total'").scalar_one()
            gone = c.exec_driver_sql("SELECT count(*) FROM information_schema.columns "
                                     "WHERE table_name = 'order_lines' AND column_name = 'discount_share'").scalar_one()
        assert (kind, gone) == ("numeric", 0)


def test_a_backup_from_before_restores_into_cents(engine: Engine, db_url: str, tmp_path: Path) -> None:
    """Its invariants are checked on a private copy upgraded first (read as this version reads
    money); the original is restored, then upgraded."""
    _old_database(engine)
    file = tmp_path / ("backup.db" if BACKEND == "sqlite" else "backup.dump")
    backup.backup(file, ADMIN, url=engine.url.render_as_string(hide_password=False))
    result = backup.restore(file, ADMIN, url=db_url)
    assert result.revisions == (BEFORE,) and result.upgraded
    live = db.get_engine(db_url)
    assert _value(live, "SELECT sum(line_total) FROM order_lines") == 3000 + 40 * 2029
    assert _value(live, "SELECT sum(discount_share) FROM order_lines") == 1000
