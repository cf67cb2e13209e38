"""Order reads: the search list and one order's detail with the actions its reader may take."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core import pii
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
    OrderLine,
    Product,
    Warehouse,
)
from core.permissions import Actor, require
from core.searchbox import search_text
from core.services import customers
from core.services.orders.lifecycle import packing_requires_scan

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
    allowed = order_flow.next_states(order_flow.OrderState(o.number, o.status, o.created_by), actor,
                                     packing_by_scan=packing_requires_scan(session))
    return OrderDetail(header, lines, events, allowed)


@read_only
def order_id_by_number(session: Session, number: str) -> int:
    oid = session.execute(select(Order.id).where(Order.number == number.strip().upper())).scalar_one_or_none()
    if oid is None:
        raise NotFound(f"no order {number}", number=number)
    return oid
