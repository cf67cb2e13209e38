"""Demo data: a believable Chinese multi-channel retailer with two years of history.

``oms init --demo`` calls :func:`load_demo` on a freshly migrated database (reference rows
seeded, nothing else). It simulates the business in numpy (:mod:`data.demo_sim`,
:mod:`data.demo_stock`) and bulk-inserts the result in one transaction, because replaying
50 000+ orders through the order services one by one would take minutes; the simulation
re-states the services' invariants instead (totals add up, only allowed status transitions,
``Σ ledger = on_hand``, reservations covered) and ``tests/services/test_demo.py`` checks them
on the written database. The same seed and clock give the same data.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import JSON, Connection, Table, func, select, text, update
from sqlalchemy.sql.schema import CallableColumnDefault, ScalarElementColumnDefault

from core import db
from core.domain import totals
from core.domain.payments import RECEIVED_AT_ENTRY
from core.errors import Conflict
from core.geo import PROVINCES
from core.models import (
    Alert,
    AuditLog,
    Channel,
    Customer,
    CustomerIdentity,
    Money,
    Order,
    OrderEvent,
    OrderLine,
    Payment,
    POLine,
    Product,
    ProductBarcode,
    PurchaseOrder,
    Return,
    ReturnLine,
    Sequence,
    StockLevel,
    StockMovement,
    Supplier,
    User,
    Warehouse,
)
from core.models.personal import INDEXES, Encrypted, with_indexes
from core.numbering import align_pg_counters, current_values
from core.passwords import generate_password, hash_password
from core.permissions import SYSTEM
from core.services import data_keys
from core.services.orders import STATUSES
from core.timeutil import shop_tz, utcnow
from data import demo_reference
from data import demo_sim as S
from data import demo_tables as T
from data.demo_stock import INITIAL, MOVES, RESTOCK, SHIPMENT, Stock, simulate_stock

CHUNK_ORDERS = 20_000
INSERT_BATCH = 20_000
CARRIERS = (*((name, prefix) for name, prefix, _ in T.CARRIERS), T.JD_CARRIER, T.COLD_CARRIER, T.BULKY_CARRIER)
CANCEL_REASONS = ("买家申请取消", "地址填写错误，重新下单", "重复下单", "不想要了", "支付超时")
ONLINE_IDENTITY = ("TMALL", "JD", "DOUYIN", "WECHAT")


@dataclass(frozen=True)
class DemoSummary:
    """What was loaded, and the demo users' passwords (the only time they are visible)."""

    products: int
    customers: int
    orders: int
    order_lines: int
    movements: int
    users: dict[str, str]  # username -> plaintext password (shown once, never stored)
    seconds: float


def load_demo(
    url: str | None = None,
    *,
    orders: int = 50_000,
    seed: int = 42,
    progress: Callable[[float, str], None] | None = None,
) -> DemoSummary:
    """Fill an empty, migrated and seeded database with the demo retailer (its own channels,
    warehouses and rules first: :mod:`data.demo_reference`) and one user per role.

    Raises :class:`Conflict` if the database already holds orders, products, customers or a
    user named like a demo account; nothing is written then.
    """
    if orders < 1:
        raise ValueError("orders must be at least 1")
    started = time.perf_counter()
    report = progress or _silent
    engine = db.get_engine(url)
    with engine.connect() as conn:
        _require_empty(conn)
    # the demo runs encrypted like any shop: a key file is made when none is configured
    data_keys.init_keys(SYSTEM, url=url)
    with db.transaction(url) as session:  # the demo shop's channels, warehouses and rules
        demo_reference.seed_demo_reference(session)
    report(0.0, "simulating two years of business")
    world = simulate(orders, seed, S.Clock.build(utcnow(), shop_tz()), report)
    passwords = {role: generate_password() for role in T.DEMO_USERS}  # pass the policy
    hashes = {role: hash_password(pw) for role, pw in passwords.items()}
    with engine.begin() as conn:
        _require_empty(conn)  # again, now holding the write lock
        movements = _write(conn, world, hashes, seed, report)
    report(1.0, "demo data loaded")
    return DemoSummary(world.catalogue.size, world.customers.size, world.orders.size, world.lines.size,
                       movements, passwords, round(time.perf_counter() - started, 2))


def _silent(_fraction: float, _message: str) -> None:
    """Progress sink when the caller does not want progress."""


def _require_empty(conn: Connection) -> None:
    """Refuse to mix demo data with real data (or with an earlier demo load)."""
    counts = {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
              for t in (Order.__table__, Product.__table__, Customer.__table__, Supplier.__table__)}
    if any(counts.values()):
        found = ", ".join(f"{n} {name}" for name, n in counts.items() if n)
        raise Conflict(f"demo data loads only into an empty database; this one already has {found}")
    taken = conn.execute(select(User.username).where(User.username.in_(list(T.DEMO_USERS)))).scalars().all()
    if taken:
        raise Conflict(f"demo users already exist: {', '.join(sorted(taken))}")


# --- simulation ------------------------------------------------------------------------------


@dataclass
class World:
    """Everything the simulation decided, as arrays; rows are made from it chunk by chunk."""

    clock: S.Clock
    catalogue: S.Catalogue
    customers: S.Customers
    orders: S.Orders
    lines: S.Lines
    returns: S.Returns
    stock: Stock
    customer_since: np.ndarray  # UTC seconds the customer record was created
    vip: np.ndarray
    priority: np.ndarray
    carrier: np.ndarray  # index into CARRIERS, -1 for counter sales
    tracking: np.ndarray
    payment_method: np.ndarray  # strings
    payment_status: np.ndarray  # strings
    random_digits: np.ndarray  # per order, for the channels' own order references
    note: np.ndarray  # index into S.ORDER_NOTES, -1 = none
    cancel_reason: np.ndarray  # index into CANCEL_REASONS


def simulate(n_orders: int, seed: int, clock: S.Clock, report: Callable[[float, str], None]) -> World:
    """The whole demo business as of ``clock`` (pure: same seed and clock → same world)."""
    rng = np.random.default_rng(seed)
    cal = S.build_calendar(clock)
    cat = S.build_catalogue(rng, clock)
    customers = S.build_customers(rng, max(500, n_orders // 4))
    report(0.04, f"placing {n_orders:,} orders")
    orders, lines = S.build_orders(rng, clock, cal, cat, customers, n_orders)
    returns = S.build_returns(rng, clock, cat, orders, lines)
    report(0.12, "stock and replenishment")
    stock = simulate_stock(rng, clock, cal.dow, cat, orders, lines, returns)
    flow, backordered = orders.flow, stock.backordered
    flow.status[backordered] = S.BACKORDERED
    flow.approved[backordered] = flow.picking[backordered] = flow.packed[backordered] = -1
    refunds = np.bincount(returns.order[returns.line_return], weights=returns.refund, minlength=orders.size)
    since, vip, priority = S.customer_history(orders, customers.size, refunds.astype(np.int64))
    never = since < 0
    since[never] = clock.now_utc - rng.integers(S.DAY, clock.days * S.DAY, int(never.sum()))
    n = orders.size
    methods = _payment_methods(rng, orders.channel)
    return World(
        clock, cat, customers, orders, lines, returns, stock, since, vip, priority, _carriers(rng, orders),
        rng.integers(10**11, 10**12, n), methods, _payment_status(orders, methods, returns, lines),
        rng.integers(0, 10**9, n), np.where(rng.random(n) < 0.05, rng.integers(0, len(S.ORDER_NOTES), n), -1),
        rng.integers(0, len(CANCEL_REASONS), n),
    )


def _carriers(rng: np.random.Generator, o: S.Orders) -> np.ndarray:
    """Cold chain → 顺丰冷运, bulky → 德邦物流 (the default carrier rules), JD → 京东物流,
    the rest spread over the usual express companies; counter sales have none."""
    share = np.array([s for _, _, s in T.CARRIERS])
    carrier = rng.choice(len(T.CARRIERS), o.size, p=share / share.sum())
    base = len(T.CARRIERS)
    carrier = np.where(o.channel == S.JD, base, carrier)
    carrier = np.where(o.bulky, base + 2, carrier)
    carrier = np.where(o.cold, base + 1, carrier)
    return np.where(o.channel == S.POS, -1, carrier)


def _payment_methods(rng: np.random.Generator, channel: np.ndarray) -> np.ndarray:
    method = np.empty(len(channel), dtype=object)
    for c, prof in enumerate(T.CHANNELS):
        mask = channel == c
        names = np.array([m for m, _ in prof.payments], dtype=object)
        weights = np.array([w for _, w in prof.payments])
        method[mask] = names[rng.choice(len(weights), int(mask.sum()), p=weights / weights.sum())]
    return method


def _payment_status(o: S.Orders, method: np.ndarray, returns: S.Returns, lines: S.Lines) -> np.ndarray:
    """Paid at checkout, except cash on delivery (paid on delivery) and bank transfers still in
    review; cancelled orders are refunded if they had been paid; returns refund part or all."""
    flow = o.flow
    unpaid = (((method == "cod") & (flow.delivered < 0))
              | ((method == "bank_transfer") & (flow.status == S.PENDING_REVIEW))
              | ((method == "bank_transfer") & (flow.status == S.CANCELLED) & (flow.approved < 0)))
    status = np.where(unpaid, "unpaid", np.where(flow.status == S.CANCELLED, "refunded", "paid")).astype(object)
    returned = np.zeros(lines.size, dtype=np.int64)
    returned[returns.line] = returns.qty
    lines_left = np.bincount(lines.order, weights=returned < lines.qty, minlength=o.size)
    status[returns.order] = np.where(lines_left[returns.order] == 0, "refunded", "partially_refunded")
    return status


# --- writing ---------------------------------------------------------------------------------


def _rows(columns: dict[str, list[Any]]) -> list[dict[str, Any]]:
    keys = list(columns)
    return [dict(zip(keys, values, strict=True)) for values in zip(*columns.values(), strict=True)]


def _times(seconds: np.ndarray) -> list[Any]:
    """UTC seconds → naive UTC datetimes (None where negative: has not happened)."""
    return np.where(seconds >= 0, seconds.astype("datetime64[s]"), np.datetime64("NaT")).tolist()


def _money(cents: np.ndarray) -> list[Decimal]:
    return [Decimal(c).scaleb(-2) for c in cents.tolist()]


class _Writer:
    """Bulk inserts, reporting progress by rows written.

    executemany in large batches, except on PostgreSQL, where ``COPY … FROM STDIN`` on the same
    connection (same transaction) writes the same rows about five times faster.
    """

    def __init__(self, conn: Connection, report: Callable[[float, str], None], expected_rows: int) -> None:
        self.conn = conn
        self.report = report
        self.expected = max(expected_rows, 1)
        self.written = 0

    def insert(self, table: Table, rows: list[dict[str, Any]], message: str) -> None:
        if table.name in INDEXES:  # the blind indexes of the personal data (core.models.personal)
            rows = [with_indexes(table.name, row) for row in rows]
        if self.conn.dialect.name == "postgresql":
            self._copy(table, rows)
        else:
            self._executemany(table, rows)
        self.written += len(rows)
        self.report(0.2 + 0.78 * min(1.0, self.written / self.expected), f"writing {message}")

    def _executemany(self, table: Table, rows: list[dict[str, Any]]) -> None:
        # range() skips an empty list: table.insert() with no rows would insert one blank row
        for i in range(0, len(rows), INSERT_BATCH):
            self.conn.execute(table.insert(), rows[i:i + INSERT_BATCH])

    def _copy(self, table: Table, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        given = list(rows[0])
        # Python-side column defaults, which table.insert() would apply to omitted columns
        defaults = {c.name: c.default.arg if isinstance(c.default, ScalarElementColumnDefault)
                    else c.default.arg(None)  # type: ignore[arg-type]  # zero-argument defaults, wrapped by SQLAlchemy
                    for c in table.columns
                    if c.name not in rows[0]
                    and isinstance(c.default, ScalarElementColumnDefault | CallableColumnDefault)}
        columns = given + list(defaults)
        as_json = [isinstance(table.c[c].type, JSON) for c in columns]
        # COPY bypasses the column types: money goes in as the cents its type would store,
        # personal data as its ciphertext
        money = [table.c[c].type.bind_processor(self.conn.dialect) if isinstance(table.c[c].type, Money | Encrypted)
                 else None for c in columns]
        raw = self.conn.connection.driver_connection
        assert raw is not None, "an open Connection has its driver connection"
        cursor = raw.cursor()  # psycopg, inside our transaction
        with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                values = [row[c] for c in given] + list(defaults.values())
                copy.write_row([json.dumps(v, ensure_ascii=False) if j and v is not None
                                else m(v) if m is not None and v is not None else v
                                for v, j, m in zip(values, as_json, money, strict=True)])

    def next_id(self, table: Table) -> int:
        return int(self.conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()) + 1


@dataclass(frozen=True)
class _Context:
    """What every writer needs: the world, first ids of explicitly numbered tables, reference
    ids, and the document numbers (so ledger reasons and timelines can quote them)."""

    world: World
    supplier_id: int
    product_id: int
    customer_id: int
    order_id: int
    line_id: int
    return_id: int
    po_id: int
    channels: np.ndarray  # channel index → id
    warehouses: np.ndarray  # warehouse index → id
    sequences: dict[str, int]  # value before the load
    customer_rank: np.ndarray  # simulated customer → position in creation order
    numbers: list[str]  # order numbers
    rma: list[str]  # return numbers
    day_labels: list[str]  # yyyymmdd of each local day of the window


def _context(conn: Connection, w: _Writer, world: World) -> _Context:
    channels = dict(conn.execute(select(Channel.code, Channel.id)).all())
    warehouses = dict(conn.execute(select(Warehouse.code, Warehouse.id)).all())
    missing = [c for c in [p.code for p in T.CHANNELS] if c not in channels]
    missing += [c for c in S.WAREHOUSE_CODES if c not in warehouses]
    if missing:
        raise Conflict(f"reference data is missing ({', '.join(missing)}); run `oms init` first")
    seq = current_values(conn)
    clock, o, r = world.clock, world.orders, world.returns
    labels = [clock.date(d).strftime("%Y%m%d") for d in range(clock.days)]
    so, rma = seq.get("SO", 0), seq.get("RMA", 0)
    rma_days = clock.local_day_of_utc(r.created).tolist()
    rank = np.empty(world.customers.size, dtype=np.int64)
    rank[np.argsort(world.customer_since, kind="stable")] = np.arange(world.customers.size)
    return _Context(
        world, w.next_id(Supplier.__table__), w.next_id(Product.__table__), w.next_id(Customer.__table__),
        w.next_id(Order.__table__), w.next_id(OrderLine.__table__), w.next_id(Return.__table__),
        w.next_id(PurchaseOrder.__table__), np.array([channels[p.code] for p in T.CHANNELS]),
        np.array([warehouses[c] for c in S.WAREHOUSE_CODES]), seq, rank,
        [f"SO{labels[d]}-{so + 1 + i:06d}" for i, d in enumerate(o.day.tolist())],
        [f"RMA{labels[d]}-{rma + 1 + i:06d}" for i, d in enumerate(rma_days)], labels,
    )


def _write(conn: Connection, world: World, hashes: dict[str, str], seed: int,
           report: Callable[[float, str], None]) -> int:
    """Every table, parents first; returns the number of ledger movements written."""
    o = world.orders
    # rows to write, roughly: orders with ~6 timeline events and ~0.4 channel identities each
    expected = int(o.size * 7.4) + world.customers.size + world.lines.size + world.stock.ledger.size
    w = _Writer(conn, report, expected)
    ctx = _context(conn, w, world)
    _write_catalogue(w, ctx)
    _write_customers(w, ctx)
    for start in range(0, o.size, CHUNK_ORDERS):
        _write_orders(w, ctx, start, min(o.size, start + CHUNK_ORDERS))
    _write_returns(w, ctx)
    _write_stock(w, ctx)
    purchase_orders = _write_purchase_orders(w, ctx)
    _write_alerts(w, ctx)
    _write_users_and_audit(w, ctx, hashes, seed)
    used = {"SO": o.size, "CUST": world.customers.size, "RMA": world.returns.size, "PO": purchase_orders}
    for name, count in used.items():
        value = ctx.sequences.get(name, 0) + count
        conn.execute(update(Sequence).where(Sequence.name == name).values(value=value))
    if conn.dialect.name == "postgresql":
        _resync_pg_sequences(conn)
        align_pg_counters(conn)
    return world.stock.ledger.size


def _write_catalogue(w: _Writer, ctx: _Context) -> None:
    w.insert(Supplier.__table__, [
        dict(id=ctx.supplier_id + i, name=name, lead_time_days=lead, moq=moq, contact=contact)
        for i, (name, lead, moq, contact) in enumerate(T.SUPPLIERS)], "suppliers")
    rows = ctx.world.catalogue.rows
    created = _times(np.array([r["created_at"] for r in rows]))
    w.insert(Product.__table__, [
        {**{k: v for k, v in row.items() if k != "supplier"}, "id": ctx.product_id + p,
         "supplier_id": ctx.supplier_id + row["supplier"], "unit_price": Decimal(row["unit_price"]).scaleb(-2),
         "unit_cost": Decimal(row["unit_cost"]).scaleb(-2), "created_at": created[p]}
        for p, row in enumerate(rows)], "products")
    w.insert(ProductBarcode.__table__, [  # every barcode lives in product_barcodes (core.barcodes)
        {"product_id": ctx.product_id + p, "barcode": row["barcode"]} for p, row in enumerate(rows) if row["barcode"]],
        "barcodes")


def _write_customers(w: _Writer, ctx: _Context) -> None:
    """Customers numbered in the order they first bought (codes C0000001 …)."""
    world, c = ctx.world, ctx.world.customers
    rank = ctx.customer_rank
    base = ctx.sequences.get("CUST", 0) + 1
    tags = [(["VIP"] if v else []) + (["批发"] if s else [])
            for v, s in zip(world.vip.tolist(), c.is_shop.tolist(), strict=True)]
    w.insert(Customer.__table__, _rows({
        "id": (ctx.customer_id + rank).tolist(), "code": [f"C{base + r:07d}" for r in rank.tolist()],
        "name": c.name, "phone": c.phone, "email": c.email,
        "province": [PROVINCES[p] for p in c.province.tolist()], "city": c.city, "district": c.district,
        "address": c.address, "tier": ["vip" if v else "normal" for v in world.vip.tolist()], "tags": tags,
        "created_at": _times(world.customer_since),
    }), "customers")
    _write_identities(w, ctx)


def _write_identities(w: _Writer, ctx: _Context) -> None:
    """One profile across channels: each marketplace/social buyer account maps to the customer."""
    o = ctx.world.orders
    n_ch = len(T.CHANNELS)
    online = np.isin(o.channel, [S.CHANNEL_INDEX[c] for c in ONLINE_IDENTITY])
    keys = np.unique(o.customer[online] * n_ch + o.channel[online])
    formats: dict[str, Callable[[int], str]] = {
        "TMALL": lambda k: f"tb{(k * 7919 + 13) % 10**9:09d}",
        "JD": lambda k: f"jd_{(k * 104729 + 7) % 16**10:010x}",
        "DOUYIN": lambda k: f"dy{(k * 15485863 + 1) % 10**10:010d}",
        "WECHAT": lambda k: f"o{(k * 49979687 + 3) % 16**16:016x}",
    }
    w.insert(CustomerIdentity.__table__, [
        dict(customer_id=ctx.customer_id + int(ctx.customer_rank[k // n_ch]), channel_id=int(ctx.channels[k % n_ch]),
             external_id=formats[T.CHANNELS[k % n_ch].code](k // n_ch))
        for k in keys.tolist()], "customer identities")


EXTERNAL_REF: dict[str, Callable[[int, int, str], str]] = {
    # (position, random digits, local date) → the channel's own order number
    "TMALL": lambda i, r, d: f"2{i:09d}{r:09d}",
    "JD": lambda i, r, d: f"3{i:08d}{r % 1000:03d}",
    "DOUYIN": lambda i, r, d: f"69{i:09d}{r % 10**8:08d}",
    "WECHAT": lambda i, r, d: f"wx{d}{i:08d}",
    "GROUPBUY": lambda i, r, d: f"GB{d}{i:07d}",
}


def _external_refs(ctx: _Context, start: int, end: int) -> list[str | None]:
    """Each channel's own order reference (none for counter and phone sales); unique per
    channel because it embeds the order's position."""
    o, digits, labels = ctx.world.orders, ctx.world.random_digits, ctx.day_labels
    formats = [EXTERNAL_REF.get(p.code) for p in T.CHANNELS]
    return [None if (fmt := formats[ch]) is None else fmt(i, r, labels[d])
            for i, ch, r, d in zip(range(start, end), o.channel[start:end].tolist(), digits[start:end].tolist(),
                                   o.day[start:end].tolist(), strict=True)]


def _write_orders(w: _Writer, ctx: _Context, start: int, end: int) -> None:
    world = ctx.world
    o, c, f = world.orders, world.customers, world.orders.flow
    sl = slice(start, end)
    cust = o.customer[sl].tolist()
    events = _events(ctx, start, end)
    version = np.bincount(events["order"] - start, minlength=end - start)
    updated = np.full(end - start, -1, dtype=np.int64)
    np.maximum.at(updated, events["order"] - start, events["at"])
    carrier = world.carrier[sl].tolist()
    tracking = [f"{CARRIERS[k][1]}{t}" if k >= 0 and s >= 0 else None
                for k, t, s in zip(carrier, world.tracking[sl].tolist(), f.shipped[sl].tolist(), strict=True)]
    w.insert(Order.__table__, _rows({
        "id": (ctx.order_id + np.arange(start, end)).tolist(), "number": ctx.numbers[sl],
        "channel_id": ctx.channels[o.channel[sl]].tolist(), "external_ref": _external_refs(ctx, start, end),
        "customer_id": (ctx.customer_id + ctx.customer_rank[o.customer[sl]]).tolist(),
        "status": [STATUSES[s] for s in f.status[sl].tolist()],
        "payment_status": world.payment_status[sl].tolist(), "payment_method": world.payment_method[sl].tolist(),
        "delivery_method": np.where(o.channel[sl] == S.POS, "pickup",
                                    np.where(o.bulky[sl], "freight", "express")).tolist(),
        "ship_name": [c.name[k] for k in cust], "ship_phone": [c.phone[k] for k in cust],
        "ship_province": [PROVINCES[c.province[k]] for k in cust], "ship_city": [c.city[k] for k in cust],
        "ship_district": [c.district[k] for k in cust], "ship_address": [c.address[k] for k in cust],
        "warehouse_id": ctx.warehouses[o.warehouse[sl]].tolist(), "priority": world.priority[sl].tolist(),
        "subtotal": _money(o.subtotal[sl]), "discount": _money(o.discount[sl]),
        "shipping_fee": _money(o.shipping[sl]), "total": _money(o.total[sl]),
        "placed_at": _times(o.placed[sl]), "approved_at": _times(f.approved[sl]),
        "shipped_at": _times(f.shipped[sl]), "delivered_at": _times(f.delivered[sl]),
        "completed_at": _times(f.completed[sl]), "cancelled_at": _times(f.cancelled[sl]),
        "due_by": _times(o.placed[sl] + 48 * 3600),
        "carrier": [CARRIERS[k][0] if k >= 0 else None for k in carrier], "tracking_no": tracking,
        "note": [S.ORDER_NOTES[k] if k >= 0 else None for k in world.note[sl].tolist()],
        "created_by": [T.CHANNELS[ch].created_by for ch in o.channel[sl].tolist()],
        "updated_at": _times(updated), "version": version.tolist(),
    }), "orders")
    _write_payments(w, ctx, start, end)
    last = o.line_start[end] if end < o.size else world.lines.size
    _write_lines(w, ctx, int(o.line_start[start]), int(last))
    w.insert(OrderEvent.__table__, _event_rows(ctx, events, tracking, start), "order timelines")


def _write_payments(w: _Writer, ctx: _Context, start: int, end: int) -> None:
    """The payment row of every order that was paid (as order entry writes it): its total,
    at approval (else placement), by the order's payment method."""
    world = ctx.world
    o, f = world.orders, world.orders.flow
    sl = slice(start, end)
    received = np.isin(world.payment_status[sl], RECEIVED_AT_ENTRY) & (o.total[sl] > 0)
    pick = np.flatnonzero(received) + start
    at = np.where(f.approved[pick] >= 0, f.approved[pick], o.placed[pick])
    w.insert(Payment.__table__, _rows({
        "order_id": (ctx.order_id + pick).tolist(), "kind": ["payment"] * pick.size,
        "method": world.payment_method[pick].tolist(), "provider_ref": [None] * pick.size,
        "amount": _money(o.total[pick]), "fee": [Decimal(0)] * pick.size, "at": _times(at),
        "status": ["succeeded"] * pick.size, "refund_id": [None] * pick.size,
        "created_by": [T.CHANNELS[ch].created_by for ch in o.channel[pick].tolist()],
    }), "payments")


def _write_lines(w: _Writer, ctx: _Context, first: int, last: int) -> None:
    world = ctx.world
    ln, o, r = world.lines, world.orders, world.returns
    sl = slice(first, last)
    order = ln.order[sl]
    cost = np.array([r["unit_cost"] for r in world.catalogue.rows], dtype=np.int64)
    returned = np.zeros(last - first, dtype=np.int64)
    inside = (r.line >= first) & (r.line < last)
    returned[r.line[inside] - first] = r.qty[inside]
    # the slice holds whole orders: each line's share of its order's discount, as order entry splits it
    shares = totals.discount_shares_cents(order - order[0], ln.total[sl], o.discount[order[0]:order[-1] + 1]) \
        if last > first else np.zeros(0, dtype=np.int64)
    w.insert(OrderLine.__table__, _rows({
        "id": (ctx.line_id + np.arange(first, last)).tolist(), "order_id": (ctx.order_id + order).tolist(),
        "line_no": (np.arange(first, last) - o.line_start[order] + 1).tolist(),
        "product_id": (ctx.product_id + ln.product[sl]).tolist(), "qty": ln.qty[sl].tolist(),
        "unit_price": _money(ln.price[sl]), "discount": _money(ln.discount[sl]), "line_total": _money(ln.total[sl]),
        "discount_share": _money(shares), "warehouse_id": ctx.warehouses[o.warehouse[order]].tolist(),
        "qty_reserved": world.stock.line_reserved[sl].tolist(),
        "qty_shipped": np.where(o.flow.shipped[order] >= 0, ln.qty[sl], 0).tolist(), "qty_returned": returned.tolist(),
        # the cost of goods recorded at shipping (the demo's costs never change)
        "unit_cost": [c if shipped else None for c, shipped in zip(
            _money(cost[ln.product[sl]]), (o.flow.shipped[order] >= 0).tolist(), strict=True)],
    }), "order lines")


# Timeline entry kinds: creation, then the transitions in the order they happen, then a return note.
(EV_CREATED, EV_APPROVED, EV_PICKING, EV_PACKED, EV_SHIPPED, EV_DELIVERED, EV_COMPLETED, EV_CANCELLED,
 EV_RETURN) = range(9)


def _events(ctx: _Context, start: int, end: int) -> dict[str, np.ndarray]:
    """Timeline of orders start..end along the edges core.services.orders.TRANSITIONS allows:
    creation, one row per status change, and a note when a return was refunded."""
    o, f, r = ctx.world.orders, ctx.world.orders.flow, ctx.world.returns
    idx = np.arange(start, end)
    review = f.review[idx]
    initial = np.where(f.status[idx] == S.BACKORDERED, S.BACKORDERED, np.where(review, S.PENDING_REVIEW, S.CONFIRMED))
    cancelled_from = np.where(review & (f.approved[idx] < 0), S.PENDING_REVIEW, S.CONFIRMED)
    steps: list[tuple[np.ndarray, np.ndarray, int | np.ndarray, int | np.ndarray, int]] = [  # (happened, when, from, to, kind)
        (np.ones(len(idx), dtype=bool), o.placed[idx], -1, initial, EV_CREATED),
        (review & (f.approved[idx] >= 0), f.approved[idx], S.PENDING_REVIEW, S.CONFIRMED, EV_APPROVED),
        (f.picking[idx] >= 0, f.picking[idx], S.CONFIRMED, S.PICKING, EV_PICKING),
        (f.packed[idx] >= 0, f.packed[idx], S.PICKING, S.PACKED, EV_PACKED),
        (f.shipped[idx] >= 0, f.shipped[idx], S.PACKED, S.SHIPPED, EV_SHIPPED),
        (f.delivered[idx] >= 0, f.delivered[idx], S.SHIPPED, S.DELIVERED, EV_DELIVERED),
        (f.completed[idx] >= 0, f.completed[idx], S.DELIVERED, S.COMPLETED, EV_COMPLETED),
        (f.cancelled[idx] >= 0, f.cancelled[idx], cancelled_from, S.CANCELLED, EV_CANCELLED),
    ]
    parts = [(idx[happened], at[happened], np.broadcast_to(frm, len(idx))[happened],
              np.broadcast_to(to, len(idx))[happened], np.full(int(happened.sum()), kind),
              np.full(int(happened.sum()), -1))
             for happened, at, frm, to, kind in steps]
    ret = np.flatnonzero((r.order >= start) & (r.order < end))
    completed = f.completed[r.order[ret]]
    then = np.where((completed >= 0) & (completed <= r.closed[ret]), S.COMPLETED, S.DELIVERED)
    parts.append((r.order[ret], r.closed[ret], then, then, np.full(len(ret), EV_RETURN), ret))
    keys = ("order", "at", "from", "to", "kind", "ref")
    events = {k: np.concatenate([p[i] for p in parts]).astype(np.int64) for i, k in enumerate(keys)}
    order = np.lexsort((events["kind"], events["at"], events["order"]))
    return {k: v[order] for k, v in events.items()}


REVIEW_NOTE = f"rule: {demo_reference.RULES[0][0]}"
FIXED_NOTES = {EV_APPROVED: "审核通过", EV_PICKING: None, EV_PACKED: None, EV_COMPLETED: "确认收货"}


def _event_rows(ctx: _Context, ev: dict[str, np.ndarray], tracking: list[str | None], start: int
                ) -> list[dict[str, Any]]:
    world = ctx.world
    o = world.orders
    refunds = np.bincount(world.returns.line_return, weights=world.returns.refund, minlength=world.returns.size)
    orders, kinds = ev["order"].tolist(), ev["kind"].tolist()
    counter = (o.channel[ev["order"]] == S.POS).tolist()
    channel = o.channel[ev["order"]].tolist()
    large = (o.total[ev["order"]] > S.REVIEW_ABOVE_CENTS).tolist()
    carrier = world.carrier[ev["order"]].tolist()
    cancel = world.cancel_reason[ev["order"]].tolist()

    def actor(i: int) -> str:
        kind = kinds[i]
        if kind == EV_CREATED:
            return T.CHANNELS[channel[i]].created_by
        if kind in (EV_APPROVED, EV_CANCELLED, EV_RETURN):
            return "service"
        if counter[i]:
            return "clerk"
        return "warehouse" if kind in (EV_PICKING, EV_PACKED, EV_SHIPPED) else "system"

    def note(i: int, to: int, ref: int) -> str | None:
        kind = kinds[i]
        if kind == EV_CREATED:
            return {S.PENDING_REVIEW: REVIEW_NOTE if large[i] else "风控抽检", S.BACKORDERED: "缺货，等待到货"}.get(to)
        if kind == EV_SHIPPED:
            return "门店自提" if counter[i] else f"{CARRIERS[carrier[i]][0]} {tracking[orders[i] - start]}"
        if kind == EV_DELIVERED:
            return "顾客当面提货" if counter[i] else "快递已签收"
        if kind == EV_CANCELLED:
            return CANCEL_REASONS[cancel[i]]
        if kind == EV_RETURN:
            return f"退货 {ctx.rma[ref]} 已入库，退款 ¥{Decimal(int(refunds[ref])).scaleb(-2)}"
        return FIXED_NOTES[kind]

    at = _times(ev["at"])
    return [dict(order_id=ctx.order_id + orders[i], at=at[i], actor=actor(i),
                 from_status=STATUSES[frm] if frm >= 0 else None, to_status=STATUSES[to], note=note(i, to, ref))
            for i, (frm, to, ref) in enumerate(zip(ev["from"].tolist(), ev["to"].tolist(), ev["ref"].tolist(),
                                                   strict=True))]


def _write_returns(w: _Writer, ctx: _Context) -> None:
    """Closed returns with their lines: resellable goods were restocked, damaged ones not."""
    world = ctx.world
    r, lines, o = world.returns, world.lines, world.orders
    refund = np.bincount(r.line_return, weights=r.refund, minlength=r.size).astype(np.int64)
    w.insert(Return.__table__, _rows({
        "id": (ctx.return_id + np.arange(r.size)).tolist(), "number": ctx.rma,
        "order_id": (ctx.order_id + r.order).tolist(), "kind": ["return"] * r.size, "status": ["closed"] * r.size,
        "reason_code": [T.RETURN_REASONS[k][0] for k in r.reason.tolist()], "resolution": ["refund"] * r.size,
        "refund_amount": _money(refund), "note": [T.RETURN_REASONS[k][1] for k in r.reason.tolist()],
        "created_at": _times(r.created), "created_by": ["service"] * r.size, "closed_at": _times(r.closed),
    }), "returns")
    w.insert(ReturnLine.__table__, _rows({
        "return_id": (ctx.return_id + r.line_return).tolist(), "order_line_id": (ctx.line_id + r.line).tolist(),
        "qty": r.qty.tolist(), "condition": np.where(r.restocked > 0, "resellable", "damaged").tolist(),
        "restocked_qty": r.restocked.tolist(),
        "restocked_at": [at if k > 0 else None for at, k in zip(_times(r.closed[r.line_return]), r.restocked.tolist(),
                                                                 strict=True)],
        "warehouse_id": ctx.warehouses[o.warehouse[lines.order[r.line]]].tolist(), "refund_amount": _money(r.refund),
    }), "return lines")


def _write_stock(w: _Writer, ctx: _Context) -> None:
    """Stock levels per (product, warehouse) and the ledger that adds up to them."""
    st, n_wh = ctx.world.stock, len(S.WAREHOUSE_CODES)
    pairs = np.arange(len(st.on_hand))
    w.insert(StockLevel.__table__, _rows({
        "product_id": (ctx.product_id + pairs // n_wh).tolist(),
        "warehouse_id": ctx.warehouses[pairs % n_wh].tolist(), "on_hand": st.on_hand.tolist(),
        "reserved": st.reserved.tolist(), "safety_stock": st.safety.tolist(), "reorder_point": st.reorder.tolist(),
    }), "stock levels")
    ledger = st.ledger
    for first in range(0, ledger.size, CHUNK_ORDERS * 5):
        w.insert(StockMovement.__table__, _movement_rows(ctx, first, min(ledger.size, first + CHUNK_ORDERS * 5)),
                 "stock ledger")


def _movement_rows(ctx: _Context, first: int, last: int) -> list[dict[str, Any]]:
    ledger, n_wh = ctx.world.stock.ledger, len(S.WAREHOUSE_CODES)
    o = ctx.world.orders
    sl = slice(first, last)
    code, ref = ledger.code[sl].tolist(), ledger.ref[sl].tolist()
    counter = (o.channel[np.maximum(ledger.ref[sl], 0)] == S.POS).tolist()
    ref_type = {SHIPMENT: "order", RESTOCK: "return"}
    rows = _rows({
        "at": _times(ledger.at[sl]), "product_id": (ctx.product_id + ledger.pair[sl] // n_wh).tolist(),
        "warehouse_id": ctx.warehouses[ledger.pair[sl] % n_wh].tolist(), "qty_delta": ledger.delta[sl].tolist(),
        "kind": [MOVES[c][0] for c in code],
        "reason": [ctx.numbers[r] if c == SHIPMENT else ctx.rma[r] if c == RESTOCK else MOVES[c][1]
                   for c, r in zip(code, ref, strict=True)],
        "ref_type": [ref_type.get(c) for c in code],
        "ref_id": [ctx.order_id + r if c == SHIPMENT else ctx.return_id + r if c == RESTOCK else None
                   for c, r in zip(code, ref, strict=True)],
        "actor": ["system" if c == INITIAL else "clerk" if c == SHIPMENT and pos else "warehouse"
                  for c, pos in zip(code, counter, strict=True)],
    })
    return rows


def _write_purchase_orders(w: _Writer, ctx: _Context) -> int:
    """Purchases ordered but not yet arrived: open (sent) purchase orders, one per supplier,
    warehouse and order day, so "on order" is not zero on the buyer's screens."""
    world = ctx.world
    clock, cat, n_wh = world.clock, world.catalogue, len(S.WAREHOUSE_CODES)
    day, arrival, pair, qty = world.stock.in_transit
    product, wh = pair // n_wh, pair % n_wh
    key = (day * len(T.SUPPLIERS) + cat.supplier[product]) * n_wh + wh
    keys, po_of = np.unique(key, return_inverse=True)
    po_day = keys // (len(T.SUPPLIERS) * n_wh)
    first_arrival = np.full(len(keys), np.iinfo(np.int64).max)
    np.minimum.at(first_arrival, po_of, arrival)
    cost = np.array([r["unit_cost"] for r in cat.rows], dtype=np.int64)
    totals = np.bincount(po_of, weights=qty * cost[product], minlength=len(keys)).astype(np.int64)
    created = np.minimum(clock.to_utc(clock.start_local + po_day * S.DAY + 10 * 3600), clock.now_utc - 3600)
    base = ctx.sequences.get("PO", 0) + 1
    w.insert(PurchaseOrder.__table__, _rows({
        "id": (ctx.po_id + np.arange(len(keys))).tolist(),
        "number": [f"PO{ctx.day_labels[d]}-{base + i:06d}" for i, d in enumerate(po_day.tolist())],
        "supplier_id": (ctx.supplier_id + (keys // n_wh) % len(T.SUPPLIERS)).tolist(),
        "warehouse_id": ctx.warehouses[keys % n_wh].tolist(), "status": ["sent"] * len(keys),
        "created_at": _times(created), "sent_at": _times(created + 1800),
        "expected_at": _times(clock.to_utc(clock.start_local + first_arrival * S.DAY + 8 * 3600)),
        "total": _money(totals), "created_by": ["buyer"] * len(keys),
    }), "purchase orders")
    w.insert(POLine.__table__, _rows({
        "po_id": (ctx.po_id + po_of).tolist(), "product_id": (ctx.product_id + product).tolist(),
        "qty_ordered": qty.tolist(), "qty_received": [0] * len(qty), "unit_cost": _money(cost[product]),
    }), "purchase order lines")
    return len(keys)


def _write_alerts(w: _Writer, ctx: _Context) -> None:
    """One backorder alert per backordered order, as the order service raises on creation."""
    world = ctx.world
    o, lines, st = world.orders, world.lines, world.stock
    n_wh = len(S.WAREHOUSE_CODES)
    rows = []
    for k in np.flatnonzero(st.backordered).tolist():
        first, last = o.line_start[k], o.line_start[k + 1] if k + 1 < o.size else lines.size
        missing = []
        for ln in range(first, last):
            pair = lines.product[ln] * n_wh + o.warehouse[k]
            free = st.on_hand[pair] - st.reserved[pair]
            if free < lines.qty[ln]:
                missing.append(f"{world.catalogue.rows[lines.product[ln]]['sku']}: need {lines.qty[ln]}, "
                               f"{free} available in {S.WAREHOUSE_CODES[o.warehouse[k]]}")
        rows.append(dict(kind="backorder", severity="warning", entity="order", entity_id=ctx.numbers[k],
                         message="; ".join(missing), created_at=_times(o.placed[k:k + 1])[0]))
    w.insert(Alert.__table__, rows, "alerts")


def _write_users_and_audit(w: _Writer, ctx: _Context, hashes: dict[str, str], seed: int) -> None:
    now = _times(np.array([ctx.world.clock.now_utc]))[0]
    w.insert(User.__table__, [
        dict(username=role, display_name=T.DEMO_USERS[role], password_hash=hashes[role], role=role, active=True,
             created_at=now) for role in T.DEMO_USERS], "demo users")
    world = ctx.world
    w.insert(AuditLog.__table__, [dict(
        at=now, actor="system", action="demo.load", entity="database", entity_id=None, before=None,
        after={"seed": seed, "products": world.catalogue.size, "customers": world.customers.size,
               "orders": world.orders.size, "order_lines": world.lines.size,
               "movements": world.stock.ledger.size, "users": sorted(T.DEMO_USERS)},
    )], "audit log")


EXPLICIT_ID_TABLES = (Supplier, Product, Customer, Order, OrderLine, Return, PurchaseOrder)


def _resync_pg_sequences(conn: Connection) -> None:
    """Rows were inserted with explicit ids; move PostgreSQL's id sequences past them."""
    for model in EXPLICIT_ID_TABLES:
        name = model.__tablename__
        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                          f"COALESCE(MAX(id), 0) + 1, false) FROM {name}"))
