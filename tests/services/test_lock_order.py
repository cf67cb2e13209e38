"""Races that used to end badly on PostgreSQL, each ending cleanly now.

- Receipts that release multi-line backorders, racing new orders: the receipt used to lock the
  arrived product's stock row first and the backorder's other rows after it, new orders lock
  them in (product, warehouse) order, so the two deadlocked. Every arrival now locks all the
  rows it will touch in that order before changing any (``core.services.orders.lock_for_arrival``);
  a deadlock or serialization failure that still happens is retried by the unit of work.
- Two receipts of one purchase-order line or one transfer: the second used to surface a raw
  CHECK violation; the document row is now locked first, so it sees the first's result and is
  refused by name.
- Two first orders for one new phone used to create two customers; a unique index on the
  phone and an upsert make it one.

Run on PostgreSQL with ``OMS_TEST_BACKEND=postgres`` (real server connections, one per
thread); on SQLite ``BEGIN IMMEDIATE`` serialises the writers and the same assertions hold.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import func, select
from sqlalchemy import text as sa_text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from core import db, stock
from core.errors import Busy, OMSError, Refused
from core.models import (
    Customer,
    Order,
    OrderLine,
    POLine,
    PurchaseOrder,
    StockLevel,
    StockMovement,
    Supplier,
    Warehouse,
)
from core.models.personal import digest
from core.schema import alembic_config, upgrade
from core.services import data_keys, inventory, orders
from core.services.purchasing import receive_po
from core.services.transfers import create_transfer, receive_transfer, ship_transfer
from core.timeutil import utcnow
from tests.conftest import BACKEND
from tests.factories import ADMIN, CLERK, MANAGER, WAREHOUSE, make_product, order_input
from tests.services.test_concurrency import existing_customers

THREADS = 16


def _po(lines: dict[int, int], warehouse: str = "SH") -> tuple[int, list[int]]:
    """A sent purchase order of ``{product_id: qty}``; returns its id and line ids."""
    with db.transaction() as s:
        sup = Supplier(name="供应商乙", lead_time_days=7, moq=1)
        s.add(sup)
        s.flush()
        wh = s.execute(select(Warehouse.id).where(Warehouse.code == warehouse)).scalar_one()
        po = PurchaseOrder(number="PO-RACE", supplier_id=sup.id, warehouse_id=wh, status="sent",
                           created_at=utcnow(), created_by="buyer1", total=Decimal("0"))
        s.add(po)
        s.flush()
        ids = []
        for pid, qty in lines.items():
            line = POLine(po_id=po.id, product_id=pid, qty_ordered=qty, qty_received=0, unit_cost=Decimal("5"))
            s.add(line)
            s.flush()
            ids.append(line.id)
        return po.id, ids


def _outcome(fn: Callable[[], object]) -> str:
    """``ok``, the refusal's class name, or ``raw: <type>`` for anything that is not a refusal."""
    try:
        fn()
        return "ok"
    except Busy as exc:
        return f"busy: {exc}"
    except OMSError as exc:
        return type(exc).__name__
    except Exception as exc:  # noqa: BLE001 - a raw database error is the finding
        return f"raw: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}"


def _race(tasks: list[Callable[[], object]], threads: int = THREADS) -> list[str]:
    """Run every task on ``threads`` real connections, all released at once by a barrier."""
    gate = threading.Barrier(min(threads, len(tasks)), timeout=30)

    def run(i: int) -> str:
        if i < gate.parties:
            gate.wait()
        return _outcome(tasks[i])

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(run, range(len(tasks)), timeout=60))


def _stock_problems() -> list[str]:
    """The invariants every race must leave behind: the ledger sums to on hand, every stock
    row's reservation is exactly what order lines hold, confirmed orders are fully reserved
    and backorders hold nothing."""
    problems = []
    with db.transaction(readonly=True) as s:
        ledger = dict(((p, w), int(q)) for p, w, q in s.execute(
            select(StockMovement.product_id, StockMovement.warehouse_id, func.sum(StockMovement.qty_delta))
            .group_by(StockMovement.product_id, StockMovement.warehouse_id)))
        held = dict(((p, w), int(q)) for p, w, q in s.execute(
            select(OrderLine.product_id, OrderLine.warehouse_id, func.sum(OrderLine.qty_reserved))
            .group_by(OrderLine.product_id, OrderLine.warehouse_id)))
        for lv in s.execute(select(StockLevel)).scalars():
            key = (lv.product_id, lv.warehouse_id)
            if ledger.get(key, 0) != lv.on_hand:
                problems.append(f"{key}: ledger {ledger.get(key, 0)} != on hand {lv.on_hand}")
            if held.get(key, 0) != lv.reserved:
                problems.append(f"{key}: order lines hold {held.get(key, 0)}, stock row says {lv.reserved}")
            if lv.reserved > lv.on_hand:
                problems.append(f"{key}: oversold, {lv.reserved} reserved of {lv.on_hand}")
        bad = s.execute(select(Order.number, Order.status).join(OrderLine, OrderLine.order_id == Order.id).where(
            ((Order.status == "confirmed") & (OrderLine.qty_reserved != OrderLine.qty))
            | ((Order.status == "backordered") & (OrderLine.qty_reserved != 0)))).all()
        problems += [f"{n} is {st} but its lines say otherwise" for n, st in bad]
    return problems


def test_new_orders_race_receipts_that_release_multi_line_backorders(db_url: str,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    """16 threads: new orders of existing customers (LOW + HIGH) against receipts of HIGH, each
    of which walks the backorders needing LOW and HIGH — some it releases, some it cannot.
    Not one deadlock: the lock order prevents them, the retry is not what hides them."""
    caplog.set_level(logging.INFO, logger="oms.db")
    phones = existing_customers(THREADS)
    make_product("LOW", "5.00", {"SH": 10_000})  # the smaller id: locked first by every order
    high = make_product("HIGH", "8.00", {"SH": 0})
    small = [orders.create_order(order_input(("LOW", 1), ("HIGH", 2), phone=phones[i], warehouse="SH",
                                             allow_backorder=True), CLERK).number for i in range(6)]
    for i in range(6):  # too big for any receipt: tried (and LOW locked) by every one of them
        orders.create_order(order_input(("LOW", 1), ("HIGH", 1000), phone=phones[i], warehouse="SH",
                                        allow_backorder=True), CLERK)
    receipts, per_receipt = 16, 3
    po_id, (line_id,) = _po({high: 12 + receipts * per_receipt})
    assert receive_po(po_id, {line_id: 12}, WAREHOUSE).released_orders == tuple(small)
    tasks: list[Callable[[], object]] = []
    for i in range(64):
        if i % 4 == 0:
            tasks.append(lambda: receive_po(po_id, {line_id: per_receipt}, WAREHOUSE))
        else:
            tasks.append(lambda i=i: orders.create_order(order_input(
                ("LOW", 1), ("HIGH", 1), phone=phones[i % THREADS], warehouse="SH", allow_backorder=True), CLERK))
    outcomes = Counter(_race(tasks))
    assert outcomes == Counter({"ok": len(tasks)}), outcomes
    assert [r.getMessage() for r in caplog.records if r.name == "oms.db"] == []
    assert _stock_problems() == []
    with db.transaction(readonly=True) as s:
        assert s.execute(select(POLine.qty_received).where(POLine.id == line_id)).scalar_one() == 12 + receipts * per_receipt
        assert s.execute(select(PurchaseOrder.status).where(PurchaseOrder.id == po_id)).scalar_one() == "received"


@pytest.mark.parametrize("arrival", ["ad hoc receipt", "adjustment up"])
def test_new_orders_race_other_arrivals_that_release_multi_line_backorders(
        db_url: str, arrival: str, caplog: pytest.LogCaptureFixture) -> None:
    """The same race with the other arrivals that release backorders (``lock_for_arrival``)."""
    caplog.set_level(logging.INFO, logger="oms.db")
    phones = existing_customers(THREADS)
    make_product("LOW", "5.00", {"SH": 10_000})
    high = make_product("HIGH", "8.00", {"SH": 0})
    for i in range(6):  # half released by the arrivals, half too big for any
        orders.create_order(order_input(("LOW", 1), ("HIGH", 2 if i % 2 else 1000), phone=phones[i],
                                        warehouse="SH", allow_backorder=True), CLERK)
    with db.transaction() as s:  # HIGH in stock without releasing anything: orders queue on its row
        sh = s.execute(select(Warehouse.id).where(Warehouse.code == "SH")).scalar_one()
        stock.post_movement(s, product_id=high, warehouse_id=sh, qty_delta=100, kind="receipt", actor="test")
    arrive = {"ad hoc receipt": lambda: inventory.receive_adhoc("SH", [("HIGH", 3)], WAREHOUSE),
              "adjustment up": lambda: inventory.adjust_stock("HIGH", "SH", 3, "found", MANAGER)}[arrival]
    tasks: list[Callable[[], object]] = [
        arrive if i % 4 == 0 else (lambda i=i: orders.create_order(order_input(
            ("LOW", 1), ("HIGH", 1), phone=phones[i % THREADS], warehouse="SH", allow_backorder=True), CLERK))
        for i in range(48)]
    outcomes = Counter(_race(tasks))
    assert outcomes == Counter({"ok": len(tasks)}), outcomes
    assert [r.getMessage() for r in caplog.records if r.name == "oms.db"] == []
    assert _stock_problems() == []


def test_concurrent_receipts_of_one_po_line_one_wins_the_rest_are_refused(db_url: str) -> None:
    pid = make_product("P1", "10.00", {"SH": 0})
    po_id, (line_id,) = _po({pid: 10})
    outcomes = _race([lambda: receive_po(po_id, {line_id: 10}, WAREHOUSE) for _ in range(8)], threads=8)
    assert outcomes.count("ok") == 1, outcomes
    assert all(o in ("ok", "IllegalTransition") for o in outcomes), outcomes
    assert _stock_problems() == []
    with db.transaction(readonly=True) as s:
        assert s.execute(select(StockLevel.on_hand).where(StockLevel.product_id == pid)).scalar_one() == 10
        assert s.execute(select(POLine.qty_received)).scalar_one() == 10


def test_concurrent_partial_receipts_never_exceed_the_ordered_quantity(db_url: str) -> None:
    pid = make_product("P1", "10.00", {"SH": 0})
    po_id, (line_id,) = _po({pid: 10})
    outcomes = _race([lambda: receive_po(po_id, {line_id: 3}, WAREHOUSE) for _ in range(8)], threads=8)
    assert Counter(outcomes) == Counter({"ok": 3, "ValidationError": 5}), outcomes
    with db.transaction(readonly=True) as s:
        assert s.execute(select(StockLevel.on_hand).where(StockLevel.product_id == pid)).scalar_one() == 9
        assert s.execute(select(POLine.qty_received)).scalar_one() == 9


def test_concurrent_receipts_of_one_transfer_one_wins_the_rest_are_refused(db_url: str) -> None:
    pid = make_product("A", "10.00", {"SH": 6, "GZ": 0})
    t = ship_transfer(create_transfer("SH", "GZ", [("A", 6)], WAREHOUSE).id, WAREHOUSE)
    outcomes = _race([lambda: receive_transfer(t.id, None, WAREHOUSE) for _ in range(8)], threads=8)
    assert outcomes.count("ok") == 1, outcomes
    assert all(o in ("ok", "IllegalTransition") for o in outcomes), outcomes
    assert _stock_problems() == []
    with db.transaction(readonly=True) as s:
        gz = s.execute(select(Warehouse.id).where(Warehouse.code == "GZ")).scalar_one()
        assert s.execute(select(StockLevel.on_hand).where(
            StockLevel.product_id == pid, StockLevel.warehouse_id == gz)).scalar_one() == 6


def test_concurrent_shipping_of_one_transfer_takes_the_units_once(db_url: str) -> None:
    pid = make_product("A", "10.00", {"SH": 20})
    draft = create_transfer("SH", "GZ", [("A", 6)], WAREHOUSE)
    outcomes = _race([lambda: ship_transfer(draft.id, WAREHOUSE) for _ in range(8)], threads=8)
    assert outcomes.count("ok") == 1, outcomes
    assert all(o in ("ok", "IllegalTransition") for o in outcomes), outcomes
    with db.transaction(readonly=True) as s:
        assert s.execute(select(StockLevel.on_hand).where(StockLevel.product_id == pid)).scalar_one() == 14


def test_first_orders_for_one_new_phone_make_one_customer(db_url: str) -> None:
    make_product("A", "10.00", {"SH": 100})
    outcomes = _race([lambda: orders.create_order(order_input(("A", 1), phone="+86 137-0000-0001",
                                                              warehouse="SH"), CLERK) for _ in range(8)], threads=8)
    assert outcomes == ["ok"] * 8, outcomes
    with db.transaction(readonly=True) as s:
        customers = s.execute(select(Customer.id).where(Customer.phone_bidx == digest("phone", "13700000001"))
                              ).scalars().all()
        assert len(customers) == 1
        assert s.execute(select(func.count(Order.id)).where(Order.customer_id == customers[0])).scalar_one() == 8


# --- deadlocks and serialization failures: recognised by SQLSTATE, retried, then Busy -----------

_RAISE = "DO $$ BEGIN RAISE EXCEPTION '{text}' USING ERRCODE = '{state}'; END $$"


def _flaky(failures: int, state: str, text: str = "deadlock detected") -> tuple[Callable[[], None], list[int]]:
    """A service that writes a customer, then fails with ``state`` on its first ``failures`` runs."""
    runs: list[int] = []

    @db.unit_of_work
    def service(session: Session) -> None:
        runs.append(1)
        session.add(Customer(code=f"CR{len(runs)}", name="重试", phone=None, tier="normal", tags=[],
                             created_at=utcnow()))
        session.flush()
        if len(runs) <= failures:
            session.execute(sa_text(_RAISE.format(text=text, state=state)))

    return service, runs


@pytest.mark.skipif(BACKEND != "postgres", reason="SQLSTATEs raised by the PostgreSQL server")
@pytest.mark.parametrize("state", ["40P01", "40001"])
def test_deadlock_and_serialization_failures_are_retried_whole(db_url: str, state: str) -> None:
    service, runs = _flaky(2, state)
    service()
    assert len(runs) == 3
    with db.transaction(readonly=True) as s:  # the failed runs' writes were rolled back with them
        assert s.execute(select(Customer.code).where(Customer.code.like("CR%"))).scalars().all() == ["CR3"]


@pytest.mark.skipif(BACKEND != "postgres", reason="SQLSTATEs raised by the PostgreSQL server")
def test_contention_that_outlasts_the_retries_is_a_clean_busy_refusal(db_url: str) -> None:
    service, runs = _flaky(99, "40P01")
    with pytest.raises(Busy) as refusal:
        service()
    assert len(runs) == db.MAX_RETRIES + 1
    assert refusal.value.key == "cc.contention" and refusal.value.params == {"attempts": db.MAX_RETRIES + 1}
    with db.transaction(readonly=True) as s:
        assert s.execute(select(func.count(Customer.id)).where(Customer.code.like("CR%"))).scalar_one() == 0


@pytest.mark.skipif(BACKEND != "postgres", reason="SQLSTATEs raised by the PostgreSQL server")
def test_an_error_that_only_says_blocked_is_neither_busy_nor_retried(db_url: str) -> None:
    service, runs = _flaky(1, "55006", text="object in use: database is locked, row blocked")
    with pytest.raises(DBAPIError):
        service()
    assert len(runs) == 1


# --- the migration behind one-customer-per-phone -------------------------------------------------


def _heads_before(revision: str) -> set[str]:
    """The revisions a database stands at when everything but ``revision`` and what follows it
    has been applied: the parents of ``revision`` and the other branches' tips."""
    script = ScriptDirectory.from_config(alembic_config(db.get_engine()))
    later = {revision} | {r.revision for r in script.iterate_revisions("heads", revision)}
    tips: set[str] = set()
    for rev in script.walk_revisions():
        if rev.revision in later:
            continue
        children = {c for c in rev.nextrev if c not in later}
        if not children:
            tips.add(rev.revision)
    return tips


def test_phone_index_migration_refuses_duplicates_by_name_then_builds_once_merged(db_url: str) -> None:
    engine = db.get_engine(db_url)
    cfg = alembic_config(engine)
    with engine.connect() as conn:  # undo the revisions after the join of the branches (their own downgrades)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0013_one_history")
        conn.commit()
    with engine.begin() as conn:  # the database as it was before 0009, holding a duplicate
        conn.execute(sa_text("DROP INDEX uq_customers_phone"))
        conn.execute(sa_text("CREATE INDEX ix_customers_phone ON customers (phone)"))
        conn.execute(sa_text("DELETE FROM alembic_version"))  # back to the heads before 0009_customer_phone
        for revision in _heads_before("0009_customer_phone"):
            conn.execute(sa_text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": revision})
    # the rows are written in SQL: today's models know columns (the blind indexes) this revision lacks
    insert = sa_text("INSERT INTO customers (code, name, phone, tier, tags, created_at) "
                     "VALUES (:code, '王五', :phone, 'normal', '[]', '2026-01-01 00:00:00')")
    duplicates = sa_text("SELECT count(*) FROM customers WHERE phone = '13900000009'")
    try:
        with engine.begin() as conn:  # two with one phone, one without
            conn.execute(insert, [{"code": "C0000001", "phone": "13900000009"},
                                  {"code": "C0000002", "phone": "13900000009"}, {"code": "C0000003", "phone": None}])
        with pytest.raises(Refused, match=r"13900000009: 2 customers \(C0000001 … C0000002\).*Merge each group"):
            upgrade(engine)
        with engine.begin() as conn:  # nothing changed: the duplicates are still both there
            assert conn.execute(duplicates).scalar_one() == 2
            conn.execute(sa_text("DELETE FROM customers WHERE code = 'C0000002'"))  # merged by hand
    finally:
        upgrade(engine)
    db.dispose_all()  # the database has plain phones again: encrypt them (docs/security.md)
    data_keys.init_keys(ADMIN)
    with pytest.raises(IntegrityError):
        with db.transaction() as s:
            s.add(Customer(code="C0000004", name="王五", phone="13900000009", tier="normal", tags=[],
                           created_at=utcnow()))
    with db.transaction() as s:  # customers without a phone are not constrained, merged profiles neither
        s.add(Customer(code="C0000005", name="无电话", phone=None, tier="normal", tags=[], created_at=utcnow()))
        survivor = s.execute(select(Customer.id).where(Customer.code == "C0000001")).scalar_one()
        s.add(Customer(code="C0000006", name="王五", phone="13900000009", tier="normal", tags=[],
                       created_at=utcnow(), merged_into_id=survivor))


@pytest.mark.skipif(BACKEND != "postgres", reason="PostgreSQL's constraint names on errors")
def test_a_lost_race_for_a_new_customers_phone_is_retried_other_unique_keys_are_not(db_url: str) -> None:
    """Two imports creating one new customer: the loser's insert hits uq_customers_phone; the
    re-run finds the winner's row. A duplicate customer code is a real conflict: not retried."""
    with db.transaction() as s:
        s.add(Customer(code="C0000001", name="赵六", phone="13900000001", tier="normal", tags=[], created_at=utcnow()))
    runs: list[int] = []

    @db.unit_of_work
    def import_one(session: Session, code: str, phone: str) -> None:
        runs.append(1)
        if len(runs) == 1 or code == "C0000001":  # the first run has not seen the winner yet
            session.add(Customer(code=code, name="赵六", phone=phone, tier="normal", tags=[], created_at=utcnow()))
            session.flush()

    import_one("C0000002", "13900000001")
    assert len(runs) == 2
    runs.clear()
    with pytest.raises(IntegrityError):
        import_one("C0000001", "13900000002")
    assert len(runs) == 1


def test_a_stock_import_of_thousands_of_rows_locks_them_without_overflowing_the_parser(db_url: str) -> None:
    """bench/import.py on PostgreSQL: one ``(product, warehouse) IN (…)`` of 8,000 pairs made the
    server's parser recurse past ``max_stack_depth`` ("stack depth limit exceeded"), so a large
    stock import failed. The keys are locked in sorted chunks instead — still one lock order."""
    make_product("LOCK-1", "9.90", {"SH": 5})
    keys = [(product, warehouse) for product in range(1, 10_001) for warehouse in (1, 2)]
    with db.transaction() as s:
        stock.lock_rows(s, keys)
        assert s.execute(select(func.count()).select_from(StockLevel)).scalar_one() >= 1
