"""Migration 0027 records a cost on every line already shipped — the product's cost at upgrade
time, the only one known (docs/finance.md says so) — and dates the restocked return lines by
their ledger movement; unshipped lines get none. Its downgrade brings the old schema back. On
SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text

from core.schema import upgrade
from tests.conftest import BACKEND
from tests.migration_support import downgrade, schema_differences
from tests.services.test_money_migration import engine  # noqa: F401 - the fixture: an empty database

BEFORE = "0027_carrier_rates"  # the revision before 0027_fin_cogs_export


def _old_database(engine: Engine) -> None:  # noqa: F811 - the fixture's name
    upgrade(engine, (BEFORE,))
    with engine.begin() as c:
        c.execute(text("INSERT INTO channels (id, code, name, kind, return_window_days, active) "
                       "VALUES (1, 'POS', 'POS', 'store', 7, true)"))
        c.execute(text("INSERT INTO warehouses (id, code, name, region, province, city, is_store, ship_cost, active) "
                       "VALUES (1, 'SH', 'SH', '华东', '上海', '上海', false, 850, true)"))
        c.execute(text("INSERT INTO products (id, sku, name, category, attributes, unit_price, unit_cost, pack_size, "
                       "active, created_at) VALUES (:id, :sku, 'p', 'c', '{}', 2000, :cost, 1, true, "
                       "'2026-01-01 00:00:00')"), [{"id": 1, "sku": "A", "cost": 1250}, {"id": 2, "sku": "B", "cost": None}])
        c.execute(text("INSERT INTO orders (id, number, channel_id, status, payment_status, delivery_method, priority, "
                       "subtotal, discount, shipping_fee, total, placed_at, shipped_at, updated_at, version) VALUES "
                       "(:id, :num, 1, :status, 'paid', 'pickup', 0, 4000, 0, 0, 4000, '2026-11-20 04:00:00', :shipped, "
                       "'2026-11-20 04:00:00', 1)"),
                  [{"id": 1, "num": "SO-1", "status": "completed", "shipped": "2026-11-21 04:00:00"},
                   {"id": 2, "num": "SO-2", "status": "confirmed", "shipped": None}])
        c.execute(text("INSERT INTO order_lines (id, order_id, line_no, product_id, qty, unit_price, discount, "
                       "line_total, discount_share, warehouse_id, qty_reserved, qty_shipped, qty_returned) VALUES "
                       "(:id, :o, :n, :p, 1, 2000, 0, 2000, 0, 1, :res, :ship, 0)"),
                  [{"id": 1, "o": 1, "n": 1, "p": 1, "res": 0, "ship": 1}, {"id": 2, "o": 1, "n": 2, "p": 2, "res": 0,
                                                                            "ship": 1},
                   {"id": 3, "o": 2, "n": 1, "p": 1, "res": 1, "ship": 0}])
        c.execute(text("INSERT INTO returns (id, number, order_id, kind, status, reason_code, refund_amount, "
                       "shipping_refund, created_at, created_by) VALUES (1, 'RMA-1', 1, 'return', 'closed', 'size', "
                       "2000, 0, '2026-11-22 04:00:00', 'cs')"))
        c.execute(text("INSERT INTO return_lines (id, return_id, order_line_id, qty, restocked_qty, refund_amount) "
                       "VALUES (1, 1, 1, 1, 1, 2000)"))
        c.execute(text("INSERT INTO stock_movements (at, product_id, warehouse_id, qty_delta, kind, reason, ref_type, "
                       "ref_id, actor) VALUES ('2026-11-23 06:00:00', 1, 1, 1, 'return_restock', 'RMA-1', 'return', 1, "
                       "'wh')"))


def test_shipped_lines_get_the_current_cost_and_restocked_returns_their_day(engine: Engine) -> None:  # noqa: F811
    _old_database(engine)
    upgrade(engine)
    with engine.connect() as c:
        costs = c.execute(text("SELECT id, unit_cost FROM order_lines ORDER BY id")).all()
        restocked = c.execute(text("SELECT restocked_at FROM return_lines")).scalar_one()
    assert [tuple(r) for r in costs] == [(1, 1250), (2, None), (3, None)]  # B has no cost; line 3 never shipped
    assert str(restocked) == "2026-11-23 06:00:00"


def test_the_downgrade_brings_back_the_old_schema(engine: Engine, tmp_path: Path) -> None:  # noqa: F811
    _old_database(engine)
    upgrade(engine)
    downgrade(engine, BEFORE)
    with engine.connect() as c:
        assert c.exec_driver_sql("SELECT count(*) FROM order_lines").scalar_one() == 3
    if BACKEND == "sqlite":
        assert schema_differences(engine, BEFORE, tmp_path) == []
    else:
        with engine.connect() as c:
            assert c.exec_driver_sql("SELECT to_regclass('journal_exports')").scalar_one() is None
