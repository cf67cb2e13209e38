"""Migration 0023 gives every paid order one payment row of its total and every after-sales
refund its refund row, so the status the rows derive is the status the order already had —
and its downgrade brings the old schema back. On SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from core.domain.payments import derived_status
from core.models import Order, Payment
from core.schema import upgrade
from tests.conftest import BACKEND
from tests.migration_support import downgrade, schema_differences
from tests.services.test_money_migration import engine  # noqa: F401 - the fixture: an empty database

BEFORE = "0021_field_encryption"
# (id, payment status, total in cents, approved?) as orders stood before payments were rows
ORDERS = [(1, "paid", 5000, True), (2, "unpaid", 3000, False), (3, "partially_refunded", 9900, True),
          (4, "refunded", 2500, False), (5, "paid", 0, True)]


def _old_database(engine: Engine) -> None:  # noqa: F811 - the fixture's name
    upgrade(engine, (BEFORE,))
    with engine.begin() as c:
        c.execute(text("INSERT INTO channels (id, code, name, kind, return_window_days, active) "
                       "VALUES (1, 'POS', 'POS', 'store', 7, true)"))
        c.execute(text("INSERT INTO orders (id, number, channel_id, status, payment_status, payment_method, "
                       "delivery_method, priority, subtotal, discount, shipping_fee, total, placed_at, approved_at, "
                       "updated_at, version) VALUES (:id, :num, 1, 'completed', :ps, 'alipay', 'pickup', 0, :t, 0, 0, "
                       ":t, '2026-11-20 04:00:00', :approved, '2026-11-20 04:00:00', 1)"),
                  [{"id": i, "num": f"SO-{i}", "ps": ps, "t": t, "approved": "2026-11-20 05:00:00" if a else None}
                   for i, ps, t, a in ORDERS])
        c.execute(text("INSERT INTO returns (id, number, order_id, kind, status, reason_code, refund_amount, "
                       "shipping_refund, created_at, created_by) VALUES (:id, :num, :o, 'refund_only', 'closed', "
                       "'quality', :amt, 0, '2026-11-21 04:00:00', 'cs')"),
                  [{"id": 1, "num": "RMA-1", "o": 3, "amt": 1000}, {"id": 2, "num": "RMA-2", "o": 4, "amt": 2500}])
        c.execute(text("INSERT INTO refunds (return_id, order_id, amount, computed_amount, method, at, actor) "
                       "VALUES (:r, :o, :amt, :amt, 'alipay', '2026-11-22 04:00:00', 'cs')"),
                  [{"r": 1, "o": 3, "amt": 1000}, {"r": 2, "o": 4, "amt": 2500}])


def test_paid_orders_and_refunds_get_their_rows_and_the_status_stays(engine: Engine) -> None:  # noqa: F811
    _old_database(engine)
    upgrade(engine)
    with Session(engine) as s:
        rows = [(p.order_id, p.kind, p.amount, str(p.at), p.created_by) for p in s.query(Payment).order_by(Payment.id)]
        orders = {o.id: o for o in s.query(Order)}
        for o in orders.values():
            paid = sum((p.amount for p in s.query(Payment).filter_by(order_id=o.id, kind="payment")), start=0)
            refunded = sum((p.amount for p in s.query(Payment).filter_by(order_id=o.id, kind="refund")), start=0)
            assert derived_status(o.total, paid, refunded, stated=o.payment_status) == o.payment_status, o.number
    assert [r[:3] for r in rows] == [(1, "payment", 50), (3, "payment", 99), (4, "payment", 25),
                                     (3, "refund", 10), (4, "refund", 25)]
    assert rows[0][3] == "2026-11-20 05:00:00" and rows[2][3] == "2026-11-20 04:00:00"  # approved, else placed
    assert {r[4] for r in rows} == {"migration"}


def test_the_downgrade_brings_back_the_old_schema(engine: Engine, tmp_path: Path) -> None:  # noqa: F811
    _old_database(engine)
    upgrade(engine)
    downgrade(engine, BEFORE)
    with engine.connect() as c:
        assert c.exec_driver_sql("SELECT count(*) FROM orders").scalar_one() == len(ORDERS)
    if BACKEND == "sqlite":
        assert schema_differences(engine, BEFORE, tmp_path) == []
    else:
        with engine.connect() as c:
            assert c.exec_driver_sql("SELECT to_regclass('payments')").scalar_one() is None
