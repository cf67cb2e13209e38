"""Row-level facts the summary tables aggregate: one row per order line or per order, with its
shop-local day and hour, ship-to region, and the money it brought in net of discounts.

These subqueries are the single definition of every measure. The refresh inserts their
aggregates into the ``agg_*`` tables; the same SELECTs run directly on the raw tables are what
the benchmark compares against and what the tests check the tables with.

Definitions (docs/analytics.md):
- a *sale* is an order that is not cancelled, counted on the local day it was placed;
- ``sales`` of a line = its line total (after line discount) less its share of the order
  discount, stored in whole cents with the line (``discount_share``, core.domain.totals);
  shipping fees are not sales;
- returns are netted on the sale's day: ``returned_sales`` = the cents the returned units carry,
  sales × qty_returned / qty rounded half up to the cent (core.domain.money.units_share), where
  ``qty_returned`` counts units under an open or completed RMA;

Every measure is a whole number of cents, so a summary row equals the same sum over the raw
tables to the cent (docs/money.md).
- ``cost`` = units kept (qty − qty_returned) × the product's unit cost when the day is built;
  ``uncosted_sales`` = the kept sales of products whose cost is unknown (NULL): margins leave
  those sales out instead of reading them as 100 % margin.
- ``walk_in_order``: the sold orders without a customer (walk-in sales), counted apart.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.sql import Subquery
from sqlalchemy.sql.elements import ColumnElement

from core.analytics import EXCLUDED_STATUSES
from core.analytics.sqltime import LocalClock, day_number, hour_of_day, local_seconds
from core.geo import REGION_OF_PROVINCE
from core.models import Order, OrderLine, Product, as_money, cents

ORDERS, LINES, PRODUCTS = Order.__table__, OrderLine.__table__, Product.__table__


@dataclass(frozen=True)
class Context:
    """What turning timestamps into local days needs: the SQL dialect and the shop's offsets."""

    dialect: str
    clock: LocalClock


def region_of(province: ColumnElement[str]) -> ColumnElement[str]:
    """Sales region (华东 …) of a normalised province name; ``""`` when unknown or missing."""
    return case(REGION_OF_PROVINCE, value=province, else_="")


def placed_between(ranges: Sequence[tuple[dt.datetime, dt.datetime]]) -> ColumnElement[bool]:
    """Orders placed inside any of the half-open UTC ``[start, end)`` ranges."""
    return or_(*[and_(ORDERS.c.placed_at >= start, ORDERS.c.placed_at < end) for start, end in ranges])


def returned_cents(sales: ColumnElement[Decimal], returned: ColumnElement[int], qty: ColumnElement[int]
                   ) -> ColumnElement[Decimal]:
    """The cents that ``returned`` of ``qty`` units carry of a line's ``sales``: the SQL of
    :func:`core.domain.money.units_share`, ``(2 · sales · returned + qty) div (2 · qty)`` in
    integer arithmetic (both backends truncate integer division; every term is ≥ 0)."""
    whole = cents(sales)
    return as_money((whole * 2 * returned + qty) // (qty * 2))


def line_facts(ctx: Context, where: ColumnElement[bool], *, with_cancelled: bool = False) -> Subquery:
    """One row per order line of the orders matching ``where``.

    Columns: order_id, customer_id, placed_at, day_n (local day number), hour, channel_id,
    warehouse_id (the order's; 0 if none), line_warehouse_id (the line's, else the order's),
    region, product_id, category, qty, returned, sales, returned_sales, cost, and
    ``sold_order`` / ``cancelled_order`` (the order id or NULL) for distinct counts. With
    ``with_cancelled`` the lines of cancelled orders are included with zero measures.
    """
    o, ol, p = ORDERS, LINES, PRODUCTS
    sold = o.c.status.not_in(EXCLUDED_STATUSES)
    local = local_seconds(o.c.placed_at, ctx.clock, ctx.dialect)
    sales = ol.c.line_total - ol.c.discount_share
    returned_sales = returned_cents(sales, ol.c.qty_returned, ol.c.qty)

    def measure(value: ColumnElement) -> ColumnElement:
        return case((sold, value), else_=0) if with_cancelled else value

    stmt = (
        select(
            o.c.id.label("order_id"), o.c.customer_id, o.c.placed_at,
            day_number(local).label("day_n"), hour_of_day(local).label("hour"),
            o.c.channel_id, func.coalesce(o.c.warehouse_id, 0).label("warehouse_id"),
            func.coalesce(ol.c.warehouse_id, o.c.warehouse_id, 0).label("line_warehouse_id"),
            region_of(o.c.ship_province).label("region"), ol.c.product_id, p.c.category,
            measure(ol.c.qty).label("qty"), measure(ol.c.qty_returned).label("returned"),
            measure(sales).label("sales"), measure(returned_sales).label("returned_sales"),
            # cost unknown (NULL) counts 0 here and its sales go to uncosted_sales, which every
            # margin leaves out; a NULL would also break the NOT NULL sums of the summary tables
            measure(func.coalesce((ol.c.qty - ol.c.qty_returned) * p.c.unit_cost, 0)).label("cost"),
            measure(case((p.c.unit_cost.is_(None), sales - returned_sales), else_=0)).label("uncosted_sales"),
            case((sold, o.c.id)).label("sold_order"),
            case((sold & o.c.customer_id.is_(None), o.c.id)).label("walk_in_order"), case((sold, None), else_=o.c.id).label("cancelled_order"),
        )
        .select_from(o)
        .join(ol, ol.c.order_id == o.c.id)
        .join(p, p.c.id == ol.c.product_id)
        .where(where)
    )
    if not with_cancelled:
        stmt = stmt.where(sold)
    return stmt.subquery("lf")


def order_facts(ctx: Context, where: ColumnElement[bool]) -> Subquery:
    """One row per sold (not cancelled) order matching ``where``: order_id, day_n, channel_id,
    warehouse_id, region, and the timestamps of its fulfilment steps (placed, approved,
    shipped, delivered, due)."""
    o = ORDERS
    local = local_seconds(o.c.placed_at, ctx.clock, ctx.dialect)
    return (
        select(o.c.id.label("order_id"), day_number(local).label("day_n"), o.c.channel_id,
               func.coalesce(o.c.warehouse_id, 0).label("warehouse_id"),
               region_of(o.c.ship_province).label("region"), o.c.placed_at, o.c.approved_at, o.c.shipped_at,
               o.c.delivered_at, o.c.due_by)
        .where(where, o.c.status.not_in(EXCLUDED_STATUSES))
        .subquery("of")
    )
