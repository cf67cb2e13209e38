"""Builders for after-sales tests: orders that went all the way to the customer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select, update

from core import db
from core.models import Order, OrderLine, StockLevel, StockMovement, Warehouse
from core.services.orders import OrderResult, create_order, transition
from core.timeutil import utcnow
from tests.factories import ADMIN, CLERK, order_input, pack_by_scan


def delivered_order(*lines: tuple[str, int], discount: str = "0", shipping: str = "0",
                    delivered_days_ago: int = 1, **kw: object) -> OrderResult:
    """An order created by a clerk, picked, packed, shipped (SF) and delivered."""
    result = create_order(order_input(*lines, discount=Decimal(discount), shipping_fee=Decimal(shipping), **kw), CLERK)
    pack_by_scan(result.id, ADMIN)
    transition(result.id, "shipped", ADMIN, carrier="顺丰", tracking_no="SF1234567890")
    transition(result.id, "delivered", ADMIN)
    with db.transaction() as s:
        s.execute(update(Order).where(Order.id == result.id).values(
            delivered_at=utcnow() - dt.timedelta(days=delivered_days_ago)))
    return result


def stock_of(product_id: int, warehouse: str = "SH") -> tuple[int, int]:
    """(on_hand, reserved) and asserts the ledger adds up to on_hand."""
    with db.transaction() as s:
        wh = s.execute(select(Warehouse.id).where(Warehouse.code == warehouse)).scalar_one()
        level = s.execute(select(StockLevel.on_hand, StockLevel.reserved).where(
            StockLevel.product_id == product_id, StockLevel.warehouse_id == wh)).one()
        ledger = s.execute(select(StockMovement.qty_delta).where(
            StockMovement.product_id == product_id, StockMovement.warehouse_id == wh)).scalars().all()
    assert sum(ledger) == level.on_hand
    return level.on_hand, level.reserved


def returned_qty(order_id: int) -> list[int]:
    with db.transaction() as s:
        return list(s.execute(select(OrderLine.qty_returned).where(OrderLine.order_id == order_id)
                              .order_by(OrderLine.line_no)).scalars())
