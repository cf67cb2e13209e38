"""Orders: create (validate → allocate → reserve → number → write), transitions, edits, reads.

The hot path uses Core statements, not ORM objects: an order is ~10 small statements, and the
ORM's unit-of-work bookkeeping would triple its cost (measured in docs/benchmarks.md).

Order of work inside ``create_order`` is deliberate:
1. every check that needs no lock (input, SKUs, channel, duplicates) — a bad order writes
   nothing and holds no lock;
2. stock reservation, one conditional UPDATE per line in (product, warehouse) order;
3. the document number and the inserts last, so the single hot ``sequences`` row is locked
   only for the last moments of the transaction (on PostgreSQL that row serialises writers).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import Connection, bindparam, func, insert, or_, select, update
from sqlalchemy.orm import Session

from core import audit, notify, pii, refdata, stock
from core.db import read_only, unit_of_work
from core.domain import rulebook
from core.domain.rulebook import (  # re-exported: pages, analytics and tests read them here
    DELIVERY_METHODS as DELIVERY_METHODS,
)
from core.domain.rulebook import (
    OPEN_STATUSES as OPEN_STATUSES,
)
from core.domain.rulebook import (
    PAYMENT_METHODS as PAYMENT_METHODS,
)
from core.domain.rulebook import (
    PAYMENT_STATUSES as PAYMENT_STATUSES,
)
from core.domain.rulebook import (
    STATUSES as STATUSES,
)
from core.errors import (
    Conflict,
    FieldIssue,
    IllegalTransition,
    InsufficientStock,
    NotFound,
    PackNotVerified,
    Refused,
    Shortage,
    StaleVersion,
    ValidationError,
)
from core.geo import normalise_province
from core.models import (
    Alert,
    Channel,
    Customer,
    Order,
    OrderEvent,
    OrderLine,
    PackScan,
    Product,
    StockLevel,
    Warehouse,
)
from core.numbering import next_number
from core.permissions import SYSTEM, Actor, require
from core.refdata import RefData, WarehouseRef
from core.rules import first_action, order_facts
from core.searchbox import search_text
from core.services import customers
from core.timeutil import utcnow

CENT = Decimal("0.01")

TRANSITIONS: dict[str, frozenset[str]] = {
    "pending_review": frozenset({"confirmed", "on_hold", "cancelled"}),
    "confirmed": frozenset({"picking", "on_hold", "cancelled"}),
    "picking": frozenset({"packed", "confirmed", "cancelled"}),
    "packed": frozenset({"shipped", "cancelled"}),
    "shipped": frozenset({"delivered"}),
    "delivered": frozenset({"completed"}),
    "completed": frozenset(),
    "on_hold": frozenset({"pending_review", "confirmed", "cancelled"}),
    "backordered": frozenset({"confirmed", "on_hold", "cancelled"}),
    "cancelled": frozenset(),
}

PERMISSION_FOR_TARGET = {
    "pending_review": "order.review",
    "confirmed": "order.review",
    "on_hold": "order.review",
    "picking": "order.fulfil",
    "packed": "order.fulfil",
    "shipped": "order.fulfil",
    "delivered": "order.deliver",
    "completed": "order.complete",
    "cancelled": "order.cancel",
}

TIMESTAMP_FOR_TARGET = {
    "confirmed": "approved_at",
    "shipped": "shipped_at",
    "delivered": "delivered_at",
    "completed": "completed_at",
    "cancelled": "cancelled_at",
}


@dataclass
class LineInput:
    sku: str
    qty: int
    unit_price: Decimal | None = None  # None → the product's list price
    discount: Decimal = Decimal("0")


@dataclass
class OrderInput:
    """Everything a form, an import or the CLI knows about a new order."""

    channel: str
    lines: list[LineInput]
    customer_name: str = ""
    phone: str | None = None
    email: str | None = None
    customer_id: int | None = None
    walk_in: bool = False  # a sale without a customer (POS receipt, imported anonymous sale)
    province: str | None = None
    city: str | None = None
    district: str | None = None
    address: str | None = None
    payment_method: str | None = None
    payment_status: str = "unpaid"
    delivery_method: str = "express"
    shipping_fee: Decimal = Decimal("0")
    discount: Decimal = Decimal("0")
    expected_total: Decimal | None = None
    warehouse: str | None = None
    external_ref: str | None = None
    note: str | None = None
    priority: int = 0
    allow_backorder: bool = False
    require_address: bool = True
    placed_at: dt.datetime | None = None


@dataclass(frozen=True)
class OrderResult:
    id: int
    number: str
    status: str
    total: Decimal
    warehouse: str
    customer_id: int | None  # None: a walk-in sale
    customer_created: bool
    backordered: bool
    review_rule: str | None = None
    shortages: tuple[Shortage, ...] = field(default_factory=tuple)
    split_to: tuple[str, ...] = ()  # other warehouses serving some lines when the order is split


# --- validation ------------------------------------------------------------------------------


def _validate_header(data: OrderInput) -> list[FieldIssue]:
    """The rulebook's header checks, plus what only order entry knows: lines and a customer."""
    issues: list[FieldIssue] = []
    if not data.lines:
        issues.append(FieldIssue("lines", "issue.no_lines"))
    header = {name: getattr(data, name) for name in (
        "payment_method", "payment_status", "delivery_method", "priority", "customer_name", "email",
        *rulebook.ADDRESS_FIELDS, "external_ref", "note", "placed_at")}
    issues += rulebook.validate_header(header, utcnow(), require_address=data.require_address)
    if data.customer_id is None and not data.walk_in:
        issues += customers.contact_issues(data.customer_name, data.phone, data.email, need_contact=True)
    return issues


# --- create ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _PricedLine:
    line_no: int
    product_id: int
    sku: str
    qty: int
    unit_price: Decimal
    discount: Decimal
    line_total: Decimal
    attributes: dict[str, Any]


# Statements of the hot path are built once; executing a prebuilt Core statement on the
# session's connection skips per-call statement construction and ORM dispatch.
_P, _S, _O = Product.__table__, StockLevel.__table__, Order.__table__
_PRODUCTS_BY_SKU = select(_P.c.id, _P.c.sku, _P.c.unit_price, _P.c.active, _P.c.attributes).where(
    _P.c.sku.in_(bindparam("skus", expanding=True)))
_AVAILABILITY = select(_S.c.warehouse_id, _S.c.product_id, (_S.c.on_hand - _S.c.reserved).label("available")).where(
    _S.c.product_id.in_(bindparam("pids", expanding=True)))
_DUPLICATE = select(_O.c.number).where(_O.c.channel_id == bindparam("ch"), _O.c.external_ref == bindparam("ref"))
# a merged profile's id (a page opened before the merge) stands for the surviving profile
_CUSTOMER_BY_ID = customers.resolved(*customers.SURVIVOR.c["id", "name", "phone", "tier"]).where(
    Customer.__table__.c.id == bindparam("cid"))
_INSERT_ORDER = insert(_O).returning(_O.c.id)
_INSERT_LINES = insert(OrderLine.__table__)
_INSERT_EVENT = insert(OrderEvent.__table__)
_INSERT_ALERT = insert(Alert.__table__)


def _price_lines(conn: Connection, data: OrderInput, issues: list[FieldIssue]) -> list[_PricedLine]:
    skus = sorted({(ln.sku or "").strip() for ln in data.lines})
    products = {r.sku: r for r in conn.execute(_PRODUCTS_BY_SKU, {"skus": skus})}
    priced: list[_PricedLine] = []
    for i, ln in enumerate(data.lines, start=1):
        sku = (ln.sku or "").strip()
        product = products.get(sku)
        if not sku:
            issues.append(FieldIssue("sku", "required", i))
        elif product is None:
            issues.append(FieldIssue("sku", f"unknown SKU {sku}", i, sku))
        elif not product.active:
            issues.append(FieldIssue("sku", f"SKU {sku} is discontinued", i, sku))
        price = ln.unit_price if ln.unit_price is not None else (product.unit_price if product else 0)
        qty, line_issues = rulebook.validate_line({"qty": ln.qty, "unit_price": price, "discount": ln.discount}, i)
        issues += line_issues
        if qty is None or line_issues:
            continue
        price = rulebook.parse_amount(price, "unit_price", issues, i)
        discount = rulebook.parse_amount(ln.discount, "discount", issues, i)
        if product is not None:
            priced.append(_PricedLine(i, product.id, sku, qty, price, discount, price * qty - discount,
                                      product.attributes or {}))
    return priced


def _choose_warehouse(
    conn: Connection, ref: RefData, data: OrderInput, lines: list[_PricedLine], facts: dict[str, Any],
    issues: list[FieldIssue],
) -> tuple[WarehouseRef | None, dict[int, WarehouseRef]]:
    """Rule, then availability, then cost: ``(warehouse, {product_id: other warehouse})``.

    Explicit warehouse, else the region's warehouse (allocation rules) if it can serve every
    line, else the cheapest active warehouse that can. When none can serve the whole order it
    is split (:func:`_split`); when even a split cannot, the region's warehouse is returned
    (→ refusal or backorder). The second element is empty unless the order is split.

    The availability read here only *chooses*; the conditional reservation decides.
    """
    if not ref.warehouses:
        issues.append(FieldIssue("warehouse", "no active warehouse is set up"))
        return None, {}
    if data.warehouse:
        wh = ref.warehouses.get(data.warehouse)
        if wh is None:
            issues.append(FieldIssue("warehouse", f"unknown or inactive warehouse {data.warehouse}",
                                     value=data.warehouse))
        return wh, {}
    preferred, _ = first_action(ref.rules["allocation"], facts, "warehouse")
    need: dict[int, int] = {}
    for ln in lines:
        need[ln.product_id] = need.get(ln.product_id, 0) + ln.qty
    avail = {(r.warehouse_id, r.product_id): r.available
             for r in conn.execute(_AVAILABILITY, {"pids": sorted(need)})}
    ranked = sorted(ref.warehouses.values(), key=lambda w: (w.code != preferred, w.ship_cost, w.code))
    for wh in ranked:
        if all(avail.get((wh.id, pid), 0) >= q for pid, q in need.items()):
            return wh, {}
    return _split(ranked, need, avail)


def _split(ranked: list[WarehouseRef], need: dict[int, int],
           avail: dict[tuple[int, int], int]) -> tuple[WarehouseRef, dict[int, WarehouseRef]]:
    """Serve the order from as few warehouses as possible: repeatedly take the warehouse that
    can serve the most of the remaining products (ties → rule/cost rank). A product is never
    split across warehouses (a line ships from one place). If some product cannot be served
    in full anywhere, no split: the region's warehouse takes it all (→ refusal or backorder)."""
    remaining = dict(need)
    chosen: dict[int, WarehouseRef] = {}
    primary: WarehouseRef | None = None  # the first pick serves the most products
    while remaining:
        options = [[pid for pid, q in remaining.items() if avail.get((w.id, pid), 0) >= q] for w in ranked]
        best = max(range(len(ranked)), key=lambda i: (len(options[i]), -i))
        if not options[best]:
            return ranked[0], {}
        primary = primary or ranked[best]
        for pid in options[best]:
            chosen[pid] = ranked[best]
            del remaining[pid]
    assert primary is not None
    return primary, {pid: wh for pid, wh in chosen.items() if wh is not primary}


def _totals(data: OrderInput, lines: list[_PricedLine], issues: list[FieldIssue]) -> tuple[Decimal, ...]:
    """(subtotal, order discount, shipping fee, total), checked against the stated total."""
    shipping_fee = rulebook.parse_amount(data.shipping_fee, "shipping_fee", issues)
    order_discount = rulebook.parse_amount(data.discount, "discount", issues)
    subtotal = sum((ln.line_total for ln in lines), Decimal("0.00"))
    total = subtotal - order_discount + shipping_fee
    if not issues and total < 0:
        issues.append(FieldIssue("discount", "order discount is larger than the order amount", value=order_discount))
    if not issues and total > rulebook.MAX_AMOUNT:
        issues.append(FieldIssue("total", "issue.at_most", value=total, params={"n": str(rulebook.MAX_AMOUNT)}))
    if data.expected_total is not None and not issues:
        expected = rulebook.parse_amount(data.expected_total, "total", issues)
        if expected != total:
            issues.append(FieldIssue(
                "total", f"totals do not add up: lines {subtotal} − discount {order_discount} + shipping "
                         f"{shipping_fee} = {total}, but the order says {expected}", value=expected))
    return subtotal, order_discount, shipping_fee, total


def _customer(conn: Connection, session: Session, data: OrderInput,
              province: str | None) -> customers.CustomerRef | None:
    """The order's customer; None for a walk-in sale (no customer at all, not a pseudo-customer
    that would hold every anonymous sale and spoil repeat rate, CLV and VIP rules)."""
    if data.walk_in and data.customer_id is None:
        return None
    if data.customer_id is not None:
        row = conn.execute(_CUSTOMER_BY_ID, {"cid": data.customer_id}).first()
        if row is None:
            raise ValidationError([FieldIssue("customer_id", f"no customer {data.customer_id}")])
        return customers.CustomerRef(row.id, "", row.name, row.phone, row.tier, False)
    return customers.find_or_create(
        session, name=data.customer_name, phone=data.phone, email=data.email, province=province,
        city=data.city, district=data.district, address=data.address,
    )


def _reserve_lines(
    session: Session, lines: list[_PricedLine], wh: WarehouseRef, split: dict[int, WarehouseRef]
) -> tuple[list[_PricedLine], list[Shortage]]:
    """Reserve every line in (product, warehouse, line) order so concurrent orders cannot
    deadlock (a product has one warehouse per order, so product order is that order)."""
    reserved: list[_PricedLine] = []
    shortages: list[Shortage] = []
    for ln in sorted(lines, key=lambda x: (x.product_id, x.line_no)):
        at = split.get(ln.product_id, wh)
        if stock.reserve(session, ln.product_id, at.id, ln.qty):
            reserved.append(ln)
        else:
            shortages.append(Shortage(ln.sku, at.code, ln.qty, stock.available(session, ln.product_id, at.id)))
    return reserved, shortages


@unit_of_work
def create_order(session: Session, data: OrderInput, actor: Actor) -> OrderResult:
    """Validate, allocate, reserve and store one order — all or nothing.

    Raises ValidationError (which field, which line, why), Conflict (the channel's external
    reference was imported before) or InsufficientStock (naming SKU, warehouse and what is
    available) unless ``allow_backorder`` is set, in which case the order is stored as
    ``backordered`` without reservations and an alert is raised.
    """
    require(actor, "order.create")
    conn = session.connection()
    ref = refdata.snapshot(session)
    issues = _validate_header(data)
    channel = ref.channels.get(data.channel)
    if channel is None:
        issues.append(FieldIssue("channel", f"unknown channel {data.channel}", value=data.channel))
    lines = _price_lines(conn, data, issues)
    subtotal, order_discount, shipping_fee, total = _totals(data, lines, issues)
    province = normalise_province(data.province)
    complete = all((province, (data.city or "").strip(), (data.district or "").strip(), (data.address or "").strip()))
    facts = order_facts(total=total, channel=data.channel, province=province, address_complete=complete,
                        delivery_method=data.delivery_method, lines=[(ln.qty, ln.attributes) for ln in lines])
    wh, split = _choose_warehouse(conn, ref, data, lines, facts, issues) if lines else (None, {})
    if issues:
        raise ValidationError(issues)
    assert channel is not None and wh is not None
    external_ref = rulebook.clean_ref(data.external_ref)
    if external_ref:
        dup = conn.execute(_DUPLICATE, {"ch": channel.id, "ref": external_ref}).scalar_one_or_none()
        if dup:
            raise Conflict(f"{data.channel} order {external_ref} already exists as {dup}",
                           external_ref=external_ref, number=dup)
    cust = _customer(conn, session, data, province)
    facts["customer_tier"] = cust.tier if cust is not None else "normal"
    status, rule = first_action(ref.rules["review"], facts, "status")
    status = status or "confirmed"
    priority_boost, _ = first_action(ref.rules["review"], facts, "priority")
    carrier, _ = first_action(ref.rules["carrier"], facts, "carrier")

    reserved, shortages = _reserve_lines(session, lines, wh, split)
    if shortages:
        if not data.allow_backorder:
            raise InsufficientStock(shortages)
        for ln in reserved:
            stock.release(session, ln.product_id, split.get(ln.product_id, wh).id, ln.qty)
        reserved = []
        status = "backordered"

    now = utcnow()
    placed_at = data.placed_at or now
    due_by = placed_at + dt.timedelta(hours=int(ref.setting("order_due", "hours", 48)))
    number = next_number(session, "SO")
    order_id = conn.execute(_INSERT_ORDER, dict(
        number=number, channel_id=channel.id, external_ref=external_ref, customer_id=cust.id if cust else None,
        status=status, payment_status=data.payment_status, payment_method=data.payment_method,
        delivery_method=data.delivery_method, ship_name=data.customer_name.strip() or (cust.name if cust else None),
        ship_phone=customers.normalise_phone(data.phone) or (cust.phone if cust else None), ship_province=province,
        ship_city=data.city, ship_district=data.district, ship_address=data.address, warehouse_id=wh.id,
        priority=data.priority + int(priority_boost or 0), subtotal=subtotal, discount=order_discount,
        shipping_fee=shipping_fee, total=total, placed_at=placed_at,
        approved_at=now if status == "confirmed" else None, cancelled_at=None, shipped_at=None,
        delivered_at=None, completed_at=None, due_by=due_by, carrier=carrier, tracking_no=None,
        note=data.note, created_by=actor.username, updated_at=now, version=1,
    )).scalar_one()
    reserved_nos = {ln.line_no for ln in reserved}
    conn.execute(_INSERT_LINES, [
        dict(order_id=order_id, line_no=ln.line_no, product_id=ln.product_id, qty=ln.qty,
             unit_price=ln.unit_price, discount=ln.discount, line_total=ln.line_total,
             warehouse_id=split.get(ln.product_id, wh).id, qty_reserved=ln.qty if ln.line_no in reserved_nos else 0, qty_shipped=0, qty_returned=0)
        for ln in lines
    ])
    note = f"rule: {rule.name}" if rule and status != "backordered" else None
    conn.execute(_INSERT_EVENT, dict(order_id=order_id, at=now, actor=actor.username, from_status=None,
                                     to_status=status, note=note))
    notify.queue(session, event="order.created", order_id=order_id,
                 phone=customers.normalise_phone(data.phone) or (cust.phone if cust else None), email=customers.normalise_email(data.email),
                 payload={"number": number, "status": status, "total": str(total)})
    audit.record(session, actor, "order.create", "order", number, after={
        "status": status, "total": total, "warehouse": wh.code, "channel": data.channel,
        "lines": [[ln.sku, ln.qty, ln.unit_price] for ln in lines],
        **({"split": {ln.sku: split[ln.product_id].code for ln in lines if ln.product_id in split}} if split else {}),
    })
    if status == "backordered":
        conn.execute(_INSERT_ALERT, dict(
            kind="backorder", severity="warning", entity="order", entity_id=number, created_at=now,
            acknowledged_by=None, acknowledged_at=None,
            message="; ".join(f"{s.sku}: need {s.requested}, {s.available} available in {s.warehouse}"
                              for s in shortages),
        ))
    return OrderResult(order_id, number, status, total, wh.code, cust.id if cust else None,
                       cust.created if cust else False,
                       status == "backordered", rule.name if rule else None, tuple(shortages),
                       tuple(sorted({w.code for w in split.values()})))


# --- transitions -----------------------------------------------------------------------------


def _load_for_update(session: Session, order_id: int) -> Any:
    row = session.execute(
        select(Order.id, Order.number, Order.status, Order.version, Order.warehouse_id, Order.ship_phone,
               Order.created_by)
        .where(Order.id == order_id)
    ).first()
    if row is None:
        raise NotFound(f"no order {order_id}", order_id=order_id)
    return row


def _bump(session: Session, order: Any, expected_version: int | None, values: dict[str, Any]) -> int:
    """Write ``values`` only if nobody changed the order since ``expected_version`` was read."""
    version = order.version if expected_version is None else expected_version
    result = session.execute(
        update(Order).where(Order.id == order.id, Order.version == version)
        .values(**values, version=Order.version + 1, updated_at=utcnow())
    )
    if result.rowcount != 1:
        raise StaleVersion(f"order {order.number} was changed by someone else; reload and try again",
                           number=order.number)
    return version + 1


def _lines(session: Session, order_id: int) -> list[Any]:
    return list(session.execute(
        select(OrderLine.id, OrderLine.product_id, OrderLine.warehouse_id, OrderLine.qty, OrderLine.qty_reserved,
               OrderLine.qty_shipped, Product.sku, Warehouse.code.label("warehouse"))
        .join(Product, Product.id == OrderLine.product_id)
        .join(Warehouse, Warehouse.id == OrderLine.warehouse_id)
        .where(OrderLine.order_id == order_id)
        .order_by(OrderLine.product_id, OrderLine.warehouse_id, OrderLine.id)
    ))


def _reserve_missing(session: Session, order_id: int) -> None:
    shortages = []
    for ln in _lines(session, order_id):
        missing = ln.qty - ln.qty_reserved - ln.qty_shipped
        if missing <= 0:
            continue
        if stock.reserve(session, ln.product_id, ln.warehouse_id, missing):
            session.execute(update(OrderLine).where(OrderLine.id == ln.id)
                            .values(qty_reserved=OrderLine.qty_reserved + missing))
        else:
            shortages.append(Shortage(ln.sku, ln.warehouse, missing,
                                      stock.available(session, ln.product_id, ln.warehouse_id)))
    if shortages:
        raise InsufficientStock(shortages)


def _release_all(session: Session, order_id: int) -> None:
    for ln in _lines(session, order_id):
        if ln.qty_reserved:
            stock.release(session, ln.product_id, ln.warehouse_id, ln.qty_reserved)
            session.execute(update(OrderLine).where(OrderLine.id == ln.id).values(qty_reserved=0))


def _ship_all(session: Session, order_id: int, number: str, actor: Actor) -> None:
    for ln in _lines(session, order_id):
        qty = ln.qty_reserved
        if ln.qty_shipped + qty != ln.qty:
            raise IllegalTransition(f"line {ln.sku} is not fully reserved; it cannot ship", sku=ln.sku)
        ok = stock.post_movement(
            session, product_id=ln.product_id, warehouse_id=ln.warehouse_id, qty_delta=-qty, kind="shipment",
            actor=actor.username, reason=number, ref_type="order", ref_id=order_id, consume_reserved=True,
        )
        if not ok:
            raise IllegalTransition(f"stock for {ln.sku} in {ln.warehouse} no longer matches its reservation",
                                    sku=ln.sku)
        session.execute(update(OrderLine).where(OrderLine.id == ln.id)
                        .values(qty_shipped=OrderLine.qty_shipped + qty, qty_reserved=0))


def packing_requires_scan(session: Session) -> bool:
    """The shop's ``packing.require_scan`` setting (on unless an admin turned it off for a shop
    without scanners): then an order becomes *packed* only through the pack bench."""
    return bool(refdata.snapshot(session).setting("packing", "require_scan", True))


def _check_pack_verified(session: Session, order: Order) -> None:
    """Refuse packing by hand while units are unscanned — skipping the scan is how wrong items
    leave the warehouse. The pack bench's last good scan passes this check by construction."""
    if not packing_requires_scan(session):
        return
    units = session.execute(select(func.coalesce(func.sum(OrderLine.qty), 0))
                            .where(OrderLine.order_id == order.id)).scalar_one()
    scanned = session.execute(select(func.coalesce(func.sum(PackScan.qty), 0))
                              .where(PackScan.order_id == order.id)).scalar_one()
    if scanned < units:
        raise PackNotVerified(f"order {order.number}: {scanned} of {units} units verified by scan; "
                              f"scan the rest at the pack bench", number=order.number, scanned=int(scanned),
                              units=int(units))


@unit_of_work
def transition(
    session: Session,
    order_id: int,
    to_status: str,
    actor: Actor,
    *,
    expected_version: int | None = None,
    note: str | None = None,
    carrier: str | None = None,
    tracking_no: str | None = None,
) -> int:
    """The one door through which an order changes status. Returns the new version.

    Checks the edge and the role, applies the stock side effects (confirm reserves what is
    missing, cancel releases, ship turns reservations into ledger shipments), writes the
    timeline event and the audit row.
    """
    if to_status not in PERMISSION_FOR_TARGET:  # unknown, or only set by the system (backordered)
        raise IllegalTransition(f"an order cannot be moved to {to_status!r}", to_status=to_status)
    require(actor, PERMISSION_FOR_TARGET[to_status])
    order = _load_for_update(session, order_id)
    if expected_version is not None and expected_version != order.version:
        raise StaleVersion(f"order {order.number} was changed by someone else; reload and try again",
                           number=order.number)
    if to_status not in TRANSITIONS[order.status]:
        raise IllegalTransition(f"order {order.number} cannot go from {order.status} to {to_status}",
                                number=order.number, from_status=order.status, to_status=to_status)
    if order.status == "pending_review" and to_status == "confirmed" and order.created_by == actor.username:
        raise Refused("rb.own_request", reference=order.number)  # a review is a second person's look
    if to_status == "packed":
        _check_pack_verified(session, order)
    values: dict[str, Any] = {"status": to_status}
    stamp = TIMESTAMP_FOR_TARGET.get(to_status)
    if stamp:
        values[stamp] = utcnow()
    if to_status == "shipped":
        if not (tracking_no or "").strip() and not _is_pickup(session, order_id):
            raise ValidationError([FieldIssue("tracking_no", "required to ship")])
        values.update(carrier=(carrier or "").strip() or None, tracking_no=(tracking_no or "").strip() or None)
    # Bump the version first: it locks the order row, so a concurrent change of the same
    # order fails here before touching stock (and stock rows are always locked after it).
    version = _bump(session, order, order.version, values)
    if to_status == "confirmed":
        _reserve_missing(session, order_id)
    elif to_status == "cancelled":
        _release_all(session, order_id)
    elif to_status == "shipped":
        _ship_all(session, order_id, order.number, actor)
    session.execute(insert(OrderEvent).values(order_id=order_id, at=utcnow(), actor=actor.username,
                                              from_status=order.status, to_status=to_status, note=note))
    if to_status in notify.CUSTOMER_VISIBLE_ORDER_STATUSES:
        notify.queue(session, event=f"order.{to_status}", order_id=order_id, phone=order.ship_phone,
                     payload={"number": order.number, "status": to_status, "carrier": values.get("carrier"),
                              "tracking_no": values.get("tracking_no")})
    audit.record(session, actor, f"order.{to_status}", "order", order.number,
                 before={"status": order.status, "version": order.version},
                 after={k: v for k, v in values.items()} | {"version": version})
    return version


def _is_pickup(session: Session, order_id: int) -> bool:
    return session.execute(select(Order.delivery_method).where(Order.id == order_id)).scalar_one() == "pickup"


EDITABLE_FIELDS = ("ship_name", "ship_phone", "ship_province", "ship_city", "ship_district", "ship_address",
                   "note", "priority", "payment_method", "delivery_method")


@unit_of_work
def update_order(session: Session, order_id: int, changes: dict[str, Any], actor: Actor,
                 *, expected_version: int) -> int:
    """Edit header fields with optimistic locking: a stale ``expected_version`` is refused.

    Every value passes the order rulebook (enums, widths, priority range). The payment status
    is not editable: it changes only through payment and refund actions, so nobody can mark an
    order paid or refunded by typing it in.
    """
    require(actor, "order.edit")
    if "payment_status" in changes:  # money moves only through payment and refund actions
        raise ValidationError([FieldIssue("payment_status", "rb.payment_status_locked",
                                          value=changes["payment_status"])])
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError([FieldIssue(f, "rb.not_editable") for f in sorted(unknown)])
    current = session.execute(select(Order).where(Order.id == order_id)).scalar_one_or_none()
    if current is None:
        raise NotFound(f"no order {order_id}", order_id=order_id)
    if current.status in ("shipped", "delivered", "completed", "cancelled"):
        raise IllegalTransition(f"order {current.number} is {current.status} and can no longer be edited",
                                number=current.number)
    if "ship_phone" in changes:
        changes["ship_phone"] = customers.normalise_phone(changes["ship_phone"])
    issues = rulebook.validate_header(changes, utcnow())
    if issues:
        raise ValidationError(issues)
    before = {k: getattr(current, k) for k in changes}
    version = _bump(session, current, expected_version, changes)
    session.execute(insert(OrderEvent).values(order_id=order_id, at=utcnow(), actor=actor.username,
                                              from_status=current.status, to_status=current.status,
                                              note="edited: " + ", ".join(sorted(changes))))
    audit.record(session, actor, "order.edit", "order", current.number, before=before, after=changes)
    return version


# --- reads -----------------------------------------------------------------------------------


SEARCH_COLUMNS = ["id", "number", "placed_at", "channel", "customer", "phone", "status", "payment_status",
                  "total", "warehouse", "external_ref"]


@read_only
def search_orders(
    session: Session,
    actor: Actor,
    query: str = "",
    *,
    statuses: list[str] | None = None,
    channels: list[str] | None = None,
    date_from: dt.datetime | None = None,
    date_to: dt.datetime | None = None,
    limit: int = 200,
) -> pd.DataFrame:
    """One box finds orders by number, phone, customer name or external reference.

    Values are bound parameters (never spliced into SQL), so any text is harmless.
    """
    require(actor, "order.view")
    stmt = (
        select(Order.id, Order.number, Order.placed_at, Channel.name.label("channel"),
               Customer.name.label("customer"), Order.ship_phone.label("phone"), Order.status,
               Order.payment_status, Order.total, Warehouse.code.label("warehouse"), Order.external_ref)
        .join(Channel, Channel.id == Order.channel_id)
        .outerjoin(Customer, Customer.id == Order.customer_id)
        .outerjoin(Warehouse, Warehouse.id == Order.warehouse_id)
    )
    q = search_text(query)
    if q:
        digits = customers.normalise_phone(q)
        conds = [Order.number == q.upper(), Order.number.contains(q.upper(), autoescape=True),
                 Order.external_ref == q, Customer.name.contains(q, autoescape=True)]
        if digits and len(digits) >= 4:
            conds += [Order.ship_phone.contains(digits, autoescape=True),
                      Customer.phone.contains(digits, autoescape=True)]
        stmt = stmt.where(or_(*conds))
    if statuses:
        stmt = stmt.where(Order.status.in_(statuses))
    if channels:
        stmt = stmt.where(Channel.code.in_(channels))
    if date_from:
        stmt = stmt.where(Order.placed_at >= date_from)
    if date_to:
        stmt = stmt.where(Order.placed_at < date_to)
    rows = session.execute(stmt.order_by(Order.placed_at.desc(), Order.id.desc()).limit(limit)).all()
    frame = pd.DataFrame(rows, columns=SEARCH_COLUMNS)
    return pii.mask_frame(frame, actor)  # phones masked for roles without customer.pii


@dataclass(frozen=True)
class OrderDetail:
    header: dict[str, Any]
    lines: pd.DataFrame
    events: pd.DataFrame
    allowed_transitions: tuple[str, ...]


@read_only
def order_detail(session: Session, order_id: int, actor: Actor) -> OrderDetail:
    """Header, lines (with reservations) and the timeline, plus what this actor may do next."""
    require(actor, "order.view")
    row = session.execute(
        select(Order, Channel.name.label("channel_name"), Customer.name.label("customer_name"),
               Customer.code.label("customer_code"), Warehouse.code.label("warehouse_code"))
        .join(Channel, Channel.id == Order.channel_id)
        .outerjoin(Customer, Customer.id == Order.customer_id)
        .outerjoin(Warehouse, Warehouse.id == Order.warehouse_id)
        .where(Order.id == order_id)
    ).first()
    if row is None:
        raise NotFound(f"no order {order_id}", order_id=order_id)
    o = row.Order
    header = {c.key: getattr(o, c.key) for c in Order.__table__.columns}
    header.update(channel=row.channel_name, customer=row.customer_name, customer_code=row.customer_code,
                  warehouse=row.warehouse_code)
    header = pii.mask_record(header, actor)  # ship phone/address masked for roles without customer.pii
    lines = pd.DataFrame(session.execute(
        select(OrderLine.line_no, Product.sku, Product.name, OrderLine.qty, OrderLine.unit_price,
               OrderLine.discount, OrderLine.line_total, Warehouse.code.label("warehouse"),
               OrderLine.qty_reserved, OrderLine.qty_shipped, OrderLine.qty_returned)
        .join(Product, Product.id == OrderLine.product_id)
        .outerjoin(Warehouse, Warehouse.id == OrderLine.warehouse_id)
        .where(OrderLine.order_id == order_id).order_by(OrderLine.line_no)
    ).all(), columns=["line_no", "sku", "name", "qty", "unit_price", "discount", "line_total", "warehouse",
                      "qty_reserved", "qty_shipped", "qty_returned"])
    events = pd.DataFrame(session.execute(
        select(OrderEvent.at, OrderEvent.actor, OrderEvent.from_status, OrderEvent.to_status, OrderEvent.note)
        .where(OrderEvent.order_id == order_id).order_by(OrderEvent.at, OrderEvent.id)
    ).all(), columns=["at", "actor", "from_status", "to_status", "note"])
    allowed = tuple(s for s in STATUSES if s in TRANSITIONS[o.status] and actor.can(PERMISSION_FOR_TARGET[s])
                    and not (s == "packed" and packing_requires_scan(session))
                    and not (o.status == "pending_review" and s == "confirmed" and o.created_by == actor.username))
    return OrderDetail(header, lines, events, allowed)


@read_only
def order_id_by_number(session: Session, number: str) -> int:
    oid = session.execute(select(Order.id).where(Order.number == number.strip().upper())).scalar_one_or_none()
    if oid is None:
        raise NotFound(f"no order {number}", number=number)
    return oid


# --- backorders ------------------------------------------------------------------------------


def reserve_backorders(session: Session, product_ids: list[int], warehouse_id: int, actor: Actor) -> list[str]:
    """Give newly arrived stock to waiting backorders: highest priority first, then oldest.

    Called inside the arrival's transaction (goods receipt, transfer in, return restock), so
    stock and the orders it releases commit together. Each order is confirmed only if *all* its
    lines can be reserved (a savepoint undoes a partial attempt); an order that cannot be
    served yet does not block a smaller one behind it. Returns the confirmed order numbers.
    """
    o, ol = Order.__table__, OrderLine.__table__
    waiting = session.execute(
        select(o.c.id, o.c.number).where(
            o.c.status == "backordered",
            o.c.id.in_(select(ol.c.order_id).where(ol.c.product_id.in_(product_ids),
                                                   ol.c.warehouse_id == warehouse_id)),
        ).order_by(o.c.priority.desc(), o.c.placed_at, o.c.id)
    ).all()
    confirmed: list[str] = []
    for order_id, number in waiting:
        try:
            with session.begin_nested():
                # The release is the system's rule, not the receiving clerk's decision (a
                # warehouse role may not confirm orders), so it runs as SYSTEM and says who
                # brought the stock in.
                transition(order_id, "confirmed", SYSTEM, note=f"stock arrived ({actor.username})",
                           session=session)
        except InsufficientStock:
            continue
        confirmed.append(number)
    return confirmed
