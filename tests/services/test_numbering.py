"""Document counters: unique, increasing numbers on both backends; on PostgreSQL a counter is a
SEQUENCE, so an open transaction holding a number does not hold up the next clerk."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from core import db
from core.models import Customer, Order
from core.numbering import current_values, next_customer_code, next_value, pg_sequence, reserve_values
from core.services.orders import create_order
from core.timeutil import local_today
from tests.conftest import BACKEND
from tests.factories import CLERK, make_product, order_input


def test_numbers_are_unique_and_increasing(db_url: str) -> None:
    with db.transaction() as s:
        first = next_value(s, "SO")
        bulk = list(reserve_values(s, "SO", 5))
        after = next_value(s, "SO")
    assert bulk == sorted(bulk) and len(set(bulk)) == 5
    assert first < bulk[0] and bulk[-1] < after
    with db.transaction() as s:
        assert current_values(s.connection())["SO"] == after
        assert list(reserve_values(s, "SO", 0)) == []


@pytest.mark.skipif(BACKEND != "postgres", reason="row locks of a PostgreSQL server")
def test_an_open_order_does_not_hold_up_the_next_customer_code(db_url: str) -> None:
    """Clerk A has taken a customer code and not committed yet; clerk B must get the next code
    at once (it waited for A's commit when the counter was a locked table row)."""
    with db.transaction() as a:
        code_a = next_customer_code(a)
        number_a = next_value(a, "SO")
        with db.transaction() as b:
            b.execute(text("SET LOCAL lock_timeout = '300ms'"))
            try:
                code_b, number_b = next_customer_code(b), next_value(b, "SO")
            except DBAPIError as exc:  # lock_not_available: B queued behind A
                pytest.fail(f"the second clerk waited for the first one's commit: {exc.orig}")
    assert code_b > code_a and number_b > number_a


@pytest.mark.skipif(BACKEND != "postgres", reason="PostgreSQL sequences")
def test_a_rolled_back_order_leaves_a_gap_never_a_duplicate(db_url: str) -> None:
    make_product("TEA", "10.00", {"SH": 5})
    first = create_order(order_input(("TEA", 1), phone="13800000001"), CLERK)
    with pytest.raises(RuntimeError), db.transaction() as s:
        next_customer_code(s)
        next_value(s, "SO")
        raise RuntimeError("the clerk's transaction fails after taking its numbers")
    second = create_order(order_input(("TEA", 1), phone="13800000002"), CLERK)
    assert int(second.number[-6:]) == int(first.number[-6:]) + 2


def test_the_shop_profile_is_read_in_the_callers_transaction(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Inside a transaction, the shop's profile (behind every local date, e.g. an order number's
    day) is read on that transaction's connection: a second pooled connection would wait for
    the pool while this one holds row locks — the 20–30 s convoys measured with 36 threads."""
    from sqlalchemy import event

    from core import refdata

    monkeypatch.setattr(refdata, "PROFILE_RECHECK_SECONDS", 0.0)  # every call reads the database
    engine = db.session_factory().kw["bind"]
    checkouts: list[object] = []
    listener = lambda *args: checkouts.append(args)  # noqa: E731
    event.listen(engine, "checkout", listener)
    try:
        with db.transaction() as s:
            next_value(s, "SO")  # the transaction's own connection
            before = len(checkouts)
            assert refdata.shop_profile() == refdata.shop_profile()
            next_customer_code(s)
            assert len(checkouts) == before
        assert refdata.shop_profile() is not None  # outside a transaction it reads on its own
        assert len(checkouts) > before
    finally:
        event.remove(engine, "checkout", listener)


def _set_counter(name: str, value: int) -> None:
    """Move counter ``name`` so that its next value is ``value + 1``."""
    with db.transaction() as s:
        if s.get_bind().dialect.name == "postgresql":
            s.execute(text(f"SELECT setval('{pg_sequence(name)}', {value})"))
        else:
            s.execute(text("UPDATE sequences SET value = :v WHERE name = :n"), {"v": value, "n": name})


def test_an_order_and_a_new_customer_are_numbered_as_next_number_writes_it(db_url: str) -> None:
    """The order number and a new customer's code are taken inside their INSERTs on PostgreSQL
    (:class:`core.numbering.NumberedInsert`) and by the counter row on SQLite: the same
    numbers either way — the local day, zero-padded to six (customers seven) digits, and every
    digit once the counter outgrows the padding."""
    make_product("TEA", "10.00", {"SH": 5})
    _set_counter("SO", 999_998)
    _set_counter("CUST", 9_999_998)
    day = f"SO{local_today():%Y%m%d}-"
    first = create_order(order_input(("TEA", 1), phone="13800000001"), CLERK)
    second = create_order(order_input(("TEA", 1), phone="13800000002"), CLERK)
    assert (first.number, second.number) == (f"{day}999999", f"{day}1000000")
    with db.transaction() as s:
        codes = s.execute(select(Customer.code).where(Customer.id.in_([first.customer_id, second.customer_id]))
                          .order_by(Customer.id)).scalars().all()
        assert codes == ["C9999999", "C10000000"]
        assert s.execute(select(Order.number).where(Order.id == second.id)).scalar_one() == second.number
