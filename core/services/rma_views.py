"""Read views of after-sales for the desk, the Orders page and the CLI: RMA lists (queue, an
order's, a customer's), one order as the desk sees it, and one RMA with what the viewer may do
next. Personal data is masked at the source for roles without ``customer.pii``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import Select, func, or_, select, type_coerce
from sqlalchemy.orm import Session, aliased

from core import pii
from core.db import read_only
from core.domain import returns
from core.errors import NotFound
from core.models import (
    Customer,
    Money,
    Order,
    OrderLine,
    Product,
    Refund,
    Return,
    ReturnLine,
    RMAEvent,
    Warehouse,
)
from core.permissions import Actor, require
from core.searchbox import search_text
from core.services import customers
from core.services import return_policy as policy
from core.services import rma_records as records


@dataclass(frozen=True)
class OrderAfterSales:
    """What the service desk needs to open an RMA on one order."""

    header: dict[str, Any]
    policy: policy.ReturnPolicy
    lines: pd.DataFrame  # ORDER_LINE_COLUMNS: what each line can still return, what it was paid
    rmas: pd.DataFrame


@dataclass(frozen=True)
class RMADetail:
    header: dict[str, Any]
    lines: pd.DataFrame
    events: pd.DataFrame
    actions: tuple[str, ...]  # next statuses this actor may set, plus "refund", "refund_approve/_reject"
    max_refund: Decimal  # the most this actor may refund now (0 when no refund is possible)


RMA_COLUMNS = ["id", "rma_number", "order_id", "number", "customer", "phone", "rma_kind", "rma_status", "rma_reason",
               "rma_units", "rma_refund_due", "rma_refunded", "rma_created_at", "rma_closed_at", "rma_replacement"]


def _rma_select() -> Select[Any]:
    units = (select(func.sum(ReturnLine.qty)).where(ReturnLine.return_id == Return.id)
             .correlate(Return).scalar_subquery())
    lines_due = (select(func.coalesce(func.sum(ReturnLine.refund_amount), 0)).where(ReturnLine.return_id == Return.id)
                 .correlate(Return).scalar_subquery())
    replacement = aliased(Order)
    return (
        select(Return.id, Return.number, Order.id, Order.number, Customer.name, Order.ship_phone, Return.kind,
               Return.status, Return.reason_code, units, type_coerce(lines_due + Return.shipping_refund, Money),
               Return.refund_amount, Return.created_at, Return.closed_at, replacement.number)
        .join(Order, Order.id == Return.order_id)
        .outerjoin(Customer, Customer.id == Order.customer_id)
        .outerjoin(replacement, replacement.id == Return.replacement_order_id)
    )


def _rma_frame(session: Session, stmt: Select[Any], actor: Actor) -> pd.DataFrame:
    frame = pd.DataFrame(session.execute(stmt).all(), columns=RMA_COLUMNS)
    frame["rma_refund_due"] = [returns.cents(Decimal(str(v))) for v in frame["rma_refund_due"]]
    return pii.mask_frame(frame, actor)


@read_only
def list_rmas(session: Session, actor: Actor, *, statuses: list[str] | None = None, query: str = "",
              order_id: int | None = None, customer_id: int | None = None, limit: int = 200) -> pd.DataFrame:
    """RMAs, newest first: the service queue (by status), an order's or a customer's history.

    ``query`` matches the RMA or order number, the customer's name (whole, when names are
    encrypted), or (4+ digits) the phone.
    """
    require(actor, "rma.view")
    stmt = _rma_select()
    if statuses:
        stmt = stmt.where(Return.status.in_(statuses))
    if order_id is not None:
        stmt = stmt.where(Return.order_id == order_id)
    if customer_id is not None:
        stmt = stmt.where(Order.customer_id == customer_id)
    q = search_text(query)
    if q:
        conds = [Return.number.contains(q.upper(), autoescape=True), Order.number.contains(q.upper(), autoescape=True),
                 *customers.name_conditions(q, encrypted=customers.names_encrypted(session))]
        digits = customers.normalise_phone(q)
        conds += customers.phone_conditions(Order.ship_phone_bidx, Order.ship_phone_last4_bidx, digits)
        stmt = stmt.where(or_(*conds))
    return _rma_frame(session, stmt.order_by(Return.created_at.desc(), Return.id.desc()).limit(limit), actor)


@read_only
def rma_id_for(session: Session, number: str, actor: Actor) -> int:
    """The id of RMA ``number``; the permission comes before the lookup (no 404-vs-403 probing)."""
    require(actor, "rma.view")
    rma_id = session.execute(select(Return.id).where(Return.number == number.strip().upper())).scalar_one_or_none()
    if rma_id is None:
        raise NotFound.coded("api.no_return", number=number)
    return int(rma_id)


ORDER_LINE_COLUMNS = ["line_no", "sku", "name", "qty", "qty_shipped", "qty_returned", "rma_returnable", "rma_paid"]


@read_only
def order_aftersales(session: Session, order_id: int, actor: Actor) -> OrderAfterSales:
    """An order as the service desk sees it: header, the policy that applies, what each line
    can still be returned and what it was paid, and the order's RMAs."""
    require(actor, "rma.view")
    order = records.order_facts(session, order_id)
    lines = records.order_lines(session, order_id)
    paid, _ = records.paid_by_line(order, lines)
    frame = pd.DataFrame([
        (ln.line_no, ln.sku, ln.name, ln.qty, ln.qty_shipped, ln.qty_returned, returns.returnable_units(ln),
         paid[ln.id]) for ln in lines.values()], columns=ORDER_LINE_COLUMNS)
    header = {k: getattr(order, k) for k in (
        "id", "number", "status", "channel", "channel_name", "customer_id", "customer", "ship_phone",
        "payment_status", "payment_method", "subtotal", "discount", "shipping_fee", "total", "placed_at",
        "delivered_at")}
    header["refunded"] = records.refunded_on_order(session, order_id)
    header["returnable_status"] = returns.returnable_order(order.status)
    rmas = _rma_frame(session, _rma_select().where(Return.order_id == order_id)
                      .order_by(Return.created_at.desc(), Return.id.desc()), actor)
    return OrderAfterSales(pii.mask_record(header, actor),
                           policy.policy_for(session, order.return_window_days, order.delivered_at), frame, rmas)


RMA_LINE_COLUMNS = ["line_no", "sku", "name", "qty", "rma_line_refund", "rma_replacement_sku", "rma_condition",
                    "rma_restocked", "rma_warehouse", "rma_damage_reason", "default_warehouse"]
EVENT_COLUMNS = ["at", "actor", "rma_event", "from_status", "to_status", "note"]


@read_only
def rma_detail(session: Session, rma_id: int, actor: Actor) -> RMADetail:
    """One RMA: header (with its order and the refund), lines, timeline, and what this actor
    may do next."""
    require(actor, "rma.view")
    rma = records.rma_row(session, rma_id)
    order = records.order_facts(session, rma.order_id)
    replacement = aliased(Product)
    returned_to, shipped_from = aliased(Warehouse), aliased(Warehouse)
    lines = pd.DataFrame(session.execute(
        select(OrderLine.line_no, Product.sku, Product.name, ReturnLine.qty, ReturnLine.refund_amount,
               replacement.sku, ReturnLine.condition, ReturnLine.restocked_qty, returned_to.code,
               ReturnLine.damage_reason, shipped_from.code)
        .join(OrderLine, OrderLine.id == ReturnLine.order_line_id)
        .join(Product, Product.id == OrderLine.product_id)
        .outerjoin(replacement, replacement.id == ReturnLine.replacement_product_id)
        .outerjoin(returned_to, returned_to.id == ReturnLine.warehouse_id)
        .outerjoin(shipped_from, shipped_from.id == OrderLine.warehouse_id)
        .where(ReturnLine.return_id == rma_id).order_by(OrderLine.line_no)
    ).all(), columns=RMA_LINE_COLUMNS)
    events = pd.DataFrame(session.execute(
        select(RMAEvent.at, RMAEvent.actor, RMAEvent.event, RMAEvent.from_status, RMAEvent.to_status, RMAEvent.note)
        .where(RMAEvent.return_id == rma_id).order_by(RMAEvent.at, RMAEvent.id)
    ).all(), columns=EVENT_COLUMNS)
    refund = session.execute(select(Refund.amount, Refund.at, Refund.actor, Refund.note)
                             .where(Refund.return_id == rma_id)).first()
    replacement_order = session.execute(select(Order.number, Order.status)
                                        .where(Order.id == rma.replacement_order_id)).first()
    computed = records.computed_refund(session, rma)
    remaining = order.total - records.refunded_on_order(session, order.id)
    can_refund = returns.refundable(rma.kind, rma.status, order.payment_status, already_refunded=refund is not None)
    actions = returns.rma_actions(returns.RMAState(rma.number, rma.kind, rma.status, rma.created_by), actor,
                                  can_refund=can_refund, requested_by=rma.refund_request_by)
    header = dict(rma._mapping) | {
        "order_number": order.number, "order_status": order.status, "payment_status": order.payment_status,
        "order_total": order.total, "customer": order.customer, "ship_phone": order.ship_phone,
        "channel_name": order.channel_name, "computed_refund": computed,
        "refunded_at": refund.at if refund else None, "refunded_by": refund.actor if refund else None,
        "replacement_number": replacement_order.number if replacement_order else None,
        "replacement_status": replacement_order.status if replacement_order else None,
    }
    max_refund = returns.refund_limit(actor, computed, remaining) if can_refund else returns.ZERO
    return RMADetail(pii.mask_record(header, actor), lines, events, actions, max_refund)
