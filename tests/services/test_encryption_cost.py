"""What field encryption costs an order stays small (issue 20's goal: order entry at most 10 %
slower; the figures are in docs/benchmarks.md, from ``bench/encryption_cost.py``). Counted, never
timed: each distinct personal value of an order is encrypted once and each digest computed once,
however many rows hold it (customer, order, outbox), and finding the customer by phone reads an
index, not every customer row. SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from core import datakeys, db
from core.services import customers
from core.services.orders import create_order
from tests.factories import CLERK, make_product, order_input

PHONE, EMAIL, ADDRESS = "13912345678", "wang.wu@example.com", "世纪大道 1 号"


@pytest.fixture
def crypto_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """How often the key ring encrypts, decrypts and computes a digest."""
    calls: Counter[str] = Counter()
    for name in ("encrypt", "decrypt", "blind"):
        original = getattr(datakeys.KeyRing, name)

        def counted(ring: datakeys.KeyRing, *args: Any, _name: str = name, _original: Any = original) -> Any:
            calls[_name] += 1
            return _original(ring, *args)

        monkeypatch.setattr(datakeys.KeyRing, name, counted)
    yield calls


def _stored(order_id: int) -> dict[str, str]:
    """The ciphertext an order's rows hold, as the database has it."""
    with db.transaction(readonly=True) as s:
        row = s.execute(text(
            "SELECT o.ship_phone, o.ship_address, c.phone, c.address FROM orders o JOIN customers c"
            " ON c.id = o.customer_id WHERE o.id = :id"), {"id": order_id}).one()
        sms = s.execute(text("SELECT recipient FROM notifications WHERE order_id = :id AND channel = 'sms'"),
                        {"id": order_id}).scalar_one()
    return {"ship_phone": row[0], "ship_address": row[1], "customer_phone": row[2], "customer_address": row[3],
            "sms_recipient": sms}


def _order() -> Any:
    return create_order(order_input(("A", 1), customer_name="王五", phone=PHONE, email=EMAIL, address=ADDRESS), CLERK)


def test_an_order_encrypts_each_value_once(db_url: str, crypto_calls: Counter[str]) -> None:
    make_product("A", "10.00", {"SH": 10})
    first = _order()
    # a new customer: name, phone, e-mail and address sealed once each, though the phone is in
    # the customer, the order and the SMS row and the e-mail in the customer and the e-mail row
    # (8 encryptions before); digests of the phone, its last four and the e-mail (7 before), and
    # the merge key: the digest of the normalised ship-to address (merged orders, 合单), and the
    # name's digest (names are encrypted in the tests: the name shares the ship-to name's
    # ciphertext, so no fifth encryption)
    assert first.customer_created
    assert crypto_calls == {"encrypt": 4, "blind": 5}
    crypto_calls.clear()
    second = _order()
    # an existing customer: its row is not written; the customer's phone is read once
    assert second.customer_id == first.customer_id and not second.customer_created
    assert crypto_calls == {"encrypt": 4, "blind": 3, "decrypt": 1}
    # one order's rows share the ciphertext of a value ...
    one, two = _stored(first.id), _stored(second.id)
    assert one["ship_phone"] == one["customer_phone"] == one["sms_recipient"]
    assert one["ship_address"] == one["customer_address"]
    # ... another order's is its own (a fresh nonce per order), and every one decrypts to the value
    assert two["ship_phone"] != one["ship_phone"] and two["ship_address"] != one["ship_address"]
    assert {datakeys.current().decrypt(two[k]) for k in ("ship_phone", "sms_recipient")} == {PHONE}


def test_outside_an_order_every_value_gets_its_own_ciphertext(db_url: str) -> None:
    """Sharing is for one order's rows only: the same value written twice elsewhere is two
    encryptions with two nonces."""
    with datakeys.one_ciphertext_per_value():
        assert datakeys.seal(PHONE) == datakeys.seal(PHONE)
    assert datakeys.seal(PHONE) != datakeys.seal(PHONE)
    assert datakeys.blind("phone", PHONE) == datakeys.blind("phone", PHONE)


def test_finding_the_customer_by_phone_reads_an_index(db_url: str) -> None:
    """The phone's digest is indexed for live profiles only (the unique index); the lookup must
    not fall back to reading every customer row (it did: 118 µs an order at 5,000 customers,
    248 µs once the rows held ciphertext)."""
    sql = str(customers._BY_PHONE.compile(db.get_engine()))
    with db.transaction(readonly=True) as s:
        conn = s.connection()
        if conn.dialect.name == "sqlite":
            plan = " ".join(str(r[3]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", ("x", "x", 0, 1, 0)))
            assert "SCAN" not in plan, plan
        else:  # (on a table this small PostgreSQL would rather read it all)
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = " ".join(r[0] for r in conn.exec_driver_sql(
                f"EXPLAIN {sql}", {"v": "x", "merged_into_id_1": 0, "param_1": 1, "param_2": 0}))
    # the live profile through the unique index on the digest, merged ones through theirs
    assert "uq_customers_phone" in plan and "ix_customers_merged_into_id" in plan, plan
