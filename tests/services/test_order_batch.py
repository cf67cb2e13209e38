"""The batch path (core.services.orders.batch) against create_order one by one.

The same file of orders on scarce stock goes once through ``create_order`` after ``create_order``
(each under a savepoint, as imports in quarantine mode did) and once through ``create_orders``,
each in a transaction that is rolled back after everything it wrote has been read: statuses,
warehouses, reservations, backorders and their alerts, gifts, kits, review/carrier rules,
numbering order, events, notifications, payments, audit rows and the stock rows must be equal.
Then: stock taken by another writer between the batch's read and its UPDATE (the plan is made
again), and a batch racing order entry on real connections (never oversold).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core import db, timeutil
from core.errors import InsufficientStock, OMSError
from core.models import (
    Alert,
    AuditLog,
    Customer,
    Notification,
    Order,
    OrderEvent,
    OrderKitLine,
    OrderLine,
    Payment,
    Product,
    StockLevel,
    Warehouse,
)
from core.services import customers, kits, orders
from core.services.orders import OrderInput, batch
from core.services.rules_admin import RuleInput, save_rule
from tests.factories import CLERK, MANAGER, make_product, order_input


class _Rollback(Exception):
    pass


@pytest.fixture
def shop(db_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Scarce stock in several warehouses, a kit, a gift rule with a scarce gift and its
    fallback, a VIP and a normal customer, and one order already imported (ref DUP). The clock
    stands still: one by one, each order would otherwise be stamped a moment later."""
    stopped = timeutil.real_utcnow()
    monkeypatch.setattr(timeutil, "real_utcnow", lambda: stopped)
    make_product("A", "30.00", {"SH": 5, "GZ": 2})
    make_product("B", "40.00", {"SH": 3})
    make_product("C", "25.00", {"SH": 0, "BJ": 4})
    make_product("D", "60.00", {"GZ": 10}, cold_chain=True)
    make_product("E", "3000.00", {"SH": 3}, bulky=True)
    make_product("G1", "0.00", {"SH": 2})
    make_product("G2", "0.00", {"SH": 1})
    make_product("KIT", "65.00")
    kits.save_kit("KIT", [("A", 1), ("B", 1)], MANAGER)
    save_rule(None, RuleInput("gift over 100", "gift", 10, {"field": "total", "op": ">=", "value": 100},
                              {"gift": "G1", "qty": 1, "fallback": "G2"}), MANAGER)
    with db.transaction() as s:
        vip = customers.find_or_create(s, name="王 VIP", phone="13900000001")
        normal = customers.find_or_create(s, name="李 普通", phone="13900000002")
        s.execute(update(Customer).where(Customer.id == vip.id).values(tier="vip"))
    orders.create_order(order_input(("D", 1), channel="TMALL", external_ref="DUP", warehouse="GZ"), CLERK)
    return {"vip": vip.id, "normal": normal.id}


def _file(shop: dict[str, int]) -> list[OrderInput]:
    """An import's open orders (backorders allowed, address not required) competing for stock."""
    sh = dict(province="上海", city="上海市", district="浦东新区", address="世纪大道 1 号")
    gd = dict(province="广东", city="广州市", district="天河区", address="天河路 2 号")
    bj = dict(province="北京", city="北京市", district="朝阳区", address="建国路 3 号")

    def o(ref: str, *lines: tuple[str, int], **kw: Any) -> OrderInput:
        base: dict[str, Any] = dict(channel="TMALL", external_ref=ref, allow_backorder=True, require_address=False,
                                    customer_id=shop["normal"], **sh)
        base.update(kw)
        return order_input(*lines, **base)

    return [
        o("R01", ("A", 2)),  # SH: A 5 → 3
        o("R02", ("A", 2), ("B", 1), customer_id=shop["vip"]),  # VIP priority; gift G1 (total 100)
        o("R03", ("A", 3), **gd),  # GZ has 2, SH 1 left: no warehouse → backordered in GZ
        o("R04", ("C", 2), **bj),  # BJ
        o("R05", ("C", 1)),  # SH has no C: BJ
        o("R06", ("KIT", 1)),  # A 1 + B 1 from SH; gift G1 (total 65 → none)
        o("R07", ("B", 1), ("D", 1), district=None),  # incomplete address → on hold; split SH/GZ; cold chain
        o("R08", ("E", 2)),  # 6000 → pending review, bulky carrier, gift G1 (last)
        o("R09", ("NOPE", 1)),  # unknown SKU: refused
        o("DUP", ("D", 1)),  # imported before: refused
        o("R10", ("B", 2), ("E", 1)),  # B: 1 left → backordered, E taken and given back
        o("R11", ("D", 2), warehouse="GZ", customer_id=None, walk_in=True, phone=None),  # walk-in, given warehouse
        o("R12", ("A", 1), ("D", 1), **gd),  # GZ: gift G2 (fallback)
        o("R13", ("E", 1), ("A", 0)),  # qty 0: refused
        o("R14", ("D", 2), **gd),  # gift skipped: both out
        o("R15", ("C", 1), ("A", 1), **bj),  # BJ has C 1, no A; SH has no C: split
        o("R16", ("C", 2), **bj),  # C gone everywhere → backordered
        o("R17", ("D", 1), customer_id=999999),  # unknown customer: refused
        o("R18", ("E", 1)),  # the E that R10 gave back
    ]


def _snapshot(s: Session, outcomes: list[Any]) -> dict[str, Any]:
    """Everything an order's creation wrote, keyed by reference and numbering rank (ids and
    PostgreSQL sequence values differ between the runs; their order must not)."""
    numbers = sorted(s.execute(select(Order.number)).scalars())
    rank = {n: f"#{i}" for i, n in enumerate(numbers)}
    ref_of = dict(s.execute(select(Order.id, Order.external_ref)).all())
    sku = dict(s.execute(select(Product.id, Product.sku)).all())
    wh: dict[int | None, str] = dict(s.execute(select(Warehouse.id, Warehouse.code)).all())

    def by_ref(rows: Any) -> dict[Any, list[Any]]:
        out: dict[Any, list[Any]] = {}
        for order_id, *rest in rows:
            out.setdefault(ref_of.get(order_id), []).append(rest)
        return out

    def numbered(value: Any) -> Any:
        if isinstance(value, str):
            for n, r in rank.items():
                value = value.replace(n, r)
        elif isinstance(value, dict):
            return {k: numbered(v) for k, v in value.items()}
        elif isinstance(value, list):
            return [numbered(v) for v in value]
        return value

    heads = {o.external_ref: (rank[o.number], o.number[:10], o.status, wh.get(o.warehouse_id), o.customer_id,
                              o.priority, o.carrier, o.subtotal, o.discount, o.shipping_fee, o.total,
                              o.payment_status, o.approved_at, o.due_by, o.ship_name, o.ship_phone, o.ship_address,
                              o.ship_phone_bidx, o.merge_key, o.created_by)
             for o in s.execute(select(Order)).scalars()}
    return {
        "outcomes": [numbered(str(x)) if isinstance(x, OMSError) else
                     (rank[x.number], x.status, x.total, x.warehouse, x.customer_id, x.backordered, x.review_rule,
                      x.shortages, x.split_to, x.gifts, x.gifts_skipped) for x in outcomes],
        "orders": heads,
        "lines": by_ref((ln.order_id, ln.line_no, sku[ln.product_id], ln.qty, ln.unit_price, ln.discount,
                         ln.line_total, ln.discount_share, wh.get(ln.warehouse_id), ln.qty_reserved, ln.is_gift,
                         ln.kit_line_id is not None) for ln in s.execute(
            select(OrderLine).order_by(OrderLine.order_id, OrderLine.line_no)).scalars()),
        "kit_lines": by_ref((k.order_id, k.line_no, sku[k.product_id], k.qty, k.line_total)
                            for k in s.execute(select(OrderKitLine)).scalars()),
        "events": by_ref((e.order_id, e.to_status, e.note, e.note_codes, e.actor)
                         for e in s.execute(select(OrderEvent).order_by(OrderEvent.id)).scalars()),
        "notifications": by_ref((n.order_id, n.channel, n.recipient, n.event, numbered(n.payload), n.status)
                                for n in s.execute(select(Notification).order_by(Notification.id)).scalars()),
        "payments": by_ref((p.order_id, p.kind, p.amount, p.method, p.at)
                           for p in s.execute(select(Payment)).scalars()),
        "audit": sorted((numbered(a.entity_id), a.action, str(numbered(a.after))) for a in s.execute(
            select(AuditLog).where(AuditLog.action == "order.create")).scalars()),
        "alerts": sorted((numbered(a.entity_id), a.kind, a.message, str(a.message_codes))
                         for a in s.execute(select(Alert)).scalars()),
        "stock": sorted((sku[lv.product_id], wh[lv.warehouse_id], lv.on_hand, lv.reserved)
                        for lv in s.execute(select(StockLevel)).scalars()),
    }


def _one_by_one(inputs: list[OrderInput]) -> dict[str, Any]:
    outcomes: list[Any] = []
    with pytest.raises(_Rollback), db.transaction() as s:
        for data in inputs:
            try:
                with s.begin_nested():
                    outcomes.append(orders.create_order(data, MANAGER, session=s))
            except OMSError as exc:
                outcomes.append(exc)
        snap = _snapshot(s, outcomes)
        raise _Rollback
    return snap


def _batched(inputs: list[OrderInput]) -> dict[str, Any]:
    with pytest.raises(_Rollback), db.transaction() as s:
        snap = _snapshot(s, batch.create_orders(inputs, MANAGER, quarantine=True, session=s))
        raise _Rollback
    return snap


def test_batch_decides_and_writes_what_create_order_one_by_one_does(shop: dict[str, int]) -> None:
    inputs = _file(shop)
    sequential, batched = _one_by_one(inputs), _batched(inputs)
    for part in sequential:
        assert batched[part] == sequential[part], part
    statuses = [x[1] if isinstance(x, tuple) else x for x in sequential["outcomes"]]
    # the file does reach every decision it is meant to
    assert {"confirmed", "backordered", "on_hold", "pending_review"} <= set(statuses)
    assert sum(isinstance(x, str) for x in sequential["outcomes"]) == 4  # NOPE, DUP, qty 0, unknown customer
    assert any(x[8] for x in sequential["outcomes"] if isinstance(x, tuple))  # a split order
    assert [x[9] or x[10] for x in sequential["outcomes"] if isinstance(x, tuple) and (x[9] or x[10])]


def test_without_quarantine_the_first_refusal_in_order_raises_and_nothing_is_written(shop: dict[str, int]) -> None:
    inputs = _file(shop)
    with pytest.raises(OMSError) as caught:
        batch.create_orders(inputs, MANAGER)
    assert "NOPE" in str(caught.value)  # R09 is the first refused
    with db.transaction() as s:
        assert s.execute(select(func.count(Order.id))).scalar_one() == 1  # DUP only


def test_without_backorders_a_short_order_is_refused_and_gives_its_units_back(shop: dict[str, int]) -> None:
    inputs = [order_input(("A", 4), ("B", 4), channel="TMALL", allow_backorder=False),  # B short: nothing taken
              order_input(("A", 5), channel="TMALL", allow_backorder=False)]  # so A's 5 are all there
    results = batch.create_orders(inputs, MANAGER, quarantine=True)
    assert isinstance(results[0], InsufficientStock) and "B @ SH: requested 4, available 3" in str(results[0])
    assert not isinstance(results[1], OMSError) and results[1].status == "confirmed"


def test_stock_taken_between_the_read_and_the_update_is_planned_again(
        shop: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    """Another writer's reservation between the batch's read and its UPDATE: the read below
    says 3 more units are free than the row has, so the first plan's UPDATE matches no row;
    the plan made again (on locked rows) equals one-by-one entry."""
    inputs = _file(shop)
    sequential = _one_by_one(inputs)
    read = batch._free
    calls: list[bool] = []

    def stale_once(conn: Any, pids: list[int], locked: bool) -> dict[tuple[int, int], int]:
        calls.append(locked)
        free = read(conn, pids, locked)
        return free if len(calls) > 1 else {k: v + 3 for k, v in free.items()}

    monkeypatch.setattr(batch, "_free", stale_once)
    assert _batched(inputs) == sequential
    assert calls == [False, True]


def test_a_batch_racing_order_entry_on_scarce_stock_never_oversells(db_url: str) -> None:
    """A 60-order batch and 8 clerks' 80 single-unit orders (no backorders) for 50 units of
    HOT, on real connections (PostgreSQL: 9 server sessions): every unit reserved once."""
    pid = make_product("HOT", "9.90", {"SH": 50})
    sh = dict(province="上海", city="上海市", district="浦东新区", address="世纪大道 1 号", warehouse="SH")
    burst = [order_input(("HOT", 1), channel="TMALL", external_ref=f"B{i}", allow_backorder=True, walk_in=True,
                         phone=None, **sh) for i in range(60)]

    def clerk(i: int) -> str:
        try:
            orders.create_order(order_input(("HOT", 1), channel="PHONE", walk_in=True, phone=None, **sh), CLERK)
            return "ok"
        except InsufficientStock:
            return "refused"

    def import_burst(_: int) -> str:
        results = batch.create_orders(burst, MANAGER, quarantine=True)
        return f"batch {sum(not isinstance(r, OMSError) and not r.backordered for r in results)}"

    with ThreadPoolExecutor(max_workers=9) as pool:
        racing = [pool.submit(import_burst, 0)] + [pool.submit(clerk, i) for i in range(80)]
        outcomes = [f.result() for f in racing]
    won_by_batch = int(outcomes[0].split()[1])
    won_by_clerks = outcomes[1:].count("ok")
    with db.transaction() as s:
        on_hand, reserved = s.execute(select(StockLevel.on_hand, StockLevel.reserved)
                                      .where(StockLevel.product_id == pid)).one()
        held = s.execute(select(func.sum(OrderLine.qty_reserved)).where(OrderLine.product_id == pid)).scalar_one()
        backordered = s.execute(select(func.count(Order.id)).where(Order.status == "backordered")).scalar_one()
    assert (on_hand, reserved, held) == (50, 50, 50)
    assert won_by_batch + won_by_clerks == 50 and backordered == 60 - won_by_batch
