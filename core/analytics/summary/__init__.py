"""Incrementally refreshed summary tables behind every dashboard.

Why: at a million orders, aggregating the raw orders and lines per page view takes seconds
(docs/analytics.md has the figures). The ``agg_*`` tables hold the same aggregates per
shop-local day (sales, hours, products, basket pairs, fulfilment, stock) and per customer, so
a dashboard reads a few thousand summary rows instead.

How they stay right: :func:`refresh` finds what changed since the last refresh — orders with
a higher id or an ``updated_at`` within :data:`RESCAN` of the last refresh (every order
change, RMA claims included, bumps it), ledger movements likewise — and rebuilds exactly the
local days, customers and stock pairs concerned, from the raw tables, in one transaction. A
rebuild is idempotent, so looking back a little too far costs time but never double-counts;
the look-back covers transactions that were still open at the last refresh (PostgreSQL commits
in any order). A changed timezone or aggregation logic, or a first run, rebuilds everything.

Dashboards only read (a page view never takes the write lock): the worker refreshes every few
minutes when :func:`is_current` says the summaries are behind — it compares the data version
(the audit log, bumped by every write service) with the one the summaries were built at, and
checks that the customers' RFM scores are as of today (R moves with the calendar) — and the
bulk writers ask for a refresh when they are done (an import queues one; ``oms init --demo``
builds them after loading the demo). A dashboard shows :func:`freshness` ("data as of …") and reloads once the
summaries caught up. ``oms refresh`` runs the same refresh by hand or from cron.
We chose this over a hook in the order services because returns, stock movements, imports
and the demo loader change the same numbers, and the order hot path stays untouched.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, Table, delete, func, select, text, union
from sqlalchemy.orm import Session
from sqlalchemy.sql import CompoundSelect, FromClause, Subquery

from core import config
from core.analytics.sqltime import LocalClock
from core.analytics.summary import customers, daily, rollups, stock
from core.analytics.summary.facts import Context
from core.db import read_only, unit_of_work
from core.models import AggState, AuditLog, Customer, Order, StockMovement
from core.timeutil import local_day_start_utc, local_today, to_local, utcnow

LOGIC_VERSION = 3  # bump when an aggregation changes meaning: the next refresh rebuilds all (2: whole cents,
# 3: the roll-ups of migration 0029)
STATE = "summary"
RESCAN = dt.timedelta(minutes=15)  # longest write transaction the refresh tolerates
BATCH_DAYS = 31  # local days per rebuild statement (bounded memory, progress steps)
FULL_SHARE = 0.3  # rebuild everything when more orders than this share changed
Progress = Callable[[float, str], object]  # what it returns is ignored (a page's bar.progress)


@dataclass(frozen=True)
class RefreshResult:
    """What a refresh did: nothing (``skipped``), or rebuilt so many local days, customers and
    stock pairs (``None`` = all of them, a ``full`` rebuild)."""

    skipped: bool
    full: bool
    days: int
    customers: int | None
    stock_pairs: int | None
    seconds: float


def _silent(_fraction: float, _message: str) -> None:
    """Progress sink when nobody watches."""


def _context(session: Session, first: dt.datetime | None, last: dt.datetime) -> Context:
    start = min(first or last, last) - dt.timedelta(days=1)
    return Context(session.get_bind().dialect.name, LocalClock.between(start, last + dt.timedelta(days=2)))


def _versions(session: Session) -> tuple[int, int, int]:
    """(audit id, order id, movement id) high-water marks."""
    audit = session.execute(select(func.max(AuditLog.id))).scalar_one() or 0
    order = session.execute(select(func.max(Order.id))).scalar_one() or 0
    move = session.execute(select(func.max(StockMovement.id))).scalar_one() or 0
    return int(audit), int(order), int(move)


def _compatible(state: AggState | None) -> bool:
    """Built under the current timezone and aggregation logic (else everything is rebuilt)."""
    return (state is not None and state.timezone == config.shop_timezone()
            and state.logic_version == LOGIC_VERSION)


def _is_current(session: Session, state: AggState | None, audit_id: int, today: dt.date) -> bool:
    return (_compatible(state) and state is not None and state.audit_id == audit_id
            and customers.scored_on(session, today))


@read_only
def is_current(session: Session) -> bool:
    """True when the summaries reflect the latest write and the scores are today's (three
    indexed reads)."""
    return freshness(session=session).current


@dataclass(frozen=True)
class Freshness:
    """How current the summaries are: when the last refresh began (None: never built) and
    whether they reflect the latest write (:func:`is_current`)."""

    refreshed_at: dt.datetime | None
    current: bool


@read_only
def freshness(session: Session) -> Freshness:
    """What a dashboard says about its data, read without any write (three indexed reads)."""
    state = session.get(AggState, STATE)
    audit_id = int(session.execute(select(func.max(AuditLog.id))).scalar_one() or 0)
    return Freshness(state.refreshed_at if state is not None else None,
                     _is_current(session, state, audit_id, local_today()))


def refresh_if_stale(progress: Progress | None = None) -> RefreshResult | None:
    """Refresh when something was written since the last refresh; None when nothing was."""
    return None if is_current() else refresh(progress=progress)


def _day_runs(days: set[dt.date]) -> Iterator[tuple[dt.date, dt.date]]:
    """Contiguous runs of ``days``, each at most :data:`BATCH_DAYS` long."""
    ordered = sorted(days)
    start = prev = ordered[0] if ordered else None
    for day in ordered[1:]:
        assert start is not None and prev is not None
        if day != prev + dt.timedelta(days=1) or (day - start).days >= BATCH_DAYS:
            yield start, prev
            start = day
        prev = day
    if start is not None and prev is not None:
        yield start, prev


def _local_day(instant: dt.datetime) -> dt.date:
    local = to_local(instant)
    assert local is not None
    return local.date()


@dataclass
class _Work:
    days: set[dt.date]
    customers: list[int] | None  # None = all
    pairs: list[tuple[int, int]] | None  # None = all
    stock_from: dt.date | None


# Master-data edits change summarised facts without touching an order or the ledger; their
# audit rows since the last refresh say what to rebuild. A customer's profile (province →
# region) or a merge (the merged profile's rows must go, the survivor's grow): those customers.
# A product's category (in every day it sold on): everything. Not its cost: the cost summarised
# when the sale was aggregated is closer to the cost at the time of sale (docs/analytics.md).
CUSTOMER_ACTIONS = ("customer.update", "customer.import_update", "customer.merge")
PRODUCT_ACTIONS = ("product.update", "product.import_update")
PRODUCT_FACTS = ("category",)


def _edited(session: Session, state: AggState) -> tuple[set[int], bool]:
    """(customers whose profile was edited or merged, whether a product's summarised facts
    changed) since ``state`` was saved — read from the audit log past its high-water mark."""
    rows = session.execute(select(AuditLog.action, AuditLog.entity_id, AuditLog.after).where(
        AuditLog.id > state.audit_id, AuditLog.action.in_(CUSTOMER_ACTIONS + PRODUCT_ACTIONS))).all()
    products = any(r.action in PRODUCT_ACTIONS and set(r.after or {}) & set(PRODUCT_FACTS) for r in rows)
    codes = {r.entity_id for r in rows if r.action in CUSTOMER_ACTIONS}
    codes |= {str(r.after["merged_into"]) for r in rows if r.action == "customer.merge" and r.after}
    ids = set(session.execute(select(Customer.id).where(Customer.code.in_(sorted(codes)))).scalars()) \
        if codes else set()
    return ids, products


def _changes(session: Session, state: AggState, orders: int) -> _Work | None:
    """What changed since ``state``; None when so much changed (of about ``orders`` orders)
    that a full build is cheaper, or a product's category changed."""
    edited_customers, products_changed = _edited(session, state)
    if products_changed:
        return None
    since = state.refreshed_at - RESCAN
    o = Order.__table__
    # Each condition separately, then combined: both are index ranges (an OR under a GROUP BY
    # made SQLite scan the whole ledger).
    changed = session.execute(union(
        select(o.c.id, o.c.placed_at, o.c.customer_id).where(o.c.id > state.order_id),
        select(o.c.id, o.c.placed_at, o.c.customer_id).where(o.c.updated_at >= since))).all()
    if len(changed) > max(1_000, FULL_SHARE * orders):
        return None
    m = StockMovement.__table__
    recent = union(select(m.c.id, m.c.product_id, m.c.warehouse_id, m.c.at).where(m.c.id > state.movement_id),
                   select(m.c.id, m.c.product_id, m.c.warehouse_id, m.c.at).where(m.c.at >= since)).subquery()
    moved = session.execute(
        select(recent.c.product_id, recent.c.warehouse_id, func.min(recent.c.at))
        .group_by(recent.c.product_id, recent.c.warehouse_id)).all()
    first_move = min((r[2] for r in moved), default=None)
    return _Work(
        days={_local_day(r.placed_at) for r in changed},
        customers=sorted({r.customer_id for r in changed if r.customer_id is not None} | edited_customers),
        pairs=[(r[0], r[1]) for r in moved],
        stock_from=_local_day(first_move) if first_move else None,
    )


def _everything(session: Session) -> _Work:
    o = Order.__table__
    first, last = session.execute(select(func.min(o.c.placed_at), func.max(o.c.placed_at))).one()
    days: set[dt.date] = set()
    if first is not None:
        day, end = _local_day(first), _local_day(last)
        while day <= end:
            days.add(day)
            day += dt.timedelta(days=1)
    return _Work(days, None, None, None)


RAW_TABLES = ("orders", "order_lines", "products", "customers", "stock_movements")
SUMMARY_TABLES: tuple[Table, ...] = (*daily.BUILDERS, *rollups.TABLES, customers.CUSTOMERS, customers.MONTHS,
                                     customers.COHORTS, customers.SCORES, customers.QUINTILE_EDGES, stock.STOCK)


@unit_of_work
def refresh(session: Session, *, full: bool = False, progress: Progress | None = None) -> RefreshResult:
    """Bring every summary table up to date (see the module doc); one transaction.

    ``full`` rebuilds everything (after a product's category or cost changed, say). A
    concurrent refresh waits for this one and then finds nothing left to do.
    """
    report = progress or _silent
    started, clock = time.perf_counter(), utcnow()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE agg_state IN EXCLUSIVE MODE"))  # readers still read
    state = session.get(AggState, STATE)
    audit_id, order_id, movement_id = _versions(session)
    today = _local_day(clock)
    if not full and _is_current(session, state, audit_id, today):
        return RefreshResult(True, False, 0, 0, 0, round(time.perf_counter() - started, 3))
    work = _changes(session, state, order_id) if not full and state is not None and _compatible(state) else None
    rebuild_all = work is None
    if work is None:
        work = _everything(session)
        report(0.0, "clearing the summaries")
        for table in SUMMARY_TABLES:
            session.execute(delete(table))
    first_at = session.execute(select(func.min(Order.placed_at))).scalar_one()
    first_move = session.execute(select(func.min(StockMovement.at))).scalar_one()
    ctx = _context(session, min((t for t in (first_at, first_move) if t is not None), default=None), clock)
    runs = list(_day_runs(work.days))
    for i, (first, last) in enumerate(runs):
        report(0.05 + 0.6 * i / max(len(runs), 1), f"sales {first} … {last}")
        bounds = (local_day_start_utc(first), local_day_start_utc(last + dt.timedelta(days=1)))
        daily.rebuild_days(session, ctx, first, last, bounds, replace=not rebuild_all)
    if rebuild_all:
        rollups.build_all(session)
    report(0.65, "customers and cohorts")
    if rebuild_all:
        customers.rebuild_all(session, ctx, today)
    else:
        customers.rebuild(session, ctx, work.customers or [], today)
    report(0.85, "stock by day")
    if rebuild_all or work.pairs:
        stock.rebuild(session, ctx, None if rebuild_all else work.pairs, None if rebuild_all else work.stock_from)
    if rebuild_all and ctx.dialect == "postgresql":
        # A full build usually follows a bulk load (demo, restore) that autovacuum has not
        # analysed yet; without statistics the next incremental refresh plans seq scans.
        for name in (*RAW_TABLES, *(t.name for t in SUMMARY_TABLES)):
            session.execute(text(f"ANALYZE {name}"))
    _save_state(session, state, clock, audit_id, order_id, movement_id, rebuild_all)
    report(1.0, "summaries up to date")
    return RefreshResult(False, rebuild_all, len(work.days), None if work.customers is None else len(work.customers),
                         None if work.pairs is None else len(work.pairs), round(time.perf_counter() - started, 3))


def _save_state(session: Session, state: AggState | None, clock: dt.datetime, audit_id: int, order_id: int,
                movement_id: int, full: bool) -> None:
    if state is None:
        state = AggState(name=STATE, built_at=clock)
        session.add(state)
    if full:
        state.built_at = clock
    state.refreshed_at, state.audit_id, state.order_id, state.movement_id = clock, audit_id, order_id, movement_id
    state.timezone, state.logic_version = config.shop_timezone(), LOGIC_VERSION
    session.flush()


# --- raw mode --------------------------------------------------------------------------------

_raw: ContextVar[bool] = ContextVar("analytics_raw", default=False)


@contextmanager
def raw_source() -> Iterator[None]:
    """Inside this block dashboard queries read the raw tables (the summaries' defining
    SELECTs) instead of the summaries — for the benchmark's ratio and for tests."""
    token = _raw.set(True)
    try:
        yield
    finally:
        _raw.reset(token)


def _named(stmt: Select[Any] | CompoundSelect[Any], table: Table) -> Subquery:
    """``stmt`` as a subquery whose columns carry ``table``'s names (by position)."""
    inner = stmt.subquery("raw_src")
    return select(*[col.label(c.name) for col, c in zip(inner.c, table.columns, strict=True)]).subquery(table.name)


def relation(session: Session, table: Table, first: dt.date | None = None, last: dt.date | None = None
             ) -> Table | Subquery:
    """What a dashboard query reads for ``table``: the summary table itself, or inside
    :func:`raw_source` the SELECT that defines it, run over the raw tables (restricted to the
    local days ``first..last`` when given — the cost a page would pay without summaries)."""
    if not _raw.get():
        return table
    ctx = _context(session, session.execute(select(func.min(Order.placed_at))).scalar_one(), utcnow())
    if table in daily.BUILDERS:
        lo = local_day_start_utc(first) if first else dt.datetime.min
        hi = local_day_start_utc(last + dt.timedelta(days=1)) if last else dt.datetime.max
        return _named(daily.BUILDERS[table](ctx, [(lo, hi)]), table)
    if table is customers.CUSTOMERS:
        return _named(customers.customers_select(ctx), table)
    if table is customers.MONTHS:
        return _named(customers.months_select(ctx), table)
    if table is customers.COHORTS:
        return _named(customers.cohorts_select(
            customers=_named(customers.customers_select(ctx), customers.CUSTOMERS),
            months=_named(customers.months_select(ctx), customers.MONTHS)), table)
    if table is stock.STOCK:
        return _named(stock.stock_daily_select(ctx, base=False), table)
    raise ValueError(f"{table.name} is not a summary table")


def span(session: Session, table: Table, first: dt.date, last: dt.date, keys: Iterable[str],
         conds: rollups.Conditions, *, per_day: bool = False, cuts: Iterable[dt.date] = ()) -> FromClause:
    """What a dashboard query reads for the days ``first..last`` of a day table: its rows that
    ``conds`` keep, as a relation of ``day``, the ``keys`` the query filters or groups by and
    the measures — from the smallest roll-up that has those keys, whole months from a monthly
    one unless the query needs ``per_day`` rows, none sharing a month row across ``cuts``
    (:func:`rollups.span`); inside :func:`raw_source` from the table's defining SELECT."""
    return rollups.span(relation(session, table, first, last), table, first, last, keys, conds, per_day=per_day,
                        cuts=cuts)


def is_past(as_of: dt.date | None) -> bool:
    """True when ``as_of`` is a day before today: the stored summaries (which hold every order
    up to now) cannot answer for it."""
    return as_of is not None and as_of < local_today()


def customer_relation(session: Session, table: Table, as_of: dt.date | None = None) -> Table | Subquery:
    """What a customer query reads for ``table`` (customers or cohorts) as of the local day
    ``as_of``. Today (or None), or a past day after which no order was placed (a history that
    ended before it), → :func:`relation`: the stored rows are exact then. Otherwise the table's
    defining SELECT over the orders placed up to the end of that day, so a later order counts
    neither in a customer's orders, net sales and last purchase nor in the cohorts (slower:
    docs/analytics.md has the figures; the pages cache the result per data version)."""
    if not is_past(as_of):
        return relation(session, table)
    assert as_of is not None
    before = local_day_start_utc(as_of + dt.timedelta(days=1))
    o = Order.__table__
    if session.execute(select(o.c.id).where(o.c.placed_at >= before).limit(1)).first() is None:
        return relation(session, table)
    ctx = _context(session, session.execute(select(func.min(o.c.placed_at))).scalar_one(), before)
    people = _named(customers.customers_select(ctx, placed_before=before), customers.CUSTOMERS)
    if table is customers.CUSTOMERS:
        return people
    if table is customers.COHORTS:
        months = _named(customers.months_select(ctx, placed_before=before), customers.MONTHS)
        return _named(customers.cohorts_select(customers=people, months=months), table)
    raise ValueError(f"{table.name} has no as-of form")


def reading_raw() -> bool:
    """True inside :func:`raw_source` (a query may need a different shape on the raw SELECT)."""
    return _raw.get()
