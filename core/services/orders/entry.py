"""Order entry: validate → allocate → reserve → number → write, in one transaction.

The hot path uses Core statements, not ORM objects: an order is ~10 small statements, and the
ORM's unit-of-work bookkeeping would triple its cost (measured in docs/benchmarks.md).

Order of work inside ``create_order`` is deliberate:
1. every check that needs no lock (input, SKUs, channel, duplicates) — a bad order writes
   nothing and holds no lock;
2. stock reservation, one conditional UPDATE per line in (product, warehouse) order — a kit
   line has become its component lines by then (:func:`_expand_kits`), so kits and single
   components meet on the same rows in the same order;
3. the document number and the inserts last, so the single hot ``sequences`` row is locked
   only for the last moments of the transaction (on PostgreSQL that row serialises writers).

"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select
from sqlalchemy.orm import Session

from core import audit, datakeys, kits, notify, refdata, stock
from core.db import unit_of_work
from core.domain import allocation, rulebook, totals
from core.domain.kits import Component, component_lines
from core.domain.rules import RuleSpec, first_action, order_facts
from core.errors import (
    Conflict,
    FieldIssue,
    InsufficientStock,
    Message,
    Shortage,
    ValidationError,
    stored,
)
from core.geo import normalise_province
from core.models import (
    Alert,
    Customer,
    Order,
    OrderEvent,
    OrderKitLine,
    OrderLine,
    Product,
    StockLevel,
)
from core.models.personal import plain
from core.numbering import NUMBER_DIGITS, NumberedInsert, number_prefix
from core.permissions import Actor, require
from core.refdata import RefData, WarehouseRef
from core.services import customers, payments, webhook_events
from core.services.orders import gifts
from core.timeutil import utcnow

CENT = Decimal("0.01")


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
    payment_ref: str | None = None  # the provider's transaction number of a paid order (settlement matching)
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
    gifts: tuple[str, ...] = ()  # gift SKUs added by gift rules (core.domain.gifts)
    gifts_skipped: tuple[str, ...] = ()  # gifts earned but out of stock, fallback included


# --- validation ------------------------------------------------------------------------------


def _validate_header(data: OrderInput) -> list[FieldIssue]:
    """The rulebook's header checks, plus what only order entry knows: lines and a customer."""
    issues: list[FieldIssue] = []
    if not data.lines:
        issues.append(FieldIssue("lines", "issue.no_lines"))
    header = {name: getattr(data, name) for name in (
        "payment_method", "payment_status", "payment_ref", "delivery_method", "priority", "customer_name", "email",
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
    kit_no: int | None = None  # the line_no of the kit line this component line belongs to


# Statements of the hot path are built once; executing a prebuilt Core statement on the
# session's connection skips per-call statement construction and ORM dispatch.
_P, _S, _O = Product.__table__, StockLevel.__table__, Order.__table__
# the products and their availability in one read: one row per product × stocked warehouse
# (warehouse_id NULL for a product stocked nowhere) — one round trip less per order
_PRODUCTS_BY_SKU = select(
    _P.c.id, _P.c.sku, _P.c.unit_price, _P.c.active, _P.c.attributes, _S.c.warehouse_id,
    (_S.c.on_hand - _S.c.reserved).label("available"),
).select_from(_P.outerjoin(_S, _S.c.product_id == _P.c.id)).where(_P.c.sku.in_(bindparam("skus", expanding=True)))
_AVAILABILITY = select(_S.c.product_id, _S.c.warehouse_id, (_S.c.on_hand - _S.c.reserved).label("available")).where(
    _S.c.product_id.in_(bindparam("pids", expanding=True)))
_DUPLICATE = select(_O.c.number).where(_O.c.channel_id == bindparam("ch"), _O.c.external_ref == bindparam("ref"))
# a merged profile's id (a page opened before the merge) stands for the surviving profile
_CUSTOMER_BY_ID = customers.resolved(
    customers.SURVIVOR.c.id, plain(customers.SURVIVOR.c.name).label("name"), customers.SURVIVOR.c.phone,
    customers.SURVIVOR.c.tier).where(Customer.__table__.c.id == bindparam("cid"))
_INSERT_ORDER = NumberedInsert(insert(_O).returning(_O.c.id, _O.c.number), _O.c.number, "SO", NUMBER_DIGITS)
_INSERT_LINES = insert(OrderLine.__table__)
_INSERT_KIT_LINE = insert(OrderKitLine.__table__).returning(OrderKitLine.__table__.c.id)
_INSERT_EVENT = insert(OrderEvent.__table__)
_INSERT_ALERT = insert(Alert.__table__)


@dataclass
class _Availability:
    """Units available per ``(warehouse id, product id)``, read with the products; ``known`` are
    the products whose every stock row is in it (a kit's components are read later)."""

    units: dict[tuple[int, int], int] = field(default_factory=dict)
    known: set[int] = field(default_factory=set)

    def add(self, rows: Iterable[tuple[int, int | None, int | None]]) -> None:
        """Take ``(product id, warehouse id, available)`` rows (warehouse None: stocked nowhere)."""
        for product_id, warehouse_id, available in rows:
            self.known.add(product_id)
            if warehouse_id is not None:
                self.units[(warehouse_id, product_id)] = int(available or 0)


def _price_lines(conn: Connection, data: OrderInput, issues: list[FieldIssue],
                 avail: _Availability) -> list[_PricedLine]:
    """Each line with its price (the product's list price unless given), checked by the
    rulebook; line totals by :func:`core.domain.totals.line_total`. The products' availability
    read with them goes into ``avail``."""
    skus = sorted({(ln.sku or "").strip() for ln in data.lines})
    rows = conn.execute(_PRODUCTS_BY_SKU, {"skus": skus}).all()
    avail.add((r.id, r.warehouse_id, r.available) for r in rows)
    return price_lines(data, {r.sku: r for r in rows}, issues)


def price_lines(data: OrderInput, products: dict[str, Any], issues: list[FieldIssue]) -> list[_PricedLine]:
    """:func:`_price_lines` on products already read (rows of ``_PRODUCTS_BY_SKU`` by SKU): the
    batch path (:mod:`core.services.orders.batch`) reads them once for many orders."""
    priced: list[_PricedLine] = []
    for i, ln in enumerate(data.lines, start=1):
        sku = (ln.sku or "").strip()
        product = products.get(sku)
        if not sku:
            issues.append(FieldIssue("sku", "issue.required", i))
        elif product is None:
            issues.append(FieldIssue("sku", "issue.unknown_sku", i, sku, params={"sku": sku}))
        elif not product.active:
            issues.append(FieldIssue("sku", "issue.discontinued", i, sku, params={"sku": sku}))
        price = ln.unit_price if ln.unit_price is not None else (product.unit_price if product else 0)
        qty, line_issues = rulebook.validate_line({"qty": ln.qty, "unit_price": price, "discount": ln.discount}, i)
        issues += line_issues
        if qty is None or line_issues:
            continue
        price = rulebook.parse_amount(price, "unit_price", issues, i)
        discount = rulebook.parse_amount(ln.discount, "discount", issues, i)
        if product is not None:
            priced.append(_PricedLine(i, product.id, sku, qty, price, discount,
                                      totals.line_total(qty, price, discount), product.attributes or {}))
    return priced


def _expand_kits(session: Session, ref: RefData, priced: list[_PricedLine],
                 issues: list[FieldIssue]) -> tuple[list[_PricedLine], list[_PricedLine]]:
    """``(stock lines, kit lines)``: each kit line replaced by its component lines (numbered
    right after it, carrying its amount — :func:`core.domain.kits.component_lines`); the kit
    lines are kept apart as what the customer bought. Without kits the lines come back as
    they are, without a query (the snapshot knows which products are kits)."""
    ids = {ln.product_id for ln in priced}
    return expand_kits(priced, kits.components_of(session, ids & ref.kits) if ids & ref.kits else {}, issues)


def expand_kits(priced: list[_PricedLine], found: dict[int, list[Component]],
                issues: list[FieldIssue]) -> tuple[list[_PricedLine], list[_PricedLine]]:
    """:func:`_expand_kits` on kit components already read (``core.kits.components_of``)."""
    if not found or not any(ln.product_id in found for ln in priced):
        return priced, []
    lines: list[_PricedLine] = []
    kit_lines: list[_PricedLine] = []
    line_no = 0
    for ln in priced:
        line_no += 1
        parts = found.get(ln.product_id)
        if parts is None:
            lines.append(dataclasses.replace(ln, line_no=line_no))
            continue
        kit_lines.append(dataclasses.replace(ln, line_no=line_no))
        kit_no = line_no
        for c in component_lines(ln.sku, ln.qty, ln.line_total, parts, ln.line_no, issues):
            line_no += 1
            lines.append(_PricedLine(line_no, c.product_id, c.sku, c.qty, c.unit_price, c.discount, c.line_total,
                                     ln.attributes, kit_no))
    return lines, kit_lines


def _choose_warehouse(
    conn: Connection, ref: RefData, data: OrderInput, lines: list[_PricedLine], facts: dict[str, Any],
    avail: _Availability, issues: list[FieldIssue],
) -> tuple[WarehouseRef | None, dict[int, WarehouseRef]]:
    """``(warehouse, {product_id: other warehouse})``: the explicit warehouse, else the choice of
    :func:`core.domain.allocation.allocate` — the allocation rules' (region's) warehouse, then
    availability, then cost, split when none can serve the whole order — on the availability
    read with the products (and here for a kit's components). The second element is empty
    unless the order is split.
    """
    decided, wh = given_warehouse(ref, data, issues)
    if decided:
        return wh, {}
    need = allocation.units_needed((ln.product_id, ln.qty) for ln in lines)
    unread = sorted(set(need) - avail.known)  # a kit's components
    if unread:
        avail.add(conn.execute(_AVAILABILITY, {"pids": unread}))
    return allocate_lines(ref, lines, facts, avail.units)


def given_warehouse(ref: RefData, data: OrderInput, issues: list[FieldIssue]) -> tuple[bool, WarehouseRef | None]:
    """``(True, warehouse)`` when the order's warehouse needs no stock figures — the one it
    names, or None with an issue (no warehouse at all, an unknown code); ``(False, None)`` when
    :func:`allocate_lines` must choose."""
    if not ref.warehouses:
        issues.append(FieldIssue("warehouse", "issue.no_warehouse"))
        return True, None
    if data.warehouse:
        wh = ref.warehouses.get(data.warehouse)
        if wh is None:
            issues.append(FieldIssue("warehouse", "issue.unknown_value", value=data.warehouse,
                                     params={"value": data.warehouse}))
        return True, wh
    return False, None


def allocate_lines(ref: RefData, lines: list[_PricedLine], facts: dict[str, Any],
                   available: allocation.Availability) -> tuple[WarehouseRef, dict[int, WarehouseRef]]:
    """:func:`core.domain.allocation.allocate` for the order's lines on ``available``."""
    preferred, _ = first_action(ref.rules["allocation"], facts, "warehouse")
    need = allocation.units_needed((ln.product_id, ln.qty) for ln in lines)
    chosen = allocation.allocate(ref.warehouses.values(), preferred, need, available)
    return chosen.primary, chosen.split


def _totals(data: OrderInput, lines: list[_PricedLine], issues: list[FieldIssue]) -> totals.OrderTotals:
    """The order's amounts and each line's share of the order discount
    (:mod:`core.domain.totals`), checked against the stated total."""
    shipping_fee = rulebook.parse_amount(data.shipping_fee, "shipping_fee", issues)
    order_discount = rulebook.parse_amount(data.discount, "discount", issues)
    expected = None if data.expected_total is None else rulebook.parse_amount(data.expected_total, "total", issues)
    line_totals = [ln.line_total for ln in lines]
    if issues:  # refused anyway: amounts that failed their checks are not split
        return totals.order_totals(line_totals, totals.ZERO, totals.ZERO)
    amounts = totals.order_totals(line_totals, order_discount, shipping_fee)
    issues += totals.totals_issues(amounts, expected)
    return amounts


def _customer(conn: Connection, session: Session, data: OrderInput,
              province: str | None) -> customers.CustomerRef | None:
    """The order's customer; None for a walk-in sale (no customer at all, not a pseudo-customer
    that would hold every anonymous sale and spoil repeat rate, CLV and VIP rules)."""
    if data.walk_in and data.customer_id is None:
        return None
    if data.customer_id is not None:
        row = conn.execute(_CUSTOMER_BY_ID, {"cid": data.customer_id}).first()
        if row is None:
            raise ValidationError([FieldIssue("customer_id", "issue.unknown_value", params={"value": data.customer_id})])
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
@datakeys.one_ciphertext_per_value()  # the phone and address go to several rows: sealed once each
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
        issues.append(FieldIssue("channel", "issue.unknown_value", value=data.channel, params={"value": data.channel}))
    avail = _Availability()
    lines, kit_lines = _expand_kits(session, ref, _price_lines(conn, data, issues, avail), issues)
    amounts = _totals(data, lines, issues)
    total = amounts.total
    facts, province = facts_of(data, lines, kit_lines, total)
    wh, split = _choose_warehouse(conn, ref, data, lines, facts, avail, issues) if lines else (None, {})
    if issues:
        raise ValidationError(issues)
    assert channel is not None and wh is not None
    external_ref = rulebook.clean_ref(data.external_ref)
    if external_ref:
        dup = conn.execute(_DUPLICATE, {"ch": channel.id, "ref": external_ref}).scalar_one_or_none()
        if dup:
            raise duplicate(data, external_ref, dup)
    cust = _customer(conn, session, data, province)
    status, rule, priority_boost, carrier = review(ref, facts, cust)

    reserved, shortages = _reserve_lines(session, lines, wh, split)
    if shortages:
        if not data.allow_backorder:
            raise InsufficientStock(shortages)
        for ln in reserved:
            stock.release(session, ln.product_id, split.get(ln.product_id, wh).id, ln.qty)
        reserved = []
        status = "backordered"
    # gifts after the order's own lines (their lock order); a backordered order holds no stock,
    # so it earns no gift either — the event says so
    gift_lines, gifts_skipped = (gifts.reserve_gifts(session, ref, facts, wh) if status != "backordered"
                                 else ([], [Message("note.gift_backordered", {"rule": o.rule}) for o in gifts.earned(ref, facts)]))

    now = utcnow()
    placed_at = data.placed_at or now
    inserted = _INSERT_ORDER.execute(session, order_row(
        data, ref, channel_id=channel.id, external_ref=external_ref, cust=cust, status=status,
        province=province, wh=wh, priority_boost=priority_boost, amounts=amounts, carrier=carrier,
        placed_at=placed_at, now=now, username=actor.username), number_prefix("SO"))
    assert inserted is not None
    order_id, number = inserted.id, inserted.number
    kit_ids = {k.line_no: conn.execute(_INSERT_KIT_LINE, kit_row(order_id, k)).scalar_one() for k in kit_lines}
    conn.execute(_INSERT_LINES, line_rows(order_id, lines, kit_lines, amounts.shares, reserved, wh, split, kit_ids,
                                          gift_lines))
    payments.entry_row(session, order_id=order_id, stated=data.payment_status, total=total,
                       method=data.payment_method, provider_ref=rulebook.clean_ref(data.payment_ref), at=placed_at,
                       created_by=actor.username)
    conn.execute(_INSERT_EVENT, event_row(order_id, now, actor.username, status, rule, gifts_skipped))
    notify.queue(session, event="order.created", order_id=order_id, **recipients(data, cust),
                 payload=notice(number, status, total))
    webhook_events.publish_order(session, "order.created", order_id, channel.id, ref=ref)
    if status == "confirmed":  # no review held it: it may be fulfilled now (order.confirmed's meaning)
        webhook_events.publish_order(session, "order.confirmed", order_id, channel.id, ref=ref)
    audit.record(session, actor, "order.create", "order", number,
                 after=audit_after(data, status, total, wh, lines, kit_lines, gift_lines, gifts_skipped, split))
    if status == "backordered":
        conn.execute(_INSERT_ALERT, backorder_alert(number, shortages, now))
    return OrderResult(order_id, number, status, total, wh.code, cust.id if cust else None,
                       cust.created if cust else False,
                       status == "backordered", rule.name if rule else None, tuple(shortages),
                       tuple(sorted({w.code for w in split.values()})), tuple(g.sku for g in gift_lines),
                       tuple(m.english() for m in gifts_skipped))


# --- what create_order decides and writes, shared with the batch path (orders.batch) ---------


def facts_of(data: OrderInput, lines: list[_PricedLine], kit_lines: list[_PricedLine],
             total: Decimal) -> tuple[dict[str, Any], str | None]:
    """The order's rule facts (:func:`core.domain.rules.order_facts`, without the customer's
    tier: unknown until the customer is resolved) and its normalised province."""
    province = normalise_province(data.province)
    complete = all((province, (data.city or "").strip(), (data.district or "").strip(), (data.address or "").strip()))
    facts = order_facts(total=total, channel=data.channel, province=province, address_complete=complete,
                        delivery_method=data.delivery_method, lines=[(ln.qty, ln.attributes) for ln in lines],
                        skus=[*(ln.sku for ln in lines), *(k.sku for k in kit_lines)])  # a kit counts by its own SKU too
    return facts, province


def duplicate(data: OrderInput, external_ref: str, number: str) -> Conflict:
    """The refusal of an order whose channel reference is stored already (as ``number``)."""
    return Conflict(f"{data.channel} order {external_ref} already exists as {number}",
                    external_ref=external_ref, number=number)


def review(ref: RefData, facts: dict[str, Any],
           cust: customers.CustomerRef | None) -> tuple[str, RuleSpec | None, Any, Any]:
    """``(status, review rule that set it, priority boost, carrier)`` by the review and carrier
    rules; adds the customer's tier to ``facts`` (gift rules read it too)."""
    facts["customer_tier"] = cust.tier if cust is not None else "normal"
    status, rule = first_action(ref.rules["review"], facts, "status")
    priority_boost, _ = first_action(ref.rules["review"], facts, "priority")
    carrier, _ = first_action(ref.rules["carrier"], facts, "carrier")
    return status or "confirmed", rule, priority_boost, carrier


def order_row(data: OrderInput, ref: RefData, *, channel_id: int, external_ref: str | None,
              cust: customers.CustomerRef | None, status: str, province: str | None, wh: WarehouseRef,
              priority_boost: Any, amounts: totals.OrderTotals, carrier: Any, placed_at: dt.datetime,
              now: dt.datetime, username: str) -> dict[str, Any]:
    """The ``orders`` row of a new order but its number (:class:`core.numbering.NumberedInsert`
    takes it with the insert; the batch path numbers many orders at once)."""
    return dict(
        channel_id=channel_id, external_ref=external_ref, customer_id=cust.id if cust else None,
        status=status, payment_status=data.payment_status, payment_method=data.payment_method,
        delivery_method=data.delivery_method, ship_name=data.customer_name.strip() or (cust.name if cust else None),
        ship_phone=customers.normalise_phone(data.phone) or (cust.phone if cust else None), ship_province=province,
        ship_city=data.city, ship_district=data.district, ship_address=data.address, warehouse_id=wh.id,
        priority=(rulebook.whole_number(data.priority) or 0) + int(priority_boost or 0), subtotal=amounts.subtotal,
        discount=amounts.discount, shipping_fee=amounts.shipping_fee, total=amounts.total, placed_at=placed_at,
        approved_at=now if status == "confirmed" else None, cancelled_at=None, shipped_at=None,
        delivered_at=None, completed_at=None,
        due_by=placed_at + dt.timedelta(hours=int(ref.setting("order_due", "hours", 48))), carrier=carrier,
        tracking_no=None, note=data.note, created_by=username, updated_at=now, version=1,
    )


def kit_row(order_id: int, k: _PricedLine) -> dict[str, Any]:
    """The ``order_kit_lines`` row of a kit the customer bought."""
    return dict(order_id=order_id, line_no=k.line_no, product_id=k.product_id, qty=k.qty, unit_price=k.unit_price,
                discount=k.discount, line_total=k.line_total)


def line_rows(order_id: int, lines: list[_PricedLine], kit_lines: list[_PricedLine], shares: Sequence[Decimal],
              reserved: list[_PricedLine], wh: WarehouseRef, split: dict[int, WarehouseRef],
              kit_ids: dict[int, int], gift_lines: list[gifts.GiftLine]) -> list[dict[str, Any]]:
    """The ``order_lines`` rows: the order's own (reserved or not) and its gifts after them
    (kit and component lines share the numbering)."""
    reserved_nos = {ln.line_no for ln in reserved}
    rows = [
        dict(order_id=order_id, line_no=ln.line_no, product_id=ln.product_id, qty=ln.qty,
             unit_price=ln.unit_price, discount=ln.discount, line_total=ln.line_total, discount_share=share,
             warehouse_id=split.get(ln.product_id, wh).id, qty_reserved=ln.qty if ln.line_no in reserved_nos else 0,
             qty_shipped=0, qty_returned=0, is_gift=False, kit_line_id=None if ln.kit_no is None else kit_ids[ln.kit_no])
        for ln, share in zip(lines, shares, strict=True)
    ]
    if gift_lines:
        last_no = max(ln.line_no for ln in [*lines, *kit_lines])
        rows += [dict(order_id=order_id, line_no=last_no + i, product_id=g.product_id, qty=g.qty,
                      unit_price=Decimal(0), discount=Decimal(0), line_total=Decimal(0), discount_share=Decimal(0),
                      warehouse_id=wh.id, qty_reserved=g.qty, qty_shipped=0, qty_returned=0, is_gift=True,
                      kit_line_id=None)
                 for i, g in enumerate(gift_lines, start=1)]
    return rows


def event_row(order_id: int, now: dt.datetime, username: str, status: str, rule: RuleSpec | None,
              gifts_skipped: list[Message]) -> dict[str, Any]:
    """The order's first timeline event: the review rule that held it, the gifts it missed."""
    note = [*([Message("note.rule", {"rule": rule.name})] if rule and status != "backordered" else []),
            *gifts_skipped]
    return dict(order_id=order_id, at=now, actor=username, from_status=None, to_status=status, **stored("note", note))


def recipients(data: OrderInput, cust: customers.CustomerRef | None) -> dict[str, str | None]:
    """Whom the ``order.created`` message goes to: the order's phone (else the customer's), its e-mail."""
    return {"phone": customers.normalise_phone(data.phone) or (cust.phone if cust else None),
            "email": customers.normalise_email(data.email)}


def notice(number: str, status: str, total: Decimal) -> dict[str, Any]:
    """The ``order.created`` message's payload."""
    return {"number": number, "status": status, "total": str(total)}


def audit_after(data: OrderInput, status: str, total: Decimal, wh: WarehouseRef, lines: list[_PricedLine],
                kit_lines: list[_PricedLine], gift_lines: list[gifts.GiftLine], gifts_skipped: list[Message],
                split: dict[int, WarehouseRef]) -> dict[str, Any]:
    """The ``order.create`` audit row's ``after``."""
    return {
        "status": status, "total": total, "warehouse": wh.code, "channel": data.channel,
        "lines": [[ln.sku, ln.qty, ln.unit_price] for ln in lines],
        **({"kits": [[k.sku, k.qty, k.unit_price] for k in kit_lines]} if kit_lines else {}),
        **({"gifts": [[g.sku, g.qty, g.rule] for g in gift_lines]} if gift_lines else {}),
        **({"gifts_skipped": [m.english() for m in gifts_skipped]} if gifts_skipped else {}),
        **({"split": {ln.sku: split[ln.product_id].code for ln in lines if ln.product_id in split}} if split else {}),
    }


def backorder_alert(number: str, shortages: list[Shortage], now: dt.datetime) -> dict[str, Any]:
    """The ``alerts`` row of an order stored as backordered: what it lacks, where."""
    return dict(
        kind="backorder", severity="warning", entity="order", entity_id=number, created_at=now,
        acknowledged_by=None, acknowledged_at=None,
        **stored("message", [Message("alert_msg.shortage", {
            "sku": s.sku, "need": s.requested, "available": s.available, "warehouse": s.warehouse})
            for s in shortages]),
    )
