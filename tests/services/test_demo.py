"""The demo generator writes a database the services and the data-quality checks accept:
the ledger reconciles, reservations are covered, totals add up, timelines follow the allowed
transitions, nothing lies in the future, and the demo users can log in."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text

from core import db
from core.errors import Conflict
from core.geo import PROVINCES
from core.models import (
    Channel,
    Customer,
    Order,
    OrderEvent,
    OrderLine,
    Product,
    Return,
    ReturnLine,
    Sequence,
    StockLevel,
    StockMovement,
    User,
    Warehouse,
)
from core.numbering import next_customer_code, next_number
from core.permissions import ROLES
from core.reference import seed_reference
from core.schema import upgrade
from core.services.orders import STATUSES, TRANSITIONS, create_order
from core.services.users import authenticate, password_issues
from core.timeutil import utcnow
from data import demo
from data.demo import DemoSummary, load_demo
from data.demo_reference import CHANNELS, WAREHOUSES
from data.demo_sim import ean13
from tests.conftest import BACKEND, PG_ADMIN_URL
from tests.factories import CLERK, order_input

ORDERS = 2_000
RESERVING = ("pending_review", "confirmed", "picking", "packed")


@pytest.fixture
def loaded(db_url: str) -> DemoSummary:
    return load_demo(db_url, orders=ORDERS, seed=7)


def _rows(sql: Any, url: str | None = None) -> list[Any]:
    with db.transaction(url) as s:
        return list(s.execute(sql).all())


def _assert_stock_consistent() -> list[Any]:
    """Σ ledger = on_hand and reserved = Σ open lines' reservations per (product, warehouse),
    0 <= reserved <= on_hand, and no running balance ever below zero. Returns the levels."""
    ledger = {(p, w): int(q) for p, w, q in _rows(
        select(StockMovement.product_id, StockMovement.warehouse_id, func.sum(StockMovement.qty_delta))
        .group_by(StockMovement.product_id, StockMovement.warehouse_id))}
    held = {(p, w): int(q) for p, w, q in _rows(
        select(OrderLine.product_id, OrderLine.warehouse_id, func.sum(OrderLine.qty_reserved))
        .join(Order, Order.id == OrderLine.order_id).where(Order.status.in_(RESERVING))
        .group_by(OrderLine.product_id, OrderLine.warehouse_id))}
    levels = _rows(select(StockLevel.product_id, StockLevel.warehouse_id, StockLevel.on_hand, StockLevel.reserved))
    for p, w, on_hand, reserved in levels:
        assert ledger.get((p, w), 0) == on_hand, (p, w)
        assert held.get((p, w), 0) == reserved, (p, w)
        assert 0 <= reserved <= on_hand
    balance: Counter[tuple[int, int]] = Counter()
    for at, p, w, delta in _rows(select(StockMovement.at, StockMovement.product_id, StockMovement.warehouse_id,
                                        StockMovement.qty_delta).order_by(StockMovement.at, StockMovement.id)):
        balance[p, w] += delta
        assert balance[p, w] >= 0, (at, p, w)
    return levels


def _assert_nothing_after(now: dt.datetime) -> None:
    columns = [Order.placed_at, Order.approved_at, Order.shipped_at, Order.delivered_at, Order.completed_at,
               Order.cancelled_at, Order.updated_at, OrderEvent.at, StockMovement.at, Customer.created_at,
               Product.created_at, Return.created_at, Return.closed_at]
    for column in columns:
        assert _rows(select(func.max(column)))[0][0] <= now, column


def test_ledger_reconciles_and_reservations_are_covered(loaded: DemoSummary) -> None:
    levels = _assert_stock_consistent()
    assert len(levels) == loaded.products * len(WAREHOUSES)
    assert any(on_hand == 0 for _, _, on_hand, _ in levels), "a few items are out of stock"
    assert loaded.movements == len(_rows(select(StockMovement.id)))


def test_lines_reserve_ship_and_return_consistently(loaded: DemoSummary) -> None:
    lines = _rows(select(Order.id, Order.status, OrderLine.id, OrderLine.qty, OrderLine.qty_reserved,
                         OrderLine.qty_shipped, OrderLine.qty_returned, OrderLine.warehouse_id, Order.warehouse_id)
                  .join(Order, Order.id == OrderLine.order_id))
    shipments = Counter(r for (r,) in _rows(select(StockMovement.ref_id).where(StockMovement.kind == "shipment",
                                                                              StockMovement.ref_type == "order")))
    shipped_lines = Counter()
    for order_id, status, _, qty, reserved, shipped, returned, line_wh, order_wh in lines:
        assert line_wh == order_wh
        assert reserved == (qty if status in RESERVING else 0)
        assert shipped == (qty if status in ("shipped", "delivered", "completed") else 0)
        assert 0 <= returned <= shipped
        shipped_lines[order_id] += shipped > 0
    assert shipments == +shipped_lines  # one shipment movement per shipped line, referencing its order
    restocked = _rows(select(func.sum(ReturnLine.restocked_qty)))[0][0] or 0
    restock_moves = _rows(select(func.sum(StockMovement.qty_delta)).where(StockMovement.kind == "return_restock"))
    assert restocked == (restock_moves[0][0] or 0)


def test_order_totals_add_up(loaded: DemoSummary) -> None:
    sums = {oid: (Decimal(t), Decimal(q)) for oid, t, q in _rows(
        select(OrderLine.order_id, func.sum(OrderLine.line_total), func.sum(OrderLine.qty))
        .group_by(OrderLine.order_id))}
    orders = _rows(select(Order.id, Order.subtotal, Order.discount, Order.shipping_fee, Order.total))
    assert len(orders) == loaded.orders == len(sums)
    for oid, subtotal, discount, shipping, total in orders:
        lines_total = sums[oid][0].quantize(Decimal("0.01"))
        assert subtotal == lines_total, oid
        assert total == lines_total - discount + shipping, oid
        assert total >= 0 and discount >= 0 and shipping >= 0
    for price, qty, discount, line_total in _rows(select(OrderLine.unit_price, OrderLine.qty, OrderLine.discount,
                                                         OrderLine.line_total)):
        assert line_total == price * qty - discount


def test_every_channel_and_warehouse_sells(loaded: DemoSummary) -> None:
    channels = {c for (c,) in _rows(select(Channel.code).join(Order, Order.channel_id == Channel.id).distinct())}
    warehouses = {w for (w,) in _rows(select(Warehouse.code).join(Order, Order.warehouse_id == Warehouse.id)
                                      .distinct())}
    assert channels == {c[0] for c in CHANNELS}
    assert warehouses == {w[0] for w in WAREHOUSES}


def test_statuses_and_timelines_follow_the_transitions(loaded: DemoSummary) -> None:
    status = dict(_rows(select(Order.id, Order.status)))
    assert set(status.values()) <= set(STATUSES)
    assert {"completed", "delivered", "cancelled"} <= set(status.values())
    timeline: dict[int, list[Any]] = {}
    for oid, frm, to in _rows(select(OrderEvent.order_id, OrderEvent.from_status, OrderEvent.to_status)
                              .order_by(OrderEvent.order_id, OrderEvent.at, OrderEvent.id)):
        timeline.setdefault(oid, []).append((frm, to))
    assert timeline.keys() == status.keys()
    for oid, events in timeline.items():
        assert events[0][0] is None, oid
        current = events[0][1]
        for frm, to in events[1:]:
            assert frm == current and (to == current or to in TRANSITIONS[current]), (oid, frm, to)
            current = to
        assert current == status[oid], oid


def test_order_timestamps_are_ordered_and_never_in_the_future(loaded: DemoSummary) -> None:
    now = utcnow()
    _assert_nothing_after(now)
    assert _rows(select(func.min(Order.placed_at)))[0][0] >= now - dt.timedelta(days=731)
    for row in _rows(select(Order.placed_at, Order.approved_at, Order.shipped_at, Order.delivered_at,
                            Order.completed_at)):
        stamps = [t for t in row if t is not None]
        assert stamps == sorted(stamps), row


def test_numbers_codes_and_sequences_leave_room_for_new_documents(loaded: DemoSummary) -> None:
    numbers = [n for (n,) in _rows(select(Order.number).order_by(Order.id))]
    assert all(re.fullmatch(r"SO\d{8}-\d{6}", n) for n in numbers)
    assert [int(n[-6:]) for n in numbers] == list(range(1, ORDERS + 1))
    codes = sorted(c for (c,) in _rows(select(Customer.code)))
    assert codes == [f"C{i:07d}" for i in range(1, loaded.customers + 1)]
    rma = sorted(int(n[-6:]) for (n,) in _rows(select(Return.number)))
    sequences = dict(_rows(select(Sequence.name, Sequence.value)))
    assert (sequences["SO"], sequences["CUST"], sequences["RMA"]) == (ORDERS, loaded.customers, len(rma))
    assert rma == list(range(1, len(rma) + 1))
    with db.transaction() as s:
        assert next_number(s, "SO").endswith(f"-{ORDERS + 1:06d}")
        assert next_customer_code(s) == f"C{loaded.customers + 1:07d}"


def test_catalogue_and_customers_look_real(loaded: DemoSummary) -> None:
    products = _rows(select(Product.sku, Product.barcode, Product.category, Product.attributes, Product.unit_price,
                            Product.unit_cost, Product.supplier_id))
    assert 180 <= loaded.products == len(products) <= 220
    barcodes = [b for _, b, *_ in products]
    assert len(set(barcodes)) == len(barcodes)
    assert all(b.startswith("69") and len(b) == 13 and ean13(b[:12]) == b for b in barcodes)
    assert any(a.get("cold_chain") for *_, a, _, _, _ in products)
    assert any(a.get("bulky") for *_, a, _, _, _ in products)
    assert all(isinstance(price, Decimal) and 0 < cost < price for *_, price, cost, _ in products)
    customers = _rows(select(Customer.phone, Customer.province, Customer.tier))
    assert len(customers) == loaded.customers >= 500
    phones = [p for p, _, _ in customers]
    assert len(set(phones)) == len(phones) and all(re.fullmatch(r"1[3-9]\d{9}", p) for p in phones)
    assert {p for _, p, _ in customers} <= set(PROVINCES)
    assert 0 < sum(t == "vip" for *_, t in customers) < len(customers) * 0.1


def test_demo_users_log_in_with_their_passwords(loaded: DemoSummary) -> None:
    assert set(loaded.users) == set(ROLES)
    for username, password in loaded.users.items():
        assert not password_issues(password, username)  # the demo's passwords pass the policy
        result = authenticate(username, password, "test")
        assert result.reason is None and result.user is not None and result.user.role == username
    assert authenticate("admin", "wrong-password-1", "test").user is None


def test_services_work_on_top_of_the_demo(loaded: DemoSummary) -> None:
    sku = _rows(select(Product.sku).join(StockLevel, StockLevel.product_id == Product.id)
                .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
                .where(Warehouse.code == "SH", StockLevel.on_hand - StockLevel.reserved >= 2).limit(1))[0][0]
    result = create_order(order_input((sku, 2)), CLERK)
    assert result.id == ORDERS + 1 and result.number.endswith(f"-{ORDERS + 1:06d}")


def test_refuses_to_load_twice(loaded: DemoSummary, db_url: str) -> None:
    with pytest.raises(Conflict, match="empty database"):
        load_demo(db_url, orders=ORDERS, seed=7)
    assert _rows(select(func.count()).select_from(Order))[0][0] == ORDERS
    assert _rows(select(func.count()).select_from(User))[0][0] == len(ROLES)


def test_refuses_a_database_with_a_demo_username(db_url: str) -> None:
    with db.transaction() as s:
        s.add(User(username="admin", password_hash="x", role="admin", active=True, created_at=utcnow()))
    with pytest.raises(Conflict, match="admin"):
        load_demo(db_url, orders=50)


@pytest.mark.parametrize("clock", [
    dt.datetime(2026, 11, 10, 16, 2),  # 00:02 in Shanghai on 双11: the day has barely begun
    dt.datetime(2026, 2, 16, 0, 58),  # 08:58 on Spring Festival eve, before any carrier pick-up
    dt.datetime(2025, 6, 18, 13, 30),  # 21:30 on 618, the evening peak of a promotion day
])
def test_consistent_whatever_the_clock(db_url: str, monkeypatch: pytest.MonkeyPatch, clock: dt.datetime) -> None:
    """The generated history ends at "now"; stock, reservations and timestamps must hold for
    any time of day, on holidays and promotion peaks alike."""
    monkeypatch.setattr(demo, "utcnow", lambda: clock)
    load_demo(db_url, orders=ORDERS, seed=3)
    _assert_stock_consistent()
    _assert_nothing_after(clock)


def _fingerprint(url: str) -> dict[str, Any]:
    """Aggregates that identify the generated data, independent of surrogate ids."""
    return {
        "orders": _rows(select(Order.number, Order.status, Order.total, Order.placed_at, Customer.code)
                        .join(Customer, Customer.id == Order.customer_id).order_by(Order.number), url),
        "by_channel": sorted(_rows(select(Channel.code, Order.status, func.count(), func.sum(Order.total))
                                   .join(Channel, Channel.id == Order.channel_id)
                                   .group_by(Channel.code, Order.status), url)),
        "stock": sorted(_rows(select(Product.sku, Warehouse.code, StockLevel.on_hand, StockLevel.reserved)
                              .join(Product, Product.id == StockLevel.product_id)
                              .join(Warehouse, Warehouse.id == StockLevel.warehouse_id), url)),
        "movements": _rows(select(func.count(), func.sum(StockMovement.qty_delta)), url)[0],
    }


@pytest.fixture
def fresh_database(tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Makes more empty, migrated, seeded databases on the backend under test (the ledger is
    append-only, so a database cannot be emptied for a second load)."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT") if BACKEND == "postgres" else None
    created: list[str] = []

    def make() -> str:
        name = f"oms_test_{uuid.uuid4().hex[:10]}"
        if admin is None:
            url = f"sqlite:///{tmp_path / name}.db"
        else:
            with admin.connect() as c:
                c.execute(text(f'CREATE DATABASE "{name}"'))
            created.append(name)
            url = admin.url.set(database=name).render_as_string(hide_password=False)
        upgrade(db.get_engine(url))
        with db.transaction(url) as s:
            seed_reference(s)
        return url

    yield make
    db.dispose_all()
    if admin is not None:
        with admin.connect() as c:
            for name in created:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_same_seed_same_data(db_url: str, fresh_database: Callable[[], str], monkeypatch: pytest.MonkeyPatch) -> None:
    clock = utcnow()
    monkeypatch.setattr(demo, "utcnow", lambda: clock)
    progress: list[float] = []
    load_demo(db_url, orders=500, seed=11, progress=lambda f, _m: progress.append(f))
    assert progress == sorted(progress) and progress[-1] == 1.0
    again, other = fresh_database(), fresh_database()
    load_demo(again, orders=500, seed=11)
    load_demo(other, orders=500, seed=12)
    assert _fingerprint(again) == _fingerprint(db_url)
    assert _fingerprint(other)["orders"] != _fingerprint(db_url)["orders"]


def test_a_tiny_load_writes_no_empty_rows(db_url: str) -> None:
    """With one order most tables get few or no rows; none may get a defaulted blank row."""
    summary = load_demo(db_url, orders=1)
    assert summary.orders == 1 and summary.customers == 500
    with db.transaction() as s:
        assert s.execute(text("SELECT COUNT(*) FROM orders")).scalar_one() == 1
        assert s.execute(select(func.count()).select_from(Return)).scalar_one() == 0
