"""Migration 0028 gives alerts and timeline events a column for their message codes; rows
written before keep their plain text, which is what the pages show for them. Its downgrade
brings the old schema back. On SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text

from core import i18n
from core.schema import upgrade
from tests.conftest import BACKEND
from tests.migration_support import downgrade, schema_differences
from tests.services.test_money_migration import engine  # noqa: F401 - the fixture: an empty database

BEFORE = "0027_fin_cogs_export"  # the revision before 0028_codes_stored_messages
OLD_ALERT = "SO-1 is waiting for stock (reservation refused)"


def _old_database(engine: Engine) -> None:  # noqa: F811 - the fixture's name
    upgrade(engine, (BEFORE,))
    with engine.begin() as c:
        c.execute(text("INSERT INTO channels (id, code, name, kind, return_window_days, active) "
                       "VALUES (1, 'POS', 'POS', 'store', 7, true)"))
        c.execute(text("INSERT INTO orders (id, number, channel_id, status, payment_status, delivery_method, priority, "
                       "subtotal, discount, shipping_fee, total, placed_at, updated_at, version) VALUES "
                       "(1, 'SO-1', 1, 'backordered', 'paid', 'pickup', 0, 0, 0, 0, 0, '2026-11-20 04:00:00', "
                       "'2026-11-20 04:00:00', 1)"))
        c.execute(text("INSERT INTO order_events (order_id, at, actor, from_status, to_status, note) VALUES "
                       "(1, '2026-11-20 04:00:00', 'clerk', NULL, 'backordered', 'rule: VIP')"))
        c.execute(text("INSERT INTO alerts (kind, severity, entity, entity_id, message, created_at) VALUES "
                       "('backorder', 'warning', 'order', 'SO-1', :m, '2026-11-20 04:00:00')"), {"m": OLD_ALERT})


def test_rows_written_before_keep_showing_their_text(engine: Engine) -> None:  # noqa: F811
    _old_database(engine)
    upgrade(engine)
    with engine.connect() as c:
        alert = c.execute(text("SELECT message_codes, message FROM alerts")).one()
        event = c.execute(text("SELECT note_codes, note FROM order_events")).one()
    assert alert.message_codes is None and event.note_codes is None
    assert i18n.stored_text(alert.message_codes, alert.message, "zh") == OLD_ALERT
    assert i18n.stored_text(event.note_codes, event.note, "zh") == "rule: VIP"


def test_the_downgrade_brings_back_the_old_schema(engine: Engine, tmp_path: Path) -> None:  # noqa: F811
    _old_database(engine)
    upgrade(engine)
    downgrade(engine, BEFORE)
    with engine.connect() as c:
        assert c.exec_driver_sql("SELECT message FROM alerts").scalar_one() == OLD_ALERT
    if BACKEND == "sqlite":
        assert schema_differences(engine, BEFORE, tmp_path) == []
    else:
        with engine.connect() as c:
            assert c.exec_driver_sql("SELECT count(*) FROM information_schema.columns WHERE table_name = 'alerts' "
                                     "AND column_name = 'message_codes'").scalar_one() == 0
