"""Customer summaries, the cohort table and the customers per RFM score.

``agg_customers`` (one row per buying customer) and ``agg_customer_months`` (a customer's
purchases per local month) are rebuilt per customer from that customer's orders.
``agg_cohorts`` (acquisition month × channel × region × active month) is kept up to date by
difference: a changed customer's old contribution is subtracted and the new one added, so a
single new order costs a handful of rows, not a re-aggregation of every customer.

``agg_customer_scores`` counts customers per R × F score (acquisition month × channel ×
province): the Customers page would otherwise score every customer per view. F is a
customer's order count, but R (days since the last order) moves with the calendar, so the
table is scored *as of* one local day: changed customers are moved by difference like the
cohorts while the day stays the same, and the first refresh of a new day rescores everyone
(one pass over ``agg_customers``). The R and F rules live here, used by that table and by the
page's direct scan alike. ``agg_customer_quintiles`` holds the M score's net-sales quintile
edges over all customers, recomputed whenever customers change.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, Table, case, delete, func, insert, literal, literal_column, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql import FromClause
from sqlalchemy.sql.elements import ColumnElement

from core.analytics import EXCLUDED_STATUSES
from core.analytics.sqltime import month_of
from core.analytics.summary.facts import ORDERS, Context, line_facts, region_of
from core.models import (
    AggCohort,
    AggCustomer,
    AggCustomerMonth,
    AggCustomerQuintile,
    AggCustomerScore,
    Customer,
)
from core.timeutil import local_day_start_utc

CHUNK = 2_000  # customers per statement (bound-parameter limits)
CUSTOMERS, MONTHS, COHORTS = AggCustomer.__table__, AggCustomerMonth.__table__, AggCohort.__table__
SCORES: Table = AggCustomerScore.__table__
QUINTILE_EDGES: Table = AggCustomerQuintile.__table__
QUINTILES = (0.2, 0.4, 0.6, 0.8)
COHORT_KEYS = ("cohort", "channel_id", "region", "month")
SCORE_KEYS = ("as_of", "cohort", "channel_id", "province", "r", "f", "region")  # region follows the province
MEASURES = ("customers", "orders", "net_sales", "cost")
R_DAYS = (30, 90, 180, 365)  # last order within this many local days → R5, R4, R3, R2; else R1
F_ORDERS = (2, 3, 4, 6)  # at least this many orders → F2, F3, F4, F5; else F1


def r_score(last_at: ColumnElement[dt.datetime], today: dt.date) -> ColumnElement[int]:
    """R of a customer whose last order was at ``last_at`` (UTC), counted in local days to
    ``today``: the day boundaries are computed here, so the database compares timestamps only."""
    return case(*[(last_at >= local_day_start_utc(today - dt.timedelta(days=d - 1)), 5 - i)
                  for i, d in enumerate(R_DAYS)], else_=1)


def f_score(orders: ColumnElement[int]) -> ColumnElement[int]:
    """F of a customer with ``orders`` orders."""
    return case(*[(orders >= n, 5 - i) for i, n in enumerate(reversed(F_ORDERS))], else_=1)


def _scope(customer_ids: Sequence[int] | None, placed_before: dt.datetime | None = None) -> ColumnElement[bool]:
    known: ColumnElement[bool] = ORDERS.c.customer_id.is_not(None)
    if placed_before is not None:
        known = known & (ORDERS.c.placed_at < placed_before)
    return known if customer_ids is None else known & ORDERS.c.customer_id.in_(customer_ids)


def customers_select(ctx: Context, customer_ids: Sequence[int] | None = None, *,
                     placed_before: dt.datetime | None = None) -> Select:
    """``agg_customers`` rows for these customers (all when None), counting only the orders
    placed before the UTC instant ``placed_before`` when given (customers as of a past day)."""
    f = line_facts(ctx, _scope(customer_ids, placed_before))
    totals = (
        select(f.c.customer_id, func.min(f.c.placed_at).label("first_at"), func.min(f.c.day_n).label("first_day"),
               func.max(f.c.placed_at).label("last_at"), func.count(f.c.order_id.distinct()).label("orders"),
               func.sum(f.c.qty - f.c.returned).label("units"),
               func.sum(f.c.sales - f.c.returned_sales).label("net_sales"), func.sum(f.c.cost).label("cost"),
               func.sum(f.c.uncosted_sales).label("uncosted_sales"))
        .group_by(f.c.customer_id)
        .subquery("totals")
    )
    o = ORDERS
    ranked = (  # the customer's first sale (ties: lowest id) tells the acquisition channel
        select(o.c.customer_id, o.c.channel_id, func.row_number().over(
            partition_by=o.c.customer_id, order_by=(o.c.placed_at, o.c.id)).label("rank"))
        .where(_scope(customer_ids, placed_before), o.c.status.not_in(EXCLUDED_STATUSES))
        .subquery("ranked")
    )
    c = Customer.__table__
    return (
        select(totals.c.customer_id, totals.c.first_at, month_of(totals.c.first_day, ctx.dialect), ranked.c.channel_id,
               region_of(c.c.province), func.coalesce(c.c.province, ""), totals.c.last_at, totals.c.orders,
               totals.c.units, totals.c.net_sales, totals.c.cost, totals.c.uncosted_sales)
        .join(ranked, (ranked.c.customer_id == totals.c.customer_id) & (ranked.c.rank == 1))
        .join(c, c.c.id == totals.c.customer_id)
    )


def months_select(ctx: Context, customer_ids: Sequence[int] | None = None, *,
                  placed_before: dt.datetime | None = None) -> Select:
    """``agg_customer_months`` rows for these customers (all when None), of the orders placed
    before ``placed_before`` when given."""
    f = line_facts(ctx, _scope(customer_ids, placed_before))
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


def scores_select(as_of: dt.date, customer_ids: Sequence[int] | None = None, *, customers: Any = CUSTOMERS
                  ) -> Select:
    """``agg_customer_scores`` rows as of the local day ``as_of``, from customer rows (the
    stored table by default), restricted to these customers when given."""
    r, f = r_score(customers.c.last_at, as_of).label("r"), f_score(customers.c.orders).label("f")
    stmt = (
        select(literal(as_of).label("as_of"), customers.c.cohort, customers.c.channel_id, customers.c.province, r, f,
               customers.c.region, func.count(), func.sum(customers.c.orders), func.sum(customers.c.net_sales),
               func.sum(customers.c.cost))
        # the score columns by their output names (one sort, no subquery pass), in the table's
        # key order so the rows are inserted in order
        .group_by(literal_column("r"), literal_column("f"), customers.c.province, customers.c.channel_id,
                  customers.c.cohort, customers.c.region)
    )
    if customer_ids is not None:
        stmt = stmt.where(customers.c.customer_id.in_(customer_ids))
    return stmt


def scored_on(session: Session, day: dt.date) -> bool:
    """True when ``agg_customer_scores`` holds the scores as of ``day`` (a key seek). An empty
    table counts as scored when there is nobody to score."""
    if session.execute(select(SCORES.c.as_of).where(SCORES.c.as_of == day).limit(1)).first():
        return True
    return session.execute(select(CUSTOMERS.c.customer_id).limit(1)).first() is None


def rescore(session: Session, as_of: dt.date) -> None:
    """Score every customer as of ``as_of`` (a new day, or after a full rebuild)."""
    session.execute(delete(SCORES))
    session.execute(insert(SCORES).from_select([c.name for c in SCORES.columns], scores_select(as_of)))
    _store_quintiles(session)


def net_sales_quintiles(session: Session, customers: FromClause = CUSTOMERS) -> tuple[Decimal, ...]:
    """Net-sales quintile edges over the customer rows (4 values, none without customers): the
    discrete percentile, i.e. the smallest net sales with at least 20 / 40 / 60 / 80 % of
    customers at or below it. PostgreSQL computes it in one ordered-set aggregate; SQLite has
    none, so each edge is one walk along the net-sales index (from the nearer end)."""
    if session.get_bind().dialect.name == "postgresql":
        found = session.execute(select(*[func.percentile_disc(q).within_group(customers.c.net_sales)
                                         for q in QUINTILES])).one()
        return () if found[0] is None else tuple(Decimal(str(v)) for v in found)
    n = session.execute(select(func.count()).select_from(customers)).scalar_one()
    if not n:
        return ()
    edges = []
    for q in QUINTILES:
        k = _position(n, q)
        ascending = k < n / 2
        order = customers.c.net_sales.asc() if ascending else customers.c.net_sales.desc()
        offset = k if ascending else n - 1 - k
        edges.append(Decimal(str(session.execute(select(customers.c.net_sales).order_by(order).offset(offset)
                                                 .limit(1)).scalar_one())))
    return tuple(edges)


def stored_quintiles(session: Session) -> tuple[Decimal, ...] | None:
    """The stored edges; None when there are none although there are customers (a database
    migrated but not refreshed since)."""
    stored = session.execute(select(QUINTILE_EDGES.c.net_sales).order_by(QUINTILE_EDGES.c.quintile)).scalars().all()
    if stored:
        return tuple(Decimal(str(v)) for v in stored)
    return () if session.execute(select(CUSTOMERS.c.customer_id).limit(1)).first() is None else None


def _position(n: int, q: float) -> int:
    """0-based position of the discrete ``q`` percentile among ``n`` sorted values."""
    return max(0, math.ceil(n * q - 1e-9) - 1)


def _store_quintiles(session: Session) -> None:
    """Recompute the edges over all customers, with where each stands (customers below it,
    at it, in all: what :func:`_move_quintiles` starts from)."""
    session.execute(delete(QUINTILE_EDGES))
    edges = net_sales_quintiles(session)
    if not edges:
        return
    value = CUSTOMERS.c.net_sales
    counts = session.execute(select(
        func.count(), *[func.coalesce(func.sum(case((value < e, 1), else_=0)), 0) for e in edges],
        *[func.coalesce(func.sum(case((value == e, 1), else_=0)), 0) for e in edges])).one()
    session.execute(insert(QUINTILE_EDGES), [
        {"quintile": i, "net_sales": e, "below": counts[i], "at_edge": counts[len(edges) + i], "total": counts[0]}
        for i, e in enumerate(edges, 1)])


def _move_quintiles(session: Session, old: Sequence[Decimal], new: Sequence[Decimal]) -> None:
    """Move the stored edges by the customers a refresh re-derived: ``old`` their net sales
    before (those that had a row), ``new`` after (those that have one now).

    Why: on PostgreSQL recomputing them sorts every customer (0.1–0.5 s at 250 000), on every
    refresh. Exact all the same: an edge is the value at position k of the sorted net sales;
    the stored counts below and at the edge, corrected by the changed customers, say whether
    position k still holds it, and if not the new value is a few places away along the
    net-sales index (at most as many as customers changed), found with a small OFFSET."""
    stored = session.execute(select(QUINTILE_EDGES).order_by(QUINTILE_EDGES.c.quintile)).all()
    if len(stored) != len(QUINTILES) or not stored[0].total:
        _store_quintiles(session)  # none stored yet, or stored before the counts were kept
        return
    total = int(stored[0].total) - len(old) + len(new)
    if total <= 0:
        session.execute(delete(QUINTILE_EDGES))
        return
    value = CUSTOMERS.c.net_sales

    def count(*where: ColumnElement[bool]) -> int:
        return int(session.execute(select(func.count()).where(*where)).scalar_one())

    for row, q in zip(stored, QUINTILES, strict=True):
        edge = Decimal(str(row.net_sales))
        below = int(row.below) - sum(v < edge for v in old) + sum(v < edge for v in new)
        at = int(row.at_edge) - sum(v == edge for v in old) + sum(v == edge for v in new)
        k = _position(total, q)
        if k < below:  # the k-th value is below the old edge: walk down
            moved = session.execute(select(value).where(value < edge).order_by(value.desc())
                                    .offset(below - 1 - k).limit(1)).scalar_one()
            below -= count(value >= moved, value < edge)
        elif k >= below + at:  # above it: walk up
            moved = session.execute(select(value).where(value > edge).order_by(value)
                                    .offset(k - below - at).limit(1)).scalar_one()
            below += at + count(value > edge, value < moved)
        else:
            moved = edge
        if moved != edge:
            at = count(value == moved)
        session.execute(QUINTILE_EDGES.update().where(QUINTILE_EDGES.c.quintile == row.quintile).values(
            net_sales=moved, below=below, at_edge=at, total=total))


def rebuild_all(session: Session, ctx: Context, as_of: dt.date) -> None:
    """Every customer from scratch (first build, or too many changes to patch), scored as of
    the local day ``as_of``."""
    for table in (COHORTS, MONTHS, CUSTOMERS):
        session.execute(delete(table))
    session.execute(insert(CUSTOMERS).from_select([c.name for c in CUSTOMERS.columns], customers_select(ctx)))
    session.execute(insert(MONTHS).from_select([c.name for c in MONTHS.columns], months_select(ctx)))
    session.execute(insert(COHORTS).from_select([c.name for c in COHORTS.columns], cohorts_select()))
    rescore(session, as_of)


def rebuild(session: Session, ctx: Context, customer_ids: Iterable[int], as_of: dt.date) -> None:
    """Re-derive these customers and move their cohort and score contributions accordingly;
    when the scores are not as of ``as_of`` yet (a new day), rescore everyone instead. The
    quintile edges move whenever anything moved (any customer can shift them)."""
    ids = sorted(set(customer_ids))
    patch = scored_on(session, as_of)
    old_sales: list[Decimal] = []
    new_sales: list[Decimal] = []

    def net_sales(chunk: list[int]) -> list[Decimal]:
        return [Decimal(str(v)) for v in session.execute(
            select(CUSTOMERS.c.net_sales).where(CUSTOMERS.c.customer_id.in_(chunk))).scalars()]

    for i in range(0, len(ids), CHUNK):
        chunk = ids[i:i + CHUNK]
        old_sales += net_sales(chunk)
        old = session.execute(cohorts_select(chunk)).all()
        old_scores = session.execute(scores_select(as_of, chunk)).all() if patch else []
        session.execute(delete(MONTHS).where(MONTHS.c.customer_id.in_(chunk)))
        session.execute(delete(CUSTOMERS).where(CUSTOMERS.c.customer_id.in_(chunk)))
        session.execute(insert(CUSTOMERS).from_select([c.name for c in CUSTOMERS.columns],
                                                      customers_select(ctx, chunk)))
        session.execute(insert(MONTHS).from_select([c.name for c in MONTHS.columns], months_select(ctx, chunk)))
        new_sales += net_sales(chunk)
        new = session.execute(cohorts_select(chunk)).all()
        _add(session, ctx.dialect, COHORTS, COHORT_KEYS, _difference(old, new))
        if patch:
            _add(session, ctx.dialect, SCORES, SCORE_KEYS,
                 _difference(old_scores, session.execute(scores_select(as_of, chunk)).all()))
    if not patch:
        rescore(session, as_of)
    if ids:
        session.execute(delete(COHORTS).where(COHORTS.c.customers <= 0))
        if patch:
            session.execute(delete(SCORES).where(SCORES.c.customers <= 0))
            _move_quintiles(session, old_sales, new_sales)


def _difference(old: Sequence[Any], new: Sequence[Any]) -> list[tuple]:
    """Rows of keys + measures: ``new`` as they are, ``old`` with their measures negated."""
    width = len(MEASURES)
    return [(*r[:-width], *(-v for v in r[-width:])) for r in old] + [tuple(r) for r in new]


def _add(session: Session, dialect: str, table: Table, keys: tuple[str, ...], rows: list[tuple]) -> None:
    """Add the measures of ``rows`` (``keys`` + signed :data:`MEASURES`) to ``table``'s cells,
    creating missing cells; rows with the same keys are combined first."""
    combined: dict[tuple, list] = {}
    for row in rows:
        key, values = row[:len(keys)], row[len(keys):]
        acc = combined.setdefault(key, [0] * len(MEASURES))
        for j, v in enumerate(values):
            acc[j] += v or 0
    if not combined:
        return
    dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = dialect_insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=[c.name for c in table.primary_key.columns],
        set_={m: table.c[m] + getattr(stmt.excluded, m) for m in MEASURES},
    )
    session.execute(stmt, [dict(zip(keys + MEASURES, (*k, *v), strict=True)) for k, v in combined.items()])

