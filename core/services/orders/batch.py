"""Many new orders in one transaction — the burst path (a 双11 channel export of open orders).

:func:`create_orders` gives every order exactly what :func:`core.services.orders.create_order`
would give it had the orders been entered one by one in the given order — the same checks and
refusals, warehouse, reservations or backorder, review/carrier/gift rules, numbering order,
rows (order, lines, kit lines, payment, event, notification and webhook outbox, audit, alert) —
but does the work set-wise: products, kits, customers and duplicates read once for the batch,
rows written with multi-row inserts, and **one conditional UPDATE per stock row** instead of one
per line. It reuses create_order's own steps (``entry.price_lines``, ``allocate_lines``,
``review``, the row builders), so the two paths cannot drift apart.

First come, first served: the stock each order gets is decided by replaying the orders in
their given order against the free stock read at the start (:func:`_plan`) — the same
decisions, in the same order, that create_order's conditional UPDATEs would have made against
the database. Then each stock row gets the planned total at once:
``reserved = reserved + n WHERE on_hand - reserved >= n``, rows in (product, warehouse) order
(the lock order of every stock writer, core.stock). If one of them matches no row, another
writer took stock between the read and the update (PostgreSQL: order entry does not wait for
an import). The updates are rolled back to a savepoint and the plan is made again on figures
read with the rows locked (``SELECT … FOR UPDATE`` in the same order) — then nobody can take
them any more. On SQLite, ``BEGIN IMMEDIATE`` holds the only write lock from the start. The
guard in the UPDATE stays either way: no path here can oversell.

Refusals are decided before anything is written: in ``quarantine`` mode a refused order is
left out alone and returned as its error (the import reports it), otherwise the first refusal
in order raises — as the first failing create_order would — and the caller's transaction
writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Table, and_, bindparam, insert, select, update
from sqlalchemy.orm import Session

from core import audit, kits, notify, refdata
from core.db import unit_of_work
from core.domain import rulebook
from core.domain.totals import OrderTotals
from core.errors import (
    Conflict,
    FieldIssue,
    InsufficientStock,
    Message,
    OMSError,
    Shortage,
    ValidationError,
)
from core.events import wanted
from core.importing.bulk import Same, insert_columns
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
    StockLevel,
)
from core.models.personal import ADDRESS_PARTS, INDEXES, plain
from core.numbering import number_of, reserve_values
from core.permissions import Actor, require
from core.refdata import ChannelRef, RefData, WarehouseRef
from core.rules import RuleSpec
from core.services import customers, payments, webhook_events
from core.services.orders import entry, gifts
from core.services.orders.entry import OrderInput, OrderResult
from core.timeutil import utcnow

CHUNK = 2000  # values per IN list (products, customers, references, numbers)
_P, _S, _O = entry._P, StockLevel.__table__, Order.__table__
_C = Customer.__table__
_CUSTOMERS = customers.resolved(
    _C.c.id.label("asked"), customers.SURVIVOR.c.id, plain(customers.SURVIVOR.c.name).label("name"),
    customers.SURVIVOR.c.phone, customers.SURVIVOR.c.tier).where(_C.c.id.in_(bindparam("ids", expanding=True)))
_EXISTING = select(_O.c.channel_id, _O.c.external_ref, _O.c.number).where(
    _O.c.external_ref.in_(bindparam("refs", expanding=True)))
_FREE = select(_S.c.warehouse_id, _S.c.product_id, (_S.c.on_hand - _S.c.reserved).label("free")).where(
    _S.c.product_id.in_(bindparam("pids", expanding=True))).order_by(_S.c.product_id, _S.c.warehouse_id)
_TAKE = update(_S).where(
    and_(_S.c.product_id == bindparam("p"), _S.c.warehouse_id == bindparam("w"),
         _S.c.on_hand - _S.c.reserved >= bindparam("n"))).values(reserved=_S.c.reserved + bindparam("n"))
_IDS = select(_O.c.number, _O.c.id).where(_O.c.number.in_(bindparam("numbers", expanding=True)))
_INSERT_KIT_LINES = insert(OrderKitLine.__table__).returning(OrderKitLine.__table__.c.id, sort_by_parameter_order=True)

Free = dict[tuple[int, int], int]  # (warehouse id, product id) → units free to reserve
Progress = Callable[[float], None]


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    return (values[i:i + CHUNK] for i in range(0, len(values), CHUNK))


@dataclass
class _Draft:
    """One order on its way: what the checks found, then what the plan gave it."""

    data: OrderInput
    issues: list[FieldIssue]
    channel: ChannelRef | None
    lines: list[Any]  # entry._PricedLine: stock lines, kits expanded
    kit_lines: list[Any]
    amounts: OrderTotals
    facts: dict[str, Any]  # as allocation sees them (no customer tier yet, as in create_order)
    province: str | None
    given: tuple[bool, WarehouseRef | None]
    external_ref: str | None
    error: OMSError | None = None
    cust: customers.CustomerRef | None = None
    rule_facts: dict[str, Any] = field(default_factory=dict)  # with the tier: review and gift rules
    reviewed: str = "confirmed"  # the status the review rules give it
    rule: RuleSpec | None = None
    boost: Any = None
    carrier: Any = None
    # the plan (made again when stock moved meanwhile)
    status: str = "confirmed"  # reviewed, or backordered
    wh: WarehouseRef | None = None
    split: dict[int, WarehouseRef] = field(default_factory=dict)
    reserved: list[Any] = field(default_factory=list)
    shortages: list[Shortage] = field(default_factory=list)
    gift_lines: list[gifts.GiftLine] = field(default_factory=list)
    gifts_skipped: list[Message] = field(default_factory=list)
    repeats: _Draft | None = None  # an earlier order of this batch with the same reference
    number: str = ""
    order_id: int = 0

    @property
    def warehouse(self) -> WarehouseRef:
        """The planned warehouse (every order that is written has one)."""
        assert self.wh is not None, "written before it was planned"
        return self.wh


@unit_of_work
def create_orders(session: Session, inputs: Sequence[OrderInput], actor: Actor, *, quarantine: bool = False,
                  progress: Progress | None = None) -> list[OrderResult | OMSError]:
    """Create ``inputs`` as one by one :func:`create_order` calls in this order would (see the
    module docstring); one result per input, in order: the order, or — in ``quarantine`` mode
    only — the refusal (ValidationError, Conflict, InsufficientStock) that left it out."""
    require(actor, "order.create")
    report = progress or (lambda _f: None)
    if not inputs:
        return []
    conn = session.connection()
    ref = refdata.snapshot(session)
    gift_skus = sorted({str(r.action.get(k) or "").strip() for r in ref.rules.get("gift", [])
                        for k in ("gift", "fallback")} - {""})
    products = _products(conn, sorted({(ln.sku or "").strip() for d in inputs for ln in d.lines} | set(gift_skus)))
    components = kits.components_of(session, {p.id for p in products.values()} & ref.kits) if ref.kits else {}
    drafts = [_draft(data, ref, products, components) for data in inputs]
    report(0.2)
    _existing(conn, drafts)
    _customers(session, conn, drafts)
    for d in drafts:
        if d.error is None:
            d.rule_facts = dict(d.facts)
            d.reviewed, d.rule, d.boost, d.carrier = entry.review(ref, d.rule_facts, d.cust)
    gift_ids = {sku: products[sku].id for sku in gift_skus if sku in products and products[sku].active}
    _reserve(session, drafts, ref, gift_ids)
    report(0.5)
    for d in drafts:
        if d.repeats is not None:
            d.error = entry.duplicate(d.data, d.external_ref or "", d.repeats.number or "")
    first = next((d.error for d in drafts if d.error is not None), None)
    if first is not None and not quarantine:
        raise first
    made = [d for d in drafts if d.error is None]
    _number(session, made, drafts)
    _write(session, ref, made, actor)
    report(1.0)
    return [d.error if d.error is not None else _result(d) for d in drafts]


# --- checks (no writes, no locks) --------------------------------------------------------------


def _products(conn: Connection, skus: list[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for part in _chunks(skus):
        found.update((r.sku, r) for r in conn.execute(entry._PRODUCTS_BY_SKU, {"skus": list(part)}))
    return found


def _draft(data: OrderInput, ref: RefData, products: dict[str, Any], components: dict[int, Any]) -> _Draft:
    """create_order's checks up to the warehouse choice, on what was read for the batch."""
    issues = entry._validate_header(data)
    channel = ref.channels.get(data.channel)
    if channel is None:
        issues.append(FieldIssue("channel", "issue.unknown_value", value=data.channel, params={"value": data.channel}))
    lines, kit_lines = entry.expand_kits(entry.price_lines(data, products, issues), components, issues)
    amounts = entry._totals(data, lines, issues)
    facts, province = entry.facts_of(data, lines, kit_lines, amounts.total)
    given = entry.given_warehouse(ref, data, issues) if lines else (True, None)
    d = _Draft(data, issues, channel, lines, kit_lines, amounts, facts, province, given,
               rulebook.clean_ref(data.external_ref))
    if issues:
        d.error = ValidationError(issues)
    return d


def _existing(conn: Connection, drafts: list[_Draft]) -> None:
    """Refuse orders whose channel reference is stored already (create_order's Conflict)."""
    asked = [d for d in drafts if d.error is None and d.external_ref]
    stored: dict[tuple[int, str], str] = {}
    for part in _chunks(sorted({d.external_ref for d in asked if d.external_ref})):
        stored.update(((r.channel_id, r.external_ref), r.number) for r in conn.execute(_EXISTING, {"refs": list(part)}))
    for d in asked:
        assert d.channel is not None and d.external_ref is not None
        number = stored.get((d.channel.id, d.external_ref))
        if number:
            d.error = entry.duplicate(d.data, d.external_ref, number)


def _customers(session: Session, conn: Connection, drafts: list[_Draft]) -> None:
    """Each order's customer: profiles named by id read at once (a merged profile stands for
    its survivor, as in create_order); the rare order naming neither an id nor a walk-in sale
    through ``customers.find_or_create``, in order."""
    ids = sorted({d.data.customer_id for d in drafts if d.error is None and d.data.customer_id is not None})
    known: dict[int, customers.CustomerRef] = {}
    for part in _chunks(ids):
        known.update((r.asked, customers.CustomerRef(r.id, "", r.name, r.phone, r.tier, False))
                     for r in conn.execute(_CUSTOMERS, {"ids": list(part)}))
    for d in drafts:
        if d.error is not None or (d.data.walk_in and d.data.customer_id is None):
            continue
        if d.data.customer_id is None:
            d.cust = entry._customer(conn, session, d.data, d.province)
        elif d.data.customer_id in known:
            d.cust = known[d.data.customer_id]
        else:
            d.error = ValidationError([FieldIssue("customer_id", "issue.unknown_value",
                                                  params={"value": d.data.customer_id})])


# --- stock: plan in order, then one conditional UPDATE per row ---------------------------------


class _StockMoved(Exception):
    """A planned reservation found less stock than was read: another writer took it."""


def _reserve(session: Session, drafts: list[_Draft], ref: RefData, gift_ids: dict[str, int]) -> None:
    """Plan on the free stock as read, apply; if another writer took stock in between, plan
    again on rows locked in the stock lock order (see the module docstring)."""
    pids = sorted({ln.product_id for d in drafts if d.error is None for ln in d.lines} | set(gift_ids.values()))
    for locked in (False, True):
        taken = _plan(drafts, ref, _free(session.connection(), pids, locked), gift_ids)
        try:
            with session.begin_nested():
                _apply(session.connection(), taken)
            return
        except _StockMoved:
            continue
    raise Conflict.coded("cc.batch_stock_moved")


def _free(conn: Connection, pids: list[int], locked: bool) -> Free:
    stmt = _FREE.with_for_update() if locked else _FREE
    free: Free = {}
    for part in _chunks(pids):
        free.update(((r.warehouse_id, r.product_id), r.free) for r in conn.execute(stmt, {"pids": list(part)}))
    return free


def _plan(drafts: list[_Draft], ref: RefData, free: Free, gift_ids: dict[str, int]) -> dict[tuple[int, int], int]:
    """Replay create_order's warehouse choice, reservations (lines in product order, then
    gifts) and backorders order by order on ``free``; the units taken per (product, warehouse)."""
    taken: dict[tuple[int, int], int] = {}

    def take(product_id: int, warehouse_id: int, qty: int) -> bool:
        if free.get((warehouse_id, product_id), 0) < qty:
            return False
        free[(warehouse_id, product_id)] -= qty
        taken[(product_id, warehouse_id)] = taken.get((product_id, warehouse_id), 0) + qty
        return True

    def give_back(lines: list[Any], wh: WarehouseRef, split: dict[int, WarehouseRef]) -> None:
        for ln in lines:
            w = split.get(ln.product_id, wh).id
            free[(w, ln.product_id)] += ln.qty
            taken[(ln.product_id, w)] -= ln.qty

    created: dict[tuple[int, str], _Draft] = {}
    for d in drafts:
        if isinstance(d.error, InsufficientStock):  # refused by a plan made on other figures
            d.error = None
        d.repeats, d.reserved, d.shortages, d.gift_lines, d.gifts_skipped = None, [], [], [], []
        if d.error is not None:
            continue
        assert d.channel is not None
        key = (d.channel.id, d.external_ref or "")
        if d.external_ref and key in created:
            d.repeats = created[key]
            continue
        decided, given = d.given
        d.wh, d.split = (given, {}) if decided else entry.allocate_lines(ref, d.lines, d.facts, free)
        wh = d.wh
        assert wh is not None
        status = d.reviewed
        for ln in sorted(d.lines, key=lambda x: (x.product_id, x.line_no)):
            at = d.split.get(ln.product_id, wh)
            if take(ln.product_id, at.id, ln.qty):
                d.reserved.append(ln)
            else:
                d.shortages.append(Shortage(ln.sku, at.code, ln.qty, free.get((at.id, ln.product_id), 0)))
        if d.shortages:
            give_back(d.reserved, wh, d.split)
            d.reserved = []
            if not d.data.allow_backorder:
                d.error = InsufficientStock(d.shortages)
                continue
            status = "backordered"
        if status != "backordered":
            def take_here(product_id: int, qty: int, warehouse_id: int = wh.id) -> bool:
                return take(product_id, warehouse_id, qty)

            d.gift_lines, d.gifts_skipped = gifts.take_gifts(gifts.earned(ref, d.rule_facts), gift_ids, take_here)
        else:
            d.gifts_skipped = [Message("note.gift_backordered", {"rule": o.rule})
                               for o in gifts.earned(ref, d.rule_facts)]
        d.status = status
        if d.external_ref:
            created[key] = d
    return taken


def _apply(conn: Connection, taken: dict[tuple[int, int], int]) -> None:
    """One guarded UPDATE per stock row, in (product, warehouse) order; _StockMoved when a row
    no longer has the units (the caller's savepoint then undoes the others)."""
    params = [{"p": p, "w": w, "n": n} for (p, w), n in sorted(taken.items()) if n > 0]
    if not params:
        return
    if conn.dialect.supports_sane_multi_rowcount:
        if conn.execute(_TAKE, params).rowcount != len(params):
            raise _StockMoved
        return
    for p in params:
        if conn.execute(_TAKE, p).rowcount != 1:
            raise _StockMoved


# --- writes ----------------------------------------------------------------------------------


def _number(session: Session, made: list[_Draft], drafts: list[_Draft]) -> None:
    """Numbers from one reservation of the ``SO`` counter, ascending in the given order (as
    one create_order after the other would have drawn them)."""
    for d, value in zip(made, reserve_values(session, "SO", len(made)), strict=True):
        d.number = number_of("SO", value)


def _insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """``rows`` (dicts with the same keys) as one bulk insert (core.importing.bulk); a column
    holding one object on every row (the time, the user) is converted once (``Same``)."""
    if not rows:
        return
    derived = {*ADDRESS_PARTS, *INDEXES.get(table.name, {})}  # the sources of blind indexes stay lists
    columns: dict[str, Any] = {}
    for name in rows[0]:
        values = [r[name] for r in rows]
        first = values[0]
        columns[name] = Same(first) if name not in derived and all(v is first for v in values) else values
    if all(isinstance(v, Same) for v in columns.values()):  # one row: nothing to tell the count by
        columns = {name: [v.value] for name, v in columns.items()}
    insert_columns(conn, table, columns)


def _write(session: Session, ref: RefData, made: list[_Draft], actor: Actor) -> None:
    """create_order's rows for every order, table by table."""
    if not made:
        return
    conn = session.connection()
    now = utcnow()
    user = actor.username
    placed = [d.data.placed_at or now for d in made]
    _insert(conn, _O, [{"number": d.number, **entry.order_row(
        d.data, ref, channel_id=d.channel.id if d.channel else 0, external_ref=d.external_ref,
        cust=d.cust, status=d.status, province=d.province, wh=d.warehouse, priority_boost=d.boost, amounts=d.amounts,
        carrier=d.carrier, placed_at=at, now=now, username=user)} for d, at in zip(made, placed, strict=True)])
    ids: dict[str, int] = {}
    for part in _chunks([d.number for d in made]):
        ids.update((r.number, r.id) for r in conn.execute(_IDS, {"numbers": list(part)}))
    for d in made:
        d.order_id = ids[d.number]
    with_kits = [d for d in made if d.kit_lines]
    kit_rows = [entry.kit_row(d.order_id, k) for d in with_kits for k in d.kit_lines]
    kit_ids = iter(conn.execute(_INSERT_KIT_LINES, kit_rows).scalars().all() if kit_rows else [])
    kit_id_of = {d.order_id: {k.line_no: next(kit_ids) for k in d.kit_lines} for d in with_kits}
    _insert(conn, OrderLine.__table__, [
        row for d in made
        for row in entry.line_rows(d.order_id, d.lines, d.kit_lines, d.amounts.shares, d.reserved, d.warehouse, d.split,
                                   kit_id_of.get(d.order_id, {}), d.gift_lines)])
    _insert(conn, Payment.__table__, [row for d, at in zip(made, placed, strict=True) if (row := payments.entry_payment_row(
        order_id=d.order_id, stated=d.data.payment_status, total=d.amounts.total, method=d.data.payment_method,
        provider_ref=rulebook.clean_ref(d.data.payment_ref), at=at, created_by=user)) is not None])
    _insert(conn, OrderEvent.__table__, [entry.event_row(d.order_id, now, user, d.status, d.rule, d.gifts_skipped)
                                         for d in made])
    _insert(conn, Notification.__table__, [
        row for d in made for row in notify.rows(event="order.created", order_id=d.order_id,
                                                 **entry.recipients(d.data, d.cust),
                                                 payload=entry.notice(d.number, d.status, d.amounts.total), now=now)])
    _publish(session, ref, made)
    _insert(conn, AuditLog.__table__, [audit.row(actor, "order.create", "order", d.number, after=entry.audit_after(
        d.data, d.status, d.amounts.total, d.warehouse, d.lines, d.kit_lines, d.gift_lines, d.gifts_skipped, d.split),
        at=now) for d in made])
    _insert(conn, Alert.__table__, [entry.backorder_alert(d.number, d.shortages, now)
                                    for d in made if d.status == "backordered"])


def _publish(session: Session, ref: RefData, made: list[_Draft]) -> None:
    """The webhook outbox as create_order fills it, only for channels somebody subscribed to
    (the usual shop has none: then nothing is read at all)."""
    for d in made:
        assert d.channel is not None
        channel = d.channel.id
        if wanted(session, "order.created", channel_id=channel, ref=ref):
            webhook_events.publish_order(session, "order.created", d.order_id, channel, ref=ref)
        if d.status == "confirmed" and wanted(session, "order.confirmed", channel_id=channel, ref=ref):
            webhook_events.publish_order(session, "order.confirmed", d.order_id, channel, ref=ref)


def _result(d: _Draft) -> OrderResult:
    return OrderResult(d.order_id, d.number, d.status, d.amounts.total, d.warehouse.code, d.cust.id if d.cust else None,
                       d.cust.created if d.cust else False, d.status == "backordered",
                       d.rule.name if d.rule else None, tuple(d.shortages),
                       tuple(sorted({w.code for w in d.split.values()})), tuple(g.sku for g in d.gift_lines),
                       tuple(m.english() for m in d.gifts_skipped))
