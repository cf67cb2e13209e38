"""Roll-ups of the day tables, and which table a dashboard query reads.

Why: at a million orders a year of ``agg_product_daily`` is ~650 000 rows (a row per day ×
product × channel × warehouse × region) and the Products page took 1.8–4 s for it; most views
want far fewer keys, or no day at all. A roll-up holds the same measures summed over fewer keys
per day (the "narrow" tables: a view without channel / warehouse / region filters), or per
calendar month (``day`` = the month's first day). A query names the keys it filters or groups
by; :func:`span` reads the smallest table that has them, and for a range that covers whole
months, those months from a monthly roll-up plus the days at either end from a day table. The
sums are the same integers (cents, units, counts) added in another order, so every figure
equals the day tables' to the cent; only ``hours`` (a float) may differ in the last bits.

Upkeep (:func:`retract`, :func:`apply`, :func:`build_all`, called by the refresh inside its
transaction): a day roll-up rebuilds the days the refresh rebuilt, from the day table; a
monthly roll-up takes the old rows of those days away before the day table replaces them and
adds the new ones after (an upsert), so a refresh of today costs a day's rows, not a month's.
Month rows that fall to nothing are deleted: a key appears exactly when the day table has it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Date,
    Select,
    Table,
    and_,
    cast,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql import FromClause
from sqlalchemy.sql.elements import ColumnElement

from core.models import (
    AggBasketPairDaily,
    AggFulfillmentDaily,
    AggProductDaily,
    AggSalesDaily,
    AggSalesHourly,
)
from core.models.summary import (
    AGG_BASKET_PAIR_MONTHLY,
    AGG_FULFILLMENT_MONTHLY,
    AGG_FULFILLMENT_STAGE_DAILY,
    AGG_PRODUCT_TOTAL_DAILY,
    AGG_PRODUCT_WH_MONTHLY,
    AGG_SALES_CHANNEL_DAILY,
    AGG_SALES_HOUR_DAILY,
    AGG_SALES_MONTHLY,
)

Conditions = Callable[[FromClause], Sequence[ColumnElement[bool]]]


@dataclass(frozen=True)
class Rollup:
    """``table`` sums ``source`` over its own keys, per day or per month (``monthly``)."""

    table: Table
    source: Table
    monthly: bool

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(c.name for c in self.table.primary_key.columns) - {"day"}


ROLLUPS = (
    Rollup(AGG_SALES_MONTHLY, AggSalesDaily.__table__, True),
    Rollup(AGG_SALES_CHANNEL_DAILY, AggSalesDaily.__table__, False),
    Rollup(AGG_SALES_HOUR_DAILY, AggSalesHourly.__table__, False),
    Rollup(AGG_PRODUCT_TOTAL_DAILY, AggProductDaily.__table__, False),
    Rollup(AGG_PRODUCT_WH_MONTHLY, AggProductDaily.__table__, True),
    Rollup(AGG_FULFILLMENT_MONTHLY, AggFulfillmentDaily.__table__, True),
    Rollup(AGG_FULFILLMENT_STAGE_DAILY, AggFulfillmentDaily.__table__, False),
    Rollup(AGG_BASKET_PAIR_MONTHLY, AggBasketPairDaily.__table__, True),
)
TABLES = tuple(r.table for r in ROLLUPS)


def _keys(table: Table) -> frozenset[str]:
    return frozenset(c.name for c in table.primary_key.columns) - {"day"}


def measures(source: Table) -> list[str]:
    return [c.name for c in source.columns if not c.primary_key]


# --- upkeep ----------------------------------------------------------------------------------


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def month_end(day: dt.date) -> dt.date:
    following = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return following - dt.timedelta(days=1)


def _month_of(day: ColumnElement[dt.date], dialect: str) -> ColumnElement[dt.date]:
    if dialect == "sqlite":
        return func.date(day, literal_column("'start of month'"), type_=Date)
    return cast(func.date_trunc(literal_column("'month'"), day), Date)


def grouped(r: Rollup, dialect: str, first: dt.date | None = None, last: dt.date | None = None, sign: int = 1, *,
            session: Session | None = None) -> Select[Any]:
    """The rows of ``r`` for the source's days ``first..last`` (all when None), each measure
    times ``sign``; columns in the roll-up's column order. A day range of a category-first
    source names its categories (read in ``session``)."""
    src = r.source
    conds: list[ColumnElement[bool]] = []
    if first is not None and last is not None:
        conds += [src.c.day >= first, src.c.day <= last]
        if session is not None:
            conds += per_category(session, src)
    period = _month_of(src.c.day, dialect) if r.monthly else src.c.day
    keyed = [c.name for c in r.table.primary_key.columns]
    inner = select(*[period.label("day") if k == "day" else src.c[k] for k in keyed],
                   *[src.c[m] for m in measures(src)]).where(*conds).subquery("src")
    return (select(*[inner.c[k] for k in keyed], *[func.sum(inner.c[m]) * sign for m in measures(src)])
            .group_by(*[inner.c[k] for k in keyed]))


def per_category(session: Session, table: Table) -> list[ColumnElement[bool]]:
    """For a table keyed category first: ``category IN (its categories)``, so a day range is
    one index range per category instead of a scan of the table; nothing for other tables.

    The categories are read first, one index seek each (a loose index scan as a recursive
    CTE; a plain DISTINCT reads the whole table on SQLite), and named as values: as a
    subquery, PostgreSQL guessed 100 of them and scanned the table (350 ms at 100 000 orders)."""
    if "category" not in table.c:
        return []
    cat = table.c.category
    seen = select(func.min(cat).label("category")).cte(f"{table.name}_categories", recursive=True)
    following = select(select(func.min(cat)).where(cat > seen.c.category).scalar_subquery()).where(
        seen.c.category.is_not(None))
    found = seen.union_all(following)
    names = session.execute(select(found.c.category).where(found.c.category.is_not(None))).scalars().all()
    return [cat.in_(names)]


def _of(source: Table) -> Iterator[Rollup]:
    return (r for r in ROLLUPS if r.source is source)


def _upsert(session: Session, r: Rollup, first: dt.date, last: dt.date, sign: int) -> None:
    dialect = session.get_bind().dialect.name
    make = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = make(r.table).from_select([c.name for c in r.table.columns],
                                     grouped(r, dialect, first, last, sign, session=session))
    stmt = stmt.on_conflict_do_update(index_elements=[c.name for c in r.table.primary_key.columns],
                                      set_={m: r.table.c[m] + stmt.excluded[m] for m in measures(r.source)})
    session.execute(stmt)


def retract(session: Session, source: Table, first: dt.date, last: dt.date) -> None:
    """Before the refresh replaces ``source``'s days ``first..last``: take them out of the
    monthly roll-ups."""
    for r in _of(source):
        if r.monthly:
            _upsert(session, r, first, last, -1)


def apply(session: Session, source: Table, first: dt.date, last: dt.date) -> None:
    """After the refresh rebuilt ``source``'s days ``first..last``: add them to the monthly
    roll-ups (dropping month rows left empty) and rebuild them in the day roll-ups."""
    dialect = session.get_bind().dialect.name
    for r in _of(source):
        t = r.table
        if r.monthly:
            _upsert(session, r, first, last, 1)
            session.execute(delete(t).where(t.c.day >= month_start(first), t.c.day <= last,
                                            *per_category(session, t), *[t.c[m] == 0 for m in measures(source)]))
        else:
            session.execute(delete(t).where(t.c.day >= first, t.c.day <= last, *per_category(session, t)))
            session.execute(insert(t).from_select([c.name for c in t.columns],
                                                  grouped(r, dialect, first, last, session=session)))


def build_all(session: Session) -> None:
    """Fill every roll-up from its (complete) day table; they were emptied before."""
    dialect = session.get_bind().dialect.name
    for r in ROLLUPS:
        session.execute(insert(r.table).from_select([c.name for c in r.table.columns], grouped(r, dialect)))


# --- reading ---------------------------------------------------------------------------------

_day_tables_only: ContextVar[bool] = ContextVar("analytics_day_tables_only", default=False)


@contextmanager
def day_tables_only() -> Iterator[None]:
    """Inside this block :func:`span` reads the day tables themselves (the tests compare)."""
    token = _day_tables_only.set(True)
    try:
        yield
    finally:
        _day_tables_only.reset(token)


def _smallest(source: Table, keys: frozenset[str], monthly: bool) -> Table | None:
    """The roll-up (or, per day, the day table itself) with the fewest keys that has ``keys``."""
    found = [r.table for r in _of(source) if r.monthly == monthly and keys <= r.keys]
    if not monthly:
        found.append(source)
    return min(found, key=lambda t: len(_keys(t)), default=None)


def whole_months(first: dt.date, last: dt.date) -> tuple[dt.date, dt.date] | None:
    """(first day of the first, first day of the last) calendar month lying wholly inside
    ``first..last``; None when there is none."""
    lo = first if first.day == 1 else month_end(first) + dt.timedelta(days=1)
    hi = month_start(last) if last == month_end(last) else month_start(month_start(last) - dt.timedelta(days=1))
    return (lo, hi) if lo <= hi else None


def plan(first: dt.date, last: dt.date, cuts: Iterable[dt.date] = ()
         ) -> tuple[list[tuple[dt.date, dt.date]], list[tuple[dt.date, dt.date]]]:
    """How to read ``first..last``, split at each of ``cuts`` (a period that must not share a
    month row with the next, e.g. the previous period of a comparison): (months as ranges of
    month starts, day ranges)."""
    bounds = [first, *sorted(c for c in cuts if first < c <= last), last + dt.timedelta(days=1)]
    months, days = [], []
    for a, b in zip(bounds, bounds[1:], strict=False):
        end = b - dt.timedelta(days=1)
        whole = whole_months(a, end)
        if whole is None:
            days.append((a, end))
            continue
        months.append(whole)
        if a < whole[0]:
            days.append((a, whole[0] - dt.timedelta(days=1)))
        after = month_end(whole[1]) + dt.timedelta(days=1)
        if after <= end:
            days.append((after, end))
    return months, days


def _between(rel: FromClause, ranges: Sequence[tuple[dt.date, dt.date]]) -> ColumnElement[bool]:
    return or_(*[and_(rel.c.day >= a, rel.c.day <= b) for a, b in ranges])


def span(source: Table | FromClause, table: Table, first: dt.date, last: dt.date, keys: Iterable[str],
         conds: Conditions, *, per_day: bool = False, cuts: Iterable[dt.date] = ()) -> FromClause:
    """``table``'s rows for the days ``first..last`` that ``conds`` keep, as a relation of
    ``day``, ``keys`` and the measures — read from the smallest table that has the keys:
    whole months from a monthly roll-up (unless the query needs ``per_day`` rows) and the
    other days from a day table. ``source`` is what stands for ``table`` itself (the table,
    or its raw SELECT in raw mode, which then is read as it is)."""
    wanted = frozenset(keys)
    columns = ["day", *sorted(wanted), *measures(table)]

    def part(rel: FromClause, ranges: Sequence[tuple[dt.date, dt.date]]) -> Select[Any]:
        return select(*[rel.c[c] for c in columns]).where(_between(rel, ranges), *conds(rel))

    if source is not table or _day_tables_only.get():
        return part(source, [(first, last)]).subquery(table.name)
    day = _smallest(table, wanted, monthly=False)
    month = None if per_day else _smallest(table, wanted, monthly=True)
    assert day is not None
    months, days = plan(first, last, cuts) if month is not None else ([], [(first, last)])
    parts = ([part(day, days)] if days else []) + ([part(month, months)] if month is not None and months else [])
    return (parts[0] if len(parts) == 1 else union_all(*parts)).subquery(table.name)
