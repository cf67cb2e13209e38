"""The day-keyed summary tables: what each row is (a SELECT over the facts) and how a set of
local days is rebuilt (delete those days, insert their aggregates, in one transaction).

Every SELECT returns exactly the columns of its table, so the same statement either fills the
table (``INSERT … SELECT``) or stands in for it over the raw tables (:func:`raw_relation`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, Table, and_, case, delete, func, insert, literal, select, union_all
from sqlalchemy.orm import Session
from sqlalchemy.sql import CompoundSelect
from sqlalchemy.sql.elements import ColumnElement

from core.analytics.sqltime import date_of, hours_between
from core.analytics.summary import rollups
from core.analytics.summary.facts import LINES, Context, line_facts, order_facts, placed_between
from core.models import (
    AggBasketPairDaily,
    AggFulfillmentDaily,
    AggProductDaily,
    AggSalesDaily,
    AggSalesHourly,
)

ALL_CATEGORIES = "*"  # category key of the whole-order rows of the sales tables
STAGES = ("approve", "ship", "deliver")  # hours from placement to approval, shipment, delivery
BUCKET_EDGES = (1, 2, 4, 8, 12, 24, 48, 72, 120, 168)  # hours; bucket i = [edge[i-1], edge[i])
Ranges = Sequence[tuple[dt.datetime, dt.datetime]]


def _sum(column: ColumnElement) -> ColumnElement:
    return func.coalesce(func.sum(column), 0)


def sales_daily_select(ctx: Context, ranges: Ranges) -> CompoundSelect[Any]:
    f = line_facts(ctx, placed_between(ranges), with_cancelled=True)

    def grouped(category: ColumnElement[str], *extra: ColumnElement) -> Select:
        return (
            select(date_of(f.c.day_n, ctx.dialect), f.c.channel_id, f.c.warehouse_id, f.c.region, category,
                   func.count(f.c.sold_order.distinct()), func.count(f.c.cancelled_order.distinct()),
                   _sum(f.c.qty), _sum(f.c.returned), _sum(f.c.sales), _sum(f.c.returned_sales), _sum(f.c.cost),
                   _sum(f.c.uncosted_sales), func.count(f.c.walk_in_order.distinct()))
            .group_by(f.c.day_n, f.c.channel_id, f.c.warehouse_id, f.c.region, *extra)
        )

    return union_all(grouped(literal(ALL_CATEGORIES)), grouped(f.c.category, f.c.category))


def sales_hourly_select(ctx: Context, ranges: Ranges) -> CompoundSelect[Any]:
    f = line_facts(ctx, placed_between(ranges))

    def grouped(category: ColumnElement[str], *extra: ColumnElement) -> Select:
        return (
            select(date_of(f.c.day_n, ctx.dialect), f.c.hour, f.c.channel_id, f.c.warehouse_id, f.c.region,
                   category, func.count(f.c.order_id.distinct()), _sum(f.c.sales - f.c.returned_sales))
            .group_by(f.c.day_n, f.c.hour, f.c.channel_id, f.c.warehouse_id, f.c.region, *extra)
        )

    return union_all(grouped(literal(ALL_CATEGORIES)), grouped(f.c.category, f.c.category))


def product_daily_select(ctx: Context, ranges: Ranges) -> Select:
    f = line_facts(ctx, placed_between(ranges))
    return (
        select(date_of(f.c.day_n, ctx.dialect), f.c.product_id, f.c.channel_id, f.c.line_warehouse_id, f.c.region,
               func.count(f.c.order_id.distinct()), _sum(f.c.qty), _sum(f.c.returned), _sum(f.c.sales),
               _sum(f.c.returned_sales), _sum(f.c.cost))
        .group_by(f.c.day_n, f.c.product_id, f.c.channel_id, f.c.line_warehouse_id, f.c.region)
    )


def basket_pairs_select(ctx: Context, ranges: Ranges) -> Select:
    """Orders containing both products, per local day (each unordered pair once, a < b)."""
    f = line_facts(ctx, placed_between(ranges))
    second = LINES.alias("second_line")
    pairs = (
        select(f.c.day_n, f.c.order_id, f.c.product_id.label("product_a"), second.c.product_id.label("product_b"))
        .join(second, and_(second.c.order_id == f.c.order_id, second.c.product_id > f.c.product_id))
        .subquery("pairs")
    )
    return (
        select(date_of(pairs.c.day_n, ctx.dialect), pairs.c.product_a, pairs.c.product_b,
               func.count(pairs.c.order_id.distinct()))
        .group_by(pairs.c.day_n, pairs.c.product_a, pairs.c.product_b)
    )


def bucket_of(hours: ColumnElement[float | Decimal]) -> ColumnElement[int]:
    """Index of the duration bucket (:data:`BUCKET_EDGES`) holding ``hours``."""
    return case(*[(hours < edge, i) for i, edge in enumerate(BUCKET_EDGES)], else_=len(BUCKET_EDGES))


def fulfillment_select(ctx: Context, ranges: Ranges) -> Select:
    f = order_facts(ctx, placed_between(ranges))
    parts = []
    for stage, at in zip(STAGES, (f.c.approved_at, f.c.shipped_at, f.c.delivered_at), strict=True):
        hours = hours_between(f.c.placed_at, at, ctx.dialect)
        # only shipping has a promise to keep (due_by is the dispatch deadline)
        on_time = case((at <= f.c.due_by, 1), else_=0) if stage == "ship" else literal(0)
        late = case((at > f.c.due_by, 1), else_=0) if stage == "ship" else literal(0)
        parts.append(select(f.c.day_n, f.c.channel_id, f.c.warehouse_id, f.c.region, literal(stage).label("stage"),
                            bucket_of(hours).label("bucket"), hours.label("hours"), on_time.label("on_time"),
                            late.label("late")).where(at.is_not(None)))
    steps = union_all(*parts).subquery("steps")
    return (
        select(date_of(steps.c.day_n, ctx.dialect), steps.c.channel_id, steps.c.warehouse_id, steps.c.region,
               steps.c.stage, steps.c.bucket, func.count(), _sum(steps.c.hours), _sum(steps.c.on_time),
               _sum(steps.c.late))
        .group_by(steps.c.day_n, steps.c.channel_id, steps.c.warehouse_id, steps.c.region, steps.c.stage,
                  steps.c.bucket)
    )


# table → the SELECT that fills it for the orders placed in some UTC ranges
BUILDERS: dict[Table, Callable[[Context, Ranges], Select[Any] | CompoundSelect[Any]]] = {
    AggSalesDaily.__table__: sales_daily_select,
    AggSalesHourly.__table__: sales_hourly_select,
    AggProductDaily.__table__: product_daily_select,
    AggBasketPairDaily.__table__: basket_pairs_select,
    AggFulfillmentDaily.__table__: fulfillment_select,
}


def rebuild_days(session: Session, ctx: Context, first: dt.date, last: dt.date,
                 bounds: tuple[dt.datetime, dt.datetime], *, replace: bool = True) -> None:
    """Insert the rows of local days ``first..last`` (UTC ``bounds``) into every day table,
    replacing what was there and keeping their roll-ups in step (``replace=False`` when the
    tables were just emptied: :func:`rollups.build_all` fills the roll-ups at the end)."""
    for table, build in BUILDERS.items():
        if replace:
            days = [table.c.day >= first, table.c.day <= last]
            days += rollups.per_category(session, table)  # keyed category first: no full scan
            rollups.retract(session, table, first, last)
            session.execute(delete(table).where(*days))
        session.execute(insert(table).from_select([c.name for c in table.columns], build(ctx, [bounds])))
        if replace:
            rollups.apply(session, table, first, last)
