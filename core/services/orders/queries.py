"""Order reads: the search list and one order's detail with the actions its reader may take."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from core import paging, pii
from core.db import read_only
from core.domain import order_flow
from core.errors import (
    NotFound,
)
from core.models import (
    Channel,
    Customer,
    Order,
    OrderEvent,
    OrderKitLine,
    OrderLine,
    Product,
    Warehouse,
)
from core.permissions import Actor, require
from core.searchbox import search_text
from core.services import customers
from core.services.orders.lifecycle import packing_requires_scan

KIT_LINE_COLUMNS = ["line_no", "sku", "name", "qty", "unit_price", "discount", "line_total"]

# --- reads -----------------------------------------------------------------------------------


SEARCH_COLUMNS = ["id", "number", "placed_at", "channel", "customer", "phone", "status", "payment_status",
                  "total", "warehouse", "external_ref"]


def _search_stmt(query: str, statuses: list[str] | None, channels: list[str] | None,
                 date_from: dt.datetime | None, date_to: dt.datetime | None, *,
                 names_encrypted: bool) -> Select[*tuple[Any, ...]]:
    """The one statement behind the list, its count and its full download: newest first, the
    id breaking ties so pages never overlap. Values are bound parameters (never spliced into
    SQL), so any text is harmless. A name matches in part, or only whole when names are
    encrypted (:func:`core.services.customers.name_conditions`)."""
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
                 Order.external_ref == q, *customers.name_conditions(q, encrypted=names_encrypted)]
        # phones are encrypted: the whole number or its last four, through the blind indexes
        conds += customers.phone_conditions(Order.ship_phone_bidx, Order.ship_phone_last4_bidx, digits)
        conds += customers.phone_conditions(Customer.phone_bidx, Customer.phone_last4_bidx, digits)
        stmt = stmt.where(or_(*conds))
    if statuses:
        stmt = stmt.where(Order.status.in_(statuses))
    if channels:
        stmt = stmt.where(Channel.code.in_(channels))
    if date_from:
        stmt = stmt.where(Order.placed_at >= date_from)
    if date_to:
        stmt = stmt.where(Order.placed_at < date_to)
    return stmt.order_by(Order.placed_at.desc(), Order.id.desc())


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
    offset: int = 0,
    before: tuple[dt.datetime, int] | None = None,
) -> pd.DataFrame:
    """One box finds orders by number, phone, customer name or external reference; this is
    one page of them (``offset``, ``limit``), :func:`count_orders` says how many match.
    ``before`` (``placed_at``, ``id`` of the last row of a page) continues the newest-first
    list after that row instead: keyset paging for the API, stable while new orders arrive."""
    require(actor, "order.view")
    stmt = _search_stmt(query, statuses, channels, date_from, date_to,
                              names_encrypted=customers.names_encrypted(session))
    if before is not None:
        placed, oid = before
        stmt = stmt.where(or_(Order.placed_at < placed, and_(Order.placed_at == placed, Order.id < oid)))
    frame = paging.page_rows(session, stmt, SEARCH_COLUMNS, offset, limit)
    return pii.mask_frame(frame, actor)  # phones masked for roles without customer.pii


@read_only
def count_orders(
    session: Session,
    actor: Actor,
    query: str = "",
    *,
    statuses: list[str] | None = None,
    channels: list[str] | None = None,
    date_from: dt.datetime | None = None,
    date_to: dt.datetime | None = None,
) -> int:
    """How many orders :func:`search_orders` finds with the same filters, exactly."""
    require(actor, "order.view")
    return paging.count_rows(session, _search_stmt(query, statuses, channels, date_from, date_to,
                              names_encrypted=customers.names_encrypted(session)))


@read_only
def export_orders(
    session: Session,
    actor: Actor,
    sink: Callable[[pd.DataFrame], object],
    query: str = "",
    *,
    statuses: list[str] | None = None,
    channels: list[str] | None = None,
    date_from: dt.datetime | None = None,
    date_to: dt.datetime | None = None,
    chunk_size: int = paging.EXPORT_CHUNK,
) -> int:
    """Every order :func:`search_orders` finds, no cap, handed to ``sink`` in chunks from one
    snapshot (phones masked as in the list); returns the number of rows."""
    require(actor, "order.view")
    return paging.feed_chunks(session, _search_stmt(query, statuses, channels, date_from, date_to,
                              names_encrypted=customers.names_encrypted(session)), SEARCH_COLUMNS,
                              lambda chunk: sink(pii.mask_frame(chunk, actor)), chunk_size)


@dataclass(frozen=True)
class OrderDetail:
    header: dict[str, Any]
    lines: pd.DataFrame
    events: pd.DataFrame
    allowed_transitions: tuple[str, ...]
    # what the customer bought as kits (组合装); their component lines are in ``lines`` with
    # the kit's line number in ``kit_line``
    kits: pd.DataFrame = dataclasses.field(default_factory=lambda: pd.DataFrame(columns=KIT_LINE_COLUMNS))


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
               OrderLine.qty_reserved, OrderLine.qty_shipped, OrderLine.qty_returned, OrderLine.is_gift,
               OrderKitLine.line_no)
        .join(Product, Product.id == OrderLine.product_id)
        .outerjoin(Warehouse, Warehouse.id == OrderLine.warehouse_id)
        .outerjoin(OrderKitLine, OrderKitLine.id == OrderLine.kit_line_id)
        .where(OrderLine.order_id == order_id).order_by(OrderLine.line_no)
    ).all(), columns=["line_no", "sku", "name", "qty", "unit_price", "discount", "line_total", "warehouse",
                      "qty_reserved", "qty_shipped", "qty_returned", "is_gift", "kit_line"])
    kits = pd.DataFrame(session.execute(
        select(OrderKitLine.line_no, Product.sku, Product.name, OrderKitLine.qty, OrderKitLine.unit_price,
               OrderKitLine.discount, OrderKitLine.line_total)
        .join(Product, Product.id == OrderKitLine.product_id)
        .where(OrderKitLine.order_id == order_id).order_by(OrderKitLine.line_no)).all(), columns=KIT_LINE_COLUMNS)
    events = pd.DataFrame(session.execute(
        select(OrderEvent.at, OrderEvent.actor, OrderEvent.from_status, OrderEvent.to_status, OrderEvent.note,
               OrderEvent.note_codes)
        .where(OrderEvent.order_id == order_id).order_by(OrderEvent.at, OrderEvent.id)
    ).all(), columns=["at", "actor", "from_status", "to_status", "note", "note_codes"])
    allowed = order_flow.next_states(order_flow.OrderState(o.number, o.status, o.created_by), actor,
                                     packing_by_scan=packing_requires_scan(session))
    return OrderDetail(header, lines, events, allowed, kits)


@read_only
def order_id_by_number(session: Session, number: str) -> int:
    oid = session.execute(select(Order.id).where(Order.number == number.strip().upper())).scalar_one_or_none()
    if oid is None:
        raise NotFound(f"no order {number}", number=number)
    return oid


@read_only
def order_id_for(session: Session, number: str, actor: Actor) -> int:
    """The id of order ``number`` for a reader: the permission is checked before the lookup, so
    a caller without ``order.view`` cannot learn which numbers exist from 404 against 403."""
    require(actor, "order.view")
    return order_id_by_number(number, session=session)
