"""Customer summaries and the cohort table.

``agg_customers`` (one row per buying customer) and ``agg_customer_months`` (a customer's
purchases per local month) are rebuilt per customer from that customer's orders.
``agg_cohorts`` (acquisition month × channel × region × active month) is kept up to date by
difference: a changed customer's old contribution is subtracted and the new one added, so a
single new order costs a handful of rows, not a re-aggregation of every customer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Select, delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from core.analytics import EXCLUDED_STATUSES
from core.analytics.sqltime import month_of
from core.analytics.summary.facts import ORDERS, Context, line_facts, region_of
from core.models import AggCohort, AggCustomer, AggCustomerMonth, Customer

CHUNK = 2_000  # customers per statement (bound-parameter limits)
CUSTOMERS, MONTHS, COHORTS = AggCustomer.__table__, AggCustomerMonth.__table__, AggCohort.__table__
COHORT_KEYS = ("cohort", "channel_id", "region", "month")
COHORT_MEASURES = ("customers", "orders", "net_sales", "cost")


def _scope(customer_ids: Sequence[int] | None) -> ColumnElement[bool]:
    known = ORDERS.c.customer_id.is_not(None)
    return known if customer_ids is None else ORDERS.c.customer_id.in_(customer_ids)


def customers_select(ctx: Context, customer_ids: Sequence[int] | None = None) -> Select:
    """``agg_customers`` rows for these customers (all when None)."""
    f = line_facts(ctx, _scope(customer_ids))
    totals = (
        select(f.c.customer_id, func.min(f.c.placed_at).label("first_at"), func.min(f.c.day_n).label("first_day"),
               func.max(f.c.placed_at).label("last_at"), func.count(f.c.order_id.distinct()).label("orders"),
               func.sum(f.c.qty - f.c.returned).label("units"),
               func.sum(f.c.sales - f.c.returned_sales).label("net_sales"), func.sum(f.c.cost).label("cost"))
        .group_by(f.c.customer_id)
        .subquery("totals")
    )
    o = ORDERS
    ranked = (  # the customer's first sale (ties: lowest id) tells the acquisition channel
        select(o.c.customer_id, o.c.channel_id, func.row_number().over(
            partition_by=o.c.customer_id, order_by=(o.c.placed_at, o.c.id)).label("rank"))
        .where(_scope(customer_ids), o.c.status.not_in(EXCLUDED_STATUSES))
        .subquery("ranked")
    )
    c = Customer.__table__
    return (
        select(totals.c.customer_id, totals.c.first_at, month_of(totals.c.first_day, ctx.dialect), ranked.c.channel_id,
               region_of(c.c.province), func.coalesce(c.c.province, ""), totals.c.last_at, totals.c.orders,
               totals.c.units, totals.c.net_sales, totals.c.cost)
        .join(ranked, (ranked.c.customer_id == totals.c.customer_id) & (ranked.c.rank == 1))
        .join(c, c.c.id == totals.c.customer_id)
    )


def months_select(ctx: Context, customer_ids: Sequence[int] | None = None) -> Select:
    """``agg_customer_months`` rows for these customers (all when None)."""
    f = line_facts(ctx, _scope(customer_ids))
    m = select(f.c.customer_id, month_of(f.c.day_n, ctx.dialect).label("month"), f.c.order_id,
               (f.c.sales - f.c.returned_sales).label("net_sales"), f.c.cost).subquery("m")
    return (
        select(m.c.customer_id, m.c.month, func.count(m.c.order_id.distinct()), func.sum(m.c.net_sales),
               func.sum(m.c.cost))
        .group_by(m.c.customer_id, m.c.month)
    )


def cohorts_select(customer_ids: Sequence[int] | None = None, *, customers: Any = CUSTOMERS,
                   months: Any = MONTHS) -> Select:
    """Cohort cells from customer rows and their months (the stored tables by default)."""
    stmt = (
        select(customers.c.cohort, customers.c.channel_id, customers.c.region, months.c.month, func.count(),
               func.sum(months.c.orders), func.sum(months.c.net_sales), func.sum(months.c.cost))
        .join(customers, customers.c.customer_id == months.c.customer_id)
        .group_by(customers.c.cohort, customers.c.channel_id, customers.c.region, months.c.month)
    )
    if customer_ids is not None:
        stmt = stmt.where(months.c.customer_id.in_(customer_ids))
    return stmt


def rebuild_all(session: Session, ctx: Context) -> None:
    """Every customer from scratch (first build, or too many changes to patch)."""
    for table in (COHORTS, MONTHS, CUSTOMERS):
        session.execute(delete(table))
    session.execute(insert(CUSTOMERS).from_select([c.name for c in CUSTOMERS.columns], customers_select(ctx)))
    session.execute(insert(MONTHS).from_select([c.name for c in MONTHS.columns], months_select(ctx)))
    session.execute(insert(COHORTS).from_select([c.name for c in COHORTS.columns], cohorts_select()))


def rebuild(session: Session, ctx: Context, customer_ids: Iterable[int]) -> None:
    """Re-derive these customers and move their cohort contributions accordingly."""
    ids = sorted(set(customer_ids))
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i:i + CHUNK]
        old = session.execute(cohorts_select(chunk)).all()
        session.execute(delete(MONTHS).where(MONTHS.c.customer_id.in_(chunk)))
        session.execute(delete(CUSTOMERS).where(CUSTOMERS.c.customer_id.in_(chunk)))
        session.execute(insert(CUSTOMERS).from_select([c.name for c in CUSTOMERS.columns],
                                                      customers_select(ctx, chunk)))
        session.execute(insert(MONTHS).from_select([c.name for c in MONTHS.columns], months_select(ctx, chunk)))
        new = session.execute(cohorts_select(chunk)).all()
        _add_to_cohorts(session, ctx.dialect, [(*r[:4], *(-v for v in r[4:])) for r in old] + [tuple(r) for r in new])
    session.execute(delete(COHORTS).where(COHORTS.c.customers <= 0))


def _add_to_cohorts(session: Session, dialect: str, rows: list[tuple]) -> None:
    """Add the measures of ``rows`` (keys + signed measures) to the cohort cells, creating
    missing cells; rows with the same key are combined first."""
    combined: dict[tuple, list] = {}
    for row in rows:
        key, values = row[:4], row[4:]
        acc = combined.setdefault(key, [0] * len(COHORT_MEASURES))
        for j, v in enumerate(values):
            acc[j] += v or 0
    if not combined:
        return
    dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = dialect_insert(COHORTS)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(COHORT_KEYS),
        set_={m: COHORTS.c[m] + getattr(stmt.excluded, m) for m in COHORT_MEASURES},
    )
    session.execute(stmt, [dict(zip(COHORT_KEYS + COHORT_MEASURES, (*k, *v), strict=True))
                           for k, v in combined.items()])

