"""Loading what after-sales works on — the order with its channel and customer, its lines,
an RMA and its lines — and the money derived from them (what each line was paid, the
computed refund, what has been refunded). Shared by the RMA workflow
(``core.services.aftersales``) and its read views (``core.services.rma_views``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from core.domain.returns import ZERO, cents
from core.errors import NotFound
from core.models import Channel, Customer, Order, OrderLine, Product, Return, ReturnLine

# Statements are built once (building them costs more than SQLite running them).
_ORDER = (
    select(Order.id, Order.number, Order.status, Order.channel_id, Channel.code.label("channel"),
           Channel.name.label("channel_name"), Channel.return_window_days, Order.customer_id,
           Customer.name.label("customer"), Customer.email, Order.ship_name, Order.ship_phone,
           Order.ship_province, Order.ship_city, Order.ship_district, Order.ship_address,
           Order.payment_status, Order.payment_method, Order.delivery_method, Order.priority,
           Order.subtotal, Order.discount, Order.shipping_fee, Order.total, Order.placed_at,
           Order.delivered_at, Order.version, Order.external_ref)
    .join(Channel, Channel.id == Order.channel_id)
    .outerjoin(Customer, Customer.id == Order.customer_id)
    .where(Order.id == bindparam("order_id"))
)
_ORDER_LINES = (
    select(OrderLine.id, OrderLine.line_no, OrderLine.product_id, Product.sku, Product.name, OrderLine.qty,
           OrderLine.qty_shipped, OrderLine.qty_returned, OrderLine.line_total, OrderLine.discount_share,
           OrderLine.warehouse_id)
    .join(Product, Product.id == OrderLine.product_id)
    .where(OrderLine.order_id == bindparam("order_id")).order_by(OrderLine.line_no)
)
_RMA = select(*Return.__table__.c).where(Return.__table__.c.id == bindparam("rma_id"))
_RMA_LINES = (
    select(ReturnLine.id, ReturnLine.order_line_id, ReturnLine.qty, ReturnLine.refund_amount,
           ReturnLine.replacement_product_id, OrderLine.line_no, OrderLine.product_id, OrderLine.warehouse_id,
           Product.sku)
    .join(OrderLine, OrderLine.id == ReturnLine.order_line_id)
    .join(Product, Product.id == OrderLine.product_id)
    .where(ReturnLine.return_id == bindparam("rma_id")).order_by(OrderLine.line_no)
)


def order_facts(session: Session, order_id: int) -> Any:
    """The order with its channel (return window), customer (e-mail) and shipping fields."""
    row = session.execute(_ORDER, {"order_id": order_id}).first()
    if row is None:
        raise NotFound(f"no order {order_id}", order_id=order_id)
    return row


def order_lines(session: Session, order_id: int) -> dict[int, Any]:
    """The order's lines by line number (with product and the paid-amount inputs)."""
    return {r.line_no: r for r in session.execute(_ORDER_LINES, {"order_id": order_id})}


def paid_by_line(order: Any, lines: dict[int, Any]) -> tuple[dict[int, Decimal], Decimal]:
    """(paid per order-line id, shipping fee paid after any discount left over from the goods):
    each line's total less its stored share of the order discount (core.domain.totals)."""
    paid = {ln.id: ln.line_total - ln.discount_share for ln in lines.values()}
    leftover = order.discount - sum((ln.discount_share for ln in lines.values()), ZERO)
    return paid, max(order.shipping_fee - leftover, ZERO)


def rma_row(session: Session, rma_id: int) -> Any:
    """Every column of one RMA."""
    row = session.execute(_RMA, {"rma_id": rma_id}).first()
    if row is None:
        raise NotFound(f"no RMA {rma_id}", rma_id=rma_id)
    return row


def rma_lines(session: Session, rma_id: int) -> list[Any]:
    """An RMA's lines with their order line (number, product, warehouse), by line number."""
    return list(session.execute(_RMA_LINES, {"rma_id": rma_id}))


def computed_refund(session: Session, rma: Any) -> Decimal:
    """What policy says this RMA refunds: its lines' paid amounts plus any shipping part."""
    lines = session.execute(select(func.sum(ReturnLine.refund_amount)).where(ReturnLine.return_id == rma.id))
    return cents(Decimal(str(lines.scalar_one() or 0)) + rma.shipping_refund)


def refunded_on_order(session: Session, order_id: int) -> Decimal:
    """Everything refunded on the order so far. Summed over the RMAs (``returns.refund_amount``)
    rather than the refund records, so history loaded without them (imports, the demo) counts."""
    total = session.execute(select(func.sum(Return.refund_amount)).where(Return.order_id == order_id)).scalar_one()
    return cents(Decimal(str(total or 0)))
