"""Migration 0021 and ``oms keys init`` on a database written before encryption: the upgrade
adds the blind indexes (the app then refuses it until it is encrypted), init encrypts every
plain value in batches and verifies it, and the downgrade brings the old schema back — refused
while values are ciphertext. Migration 0028 likewise for customers' names: existing names stay
plain until the shop switches their encryption on; its downgrade is refused while names are
ciphertext. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from core import datakeys, db, refdata
from core.errors import Refused
from core.schema import upgrade
from core.services import customer_names, customers, data_keys
from tests.conftest import BACKEND, PG_ADMIN_URL
from tests.factories import ADMIN, SERVICE
from tests.migration_support import downgrade, schema_differences

BEFORE = "0020_notification_templates"


@pytest.fixture
def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """An empty database of the backend under test, also DATABASE_URL."""
    if BACKEND == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
        admin = None
    else:
        name = f"oms_test_enc_{uuid.uuid4().hex[:10]}"
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        url = admin.url.set(database=name).render_as_string(hide_password=False)
    monkeypatch.setenv("DATABASE_URL", url)
    e = db.make_engine(url)
    yield e
    e.dispose()
    db.dispose_all()
    if admin is not None:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{e.url.database}" WITH (FORCE)'))
        admin.dispose()


def _old_database(engine: Engine) -> None:
    upgrade(engine, (BEFORE,))
    with engine.begin() as c:
        c.execute(text("INSERT INTO channels (id, code, name, kind, return_window_days, active) "
                       "VALUES (1, 'POS', 'POS', 'store', 7, true)"))
        c.execute(text("INSERT INTO customers (id, code, name, phone, email, address, tier, tags, created_at) VALUES "
                       "(:id, :code, '老客', :phone, :email, '中山路 1 号', 'normal', '[]', '2026-01-01 00:00:00')"),
                  [{"id": i, "code": f"C{i:07d}", "phone": f"1380000{i:04d}", "email": f"old{i}@example.com"}
                   for i in range(1, 31)])
        c.execute(text("INSERT INTO orders (id, number, channel_id, customer_id, status, payment_status, "
                       "delivery_method, priority, ship_name, ship_phone, ship_address, subtotal, discount, "
                       "shipping_fee, total, placed_at, updated_at, version) VALUES (:id, :num, 1, :id, 'completed', "
                       "'paid', 'express', 0, '老客', :phone, '中山路 1 号', 1000, 0, 0, 1000, '2026-11-20 04:00:00', "
                       "'2026-11-20 04:00:00', 1)"),
                  [{"id": i, "num": f"SO-{i}", "phone": f"1380000{i:04d}"} for i in range(1, 31)])
        c.execute(text("INSERT INTO notifications (created_at, channel, recipient, order_id, event, payload, status) "
                       "VALUES ('2026-11-20 04:00:00', 'sms', '13800000001', 1, 'order.shipped', '{}', 'sent')"))


def _value(engine: Engine, sql: str) -> object:
    with engine.connect() as c:
        return c.execute(text(sql)).scalar()


def _downgrade(engine: Engine) -> None:
    downgrade(engine, BEFORE)


def test_an_old_database_is_refused_until_init_has_encrypted_it(engine: Engine) -> None:
    _old_database(engine)
    upgrade(engine)
    assert _value(engine, "SELECT count(*) FROM customers WHERE phone_bidx IS NULL") == 30
    with pytest.raises(Refused) as refused:
        data_keys.ready()
    assert refused.value.key == "keys.not_initialised"
    db.dispose_all()
    result = data_keys.init_keys(ADMIN, batch=7)
    assert (result.kid, result.rewritten, result.verified) == (datakeys.current().active, 61, 3 * 30 + 3 * 30 + 1)
    assert _value(engine, "SELECT count(*) FROM customers WHERE phone NOT LIKE 'enc:1:k1:%' "
                          "OR phone_bidx IS NULL OR email_bidx IS NULL") == 0
    assert _value(engine, "SELECT count(*) FROM orders WHERE ship_phone_last4_bidx IS NULL") == 0
    assert _value(engine, "SELECT recipient FROM notifications").startswith("enc:1:k1:")  # type: ignore[union-attr]
    data_keys.ready()
    assert customers.search_customers("13800000017", SERVICE)["code"].tolist() == ["C0000017"]
    with pytest.raises(RuntimeError, match="encrypted values"):
        _downgrade(engine)


def test_the_downgrade_brings_back_the_old_schema(engine: Engine, tmp_path: Path) -> None:
    _old_database(engine)
    upgrade(engine)
    _downgrade(engine)
    assert _value(engine, "SELECT phone FROM customers WHERE id = 3") == "13800000003"
    if BACKEND == "sqlite":
        assert schema_differences(engine, BEFORE, tmp_path) == []
    else:
        with engine.connect() as c:
            kind = c.exec_driver_sql("SELECT character_maximum_length FROM information_schema.columns "
                                     "WHERE table_name = 'customers' AND column_name = 'phone'").scalar_one()
            gone = c.exec_driver_sql("SELECT count(*) FROM information_schema.columns "
                                     "WHERE table_name = 'orders' AND column_name LIKE '%bidx'").scalar_one()
        assert (kind, gone) == (20, 0)
    upgrade(engine)  # and up again
    assert _value(engine, "SELECT count(*) FROM data_keys") == 0


NAMES_BEFORE = "0028_codes_stored_messages"


def _names(engine: Engine) -> list[str]:
    with engine.connect() as c:
        return [v for (v,) in c.execute(text("SELECT name FROM customers ORDER BY id"))]


def _switch_names(engine: Engine, encrypt: bool) -> None:
    """The setting as the Settings page leaves it, then its job's work (run here directly)."""
    with engine.begin() as c:
        c.execute(text("DELETE FROM settings WHERE key = 'customer_names'"))
        c.execute(text("INSERT INTO settings (key, value, updated_at, updated_by) VALUES ('customer_names', "
                       ":v, '2026-11-25 04:00:00', 'admin')"), {"v": json.dumps({"encrypt": encrypt})})
    refdata.clear_cache()  # (a database that old has no reference version to bump)
    assert customer_names.convert_names(ADMIN, batch=7).encrypt is encrypt


def test_names_stay_plain_through_0028_until_the_setting_encrypts_them(engine: Engine, tmp_path: Path) -> None:
    _old_database(engine)
    upgrade(engine, (NAMES_BEFORE,))
    upgrade(engine)
    assert _value(engine, "SELECT count(*) FROM customers WHERE name_bidx IS NULL") == 30
    data_keys.init_keys(ADMIN, batch=7)  # phones, e-mails, addresses; the names are the setting's
    assert set(_names(engine)) == {"老客"}
    assert len(customers.search_customers("老", SERVICE)) == 20  # plain: a part of a name is found
    _switch_names(engine, True)
    assert all(v.startswith("enc:1:") for v in _names(engine))
    assert _value(engine, "SELECT count(*) FROM customers WHERE name_bidx IS NULL") == 0
    assert len(customers.search_customers("老客", SERVICE)) == 20 and customers.search_customers("老", SERVICE).empty
    with pytest.raises(RuntimeError, match="encrypted names"):
        downgrade(engine, NAMES_BEFORE)
    _switch_names(engine, False)
    downgrade(engine, NAMES_BEFORE)
    assert set(_names(engine)) == {"老客"}
    if BACKEND == "sqlite":
        assert schema_differences(engine, NAMES_BEFORE, tmp_path) == []
    else:
        with engine.connect() as c:
            length = c.exec_driver_sql("SELECT character_maximum_length FROM information_schema.columns "
                                       "WHERE table_name = 'customers' AND column_name = 'name'").scalar_one()
        assert length == 100
