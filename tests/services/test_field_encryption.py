"""Personal data encrypted at rest (docs/security.md, "Protecting data"), on SQLite and
PostgreSQL: what the database holds is ciphertext naming its key id; search by phone, e-mail
and the last four digits works through the blind indexes; a rotation moves every value to a new
key, resumes after a real kill, and leaves the app reading throughout; a missing or wrong key
is refused before anything is shown."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from core import datakeys, db
from core.errors import Refused
from core.models import AuditLog, DataKey
from core.models.personal import BY_SETTING, ENCRYPTED
from core.services import customer_names, customer_profiles, customers, data_keys
from core.services.order_lookup import lookup_order
from core.services.orders import create_order, search_orders
from tests.conftest import TEST_KEYS
from tests.factories import ADMIN, CLERK, SERVICE, make_product, order_input

PHONE, EMAIL = "13912345678", "wang.wu@example.com"
PROJECT = Path(__file__).resolve().parents[2]


def _raw(sql: str, **params: Any) -> list[Any]:
    with db.transaction(readonly=True) as s:
        return list(s.execute(text(sql), params).all())


def _stored_values() -> list[str]:
    """Every non-empty encrypted value as the database holds it: customers' names too when they
    are ciphertext (the tests run with the setting on; a key pass leaves a plain name plain)."""
    return [v for table, columns in [*ENCRYPTED.items(), *BY_SETTING.items()] for c in columns
            for (v,) in _raw(f"SELECT {c} FROM {table} WHERE {c} IS NOT NULL")
            if c not in BY_SETTING.get(table, ()) or datakeys.is_ciphertext(v)]


def _key_ids() -> set[str]:
    return {datakeys.key_id_of(v) for v in _stored_values()}


def _order(**kw: Any) -> Any:
    return create_order(order_input(("A", 1), customer_name="王五", phone=PHONE, email=EMAIL, **kw), CLERK)



def test_personal_data_is_ciphertext_at_rest_and_still_found(db_url: str) -> None:
    make_product("A", "10.00", {"SH": 10})
    placed = _order()
    stored = _stored_values()
    assert stored and all(v.startswith("enc:1:k1:") for v in stored)
    assert not any(PHONE in v or "wang.wu" in v or "世纪大道" in v for v in stored)
    # the phone is unique through its digest: a second order by the same phone finds the customer
    again = _order()
    assert again.customer_id == placed.customer_id
    # search: the whole number however typed, its last four digits, the e-mail
    for query in ("+86 139-1234-5678", "5678"):
        assert customers.search_customers(query, SERVICE)["phone"].tolist() == [PHONE]
        assert set(search_orders(SERVICE, query=query)["number"]) == {placed.number, again.number}
    assert customer_profiles.list_customers(SERVICE, "WANG.WU@example.com")["email"].tolist() == [EMAIL]
    assert customers.search_customers("1234", SERVICE).empty  # a middle part is not a search key
    # the public lookup by order number and last four digits, never decrypting the phone
    assert lookup_order(placed.number, "5678", "client-1") is not None
    assert lookup_order(placed.number, "5679", "client-1") is None


def test_comparing_an_encrypted_column_fails_loudly() -> None:
    from core.models import Customer

    with pytest.raises(TypeError, match="blind index"):
        _ = Customer.phone == PHONE
    with pytest.raises(TypeError, match="blind index"):
        Customer.email.contains("x")
    assert str(Customer.phone.is_(None))  # testing for NULL is fine


def test_a_rotation_moves_every_value_to_a_new_key_and_search_keeps_working(key_file: Path) -> None:
    make_product("A", "10.00", {"SH": 10})
    placed = _order()
    result = data_keys.rotate_keys(ADMIN, batch=1)
    assert result.kid == "k2" and result.rewritten >= 2 and result.verified == len(_stored_values())
    assert _key_ids() == {"k2"}
    assert set(json.loads(key_file.read_text())["keys"]) == {"k1", "k2"}  # old backups still decrypt
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert customers.search_customers(PHONE, SERVICE)["phone"].tolist() == [PHONE]
    assert lookup_order(placed.number, "5678", "client-1") is not None
    with db.transaction(readonly=True) as s:
        assert {k.kid: k.state for k in s.scalars(select(DataKey))} == {"k1": "retired", "k2": "active"}
        entry = s.scalars(select(AuditLog).where(AuditLog.action == "keys.rotate")).one()
    assert entry.after["kid"] == "k2" and entry.after["retired"] == ["k1"]
    assert "keys" not in json.dumps(entry.after).replace('"kid"', "")  # ids and counts, no key material


def test_a_missing_or_wrong_key_is_refused_before_anything_is_shown(db_url: str, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    make_product("A", "10.00", {"SH": 10})
    _order()
    db.dispose_all()
    wrong = json.loads(TEST_KEYS)
    wrong["keys"]["k1"] = "d3JvbmctZGF0YS1rZXktMzItYnl0ZXMtbG9uZy0hISE="
    monkeypatch.setenv(datakeys.ENV_KEY, json.dumps(wrong))
    with pytest.raises(Refused) as refused:
        data_keys.ready()
    assert refused.value.key == "keys.wrong" and "d3Jvbm" not in str(refused.value)
    monkeypatch.delenv(datakeys.ENV_KEY)
    monkeypatch.setenv(datakeys.ENV_FILE, str(tmp_path / "nowhere.json"))
    with pytest.raises(Refused) as refused:
        data_keys.ready()
    assert refused.value.key == "keys.missing"
    # the command line refuses the same way, with its one-line reason and exit status 2
    env = {k: v for k, v in os.environ.items() if k != datakeys.ENV_KEY}
    done = subprocess.run([sys.executable, "-m", "core.cli", "reconcile"], cwd=PROJECT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "No data key found" in done.stderr, done.stderr


def _many_rows(n: int) -> None:
    """``n`` orders by ``n`` customers, written as order entry writes them."""
    make_product("A", "10.00", {"SH": n})
    for i in range(n):
        create_order(order_input(("A", 1), customer_name=f"客{i}", phone=f"1390000{i:04d}",
                                 email=f"c{i}@example.com"), CLERK)


def test_a_killed_rotation_resumes_with_the_same_key_and_the_app_reads_throughout(
        key_file: Path, db_url: str) -> None:
    _many_rows(60)
    before = len(_stored_values())
    env = {**os.environ, "DATABASE_URL": db_url, datakeys.ENV_FILE: str(key_file), "PYTHONPATH": str(PROJECT)}
    env.pop(datakeys.ENV_KEY, None)
    proc = subprocess.Popen([sys.executable, "-m", "core.cli", "keys", "rotate", "--batch", "1"], cwd=PROJECT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # killed once it has rewritten some rows, not all
            ids = _key_ids()
            if "k2" in ids and "k1" in ids and len([v for v in _stored_values() if ":k2:" in v]) >= 10:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert _key_ids() == {"k1", "k2"}, "killed mid-rotation: both key ids in the database"
    with db.transaction(readonly=True) as s:
        target = s.get(DataKey, "k2")
        assert target is not None and target.completed_at is None and target.progress
    # the app reads both while the rotation is unfinished
    assert customers.search_customers("13900000059", SERVICE)["phone"].tolist() == ["13900000059"]
    assert len(customer_profiles.list_customers(SERVICE, "", limit=100)) == 60
    datakeys.forget()
    result = data_keys.rotate_keys(ADMIN, batch=7)  # resumes: the same new key, not a third
    assert result.kid == "k2" and _key_ids() == {"k2"} and len(_stored_values()) == before
    assert result.verified == before
    assert customers.search_customers("0007", SERVICE)["phone"].tolist() == ["13900000007"]


def test_init_encrypts_a_plain_database_in_batches_and_verifies_it(db_url: str) -> None:
    """A database written before encryption (plain values, no digests): refused until
    ``oms keys init`` has encrypted it; then everything is ciphertext and found again."""
    with db.transaction() as s:
        s.execute(text("DELETE FROM data_keys"))
        s.execute(text("INSERT INTO customers (code, name, phone, email, address, tier, tags, created_at) VALUES "
                       "(:c, '老客', :p, :e, '中山路 1 号', 'normal', '[]', '2026-01-01 00:00:00')"),
                  [{"c": f"C{i:07d}", "p": f"1380000{i:04d}", "e": f"old{i}@example.com"} for i in range(25)])
    db.dispose_all()
    with pytest.raises(Refused) as refused:
        data_keys.ready()
    assert refused.value.key == "keys.not_initialised"
    result = data_keys.init_keys(ADMIN, batch=4)
    assert (result.kid, result.created_file, result.rewritten, result.verified) == ("k1", False, 25, 75)
    assert _key_ids() == {"k1"}
    assert customers.search_customers("13800000024", SERVICE)["name"].tolist() == ["老客"]
    assert customer_profiles.list_customers(SERVICE, "old3@example.com")["code"].tolist() == ["C0000003"]
    # the names are the setting's business, not the key pass's: still plain, then converted by its job
    assert {v for (v,) in _raw("SELECT name FROM customers")} == {"老客"}
    assert customer_names.convert_names(ADMIN, batch=4).rewritten == 25
    assert _key_ids() == {"k1"} and len(_stored_values()) == 100
    assert len(customers.search_customers(" 老客 ", SERVICE)) == 20  # the whole name, found through name_bidx
    assert data_keys.init_keys(ADMIN).rewritten == 0  # already done: nothing to do
    with db.transaction(readonly=True) as s:
        assert s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "keys.init")) == 1


def test_init_never_puts_a_new_key_file_beside_the_database(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("the SQLite file's directory")
    beside = Path(db_url.removeprefix("sqlite:///")).parent / "data-keys.json"
    monkeypatch.delenv(datakeys.ENV_KEY)
    monkeypatch.setenv(datakeys.ENV_FILE, str(beside))
    datakeys.forget()
    try:
        with pytest.raises(Refused) as refused:
            data_keys.init_keys(ADMIN)
        assert refused.value.key == "keys.beside_data" and not beside.exists()
    finally:
        datakeys.forget()
