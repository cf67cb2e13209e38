"""``agg_stock_daily``: the ledger per product × warehouse × local day, with on-hand at the end
of each day that had movements.

The ledger is append-only, so a refresh only has to redo the pairs that got new movements,
from the first local day touched: their day totals come from the ledger and the running
on-hand continues from the last stored day before (a window SUM in SQL).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, case, delete, func, insert, select, tuple_
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from core.analytics.sqltime import date_of, day_number, local_seconds
from core.analytics.summary.facts import Context
from core.models import AggStockDaily, StockMovement
from core.timeutil import local_day_start_utc

CHUNK = 1_000  # (product, warehouse) pairs per statement
STOCK = AggStockDaily.__table__
MOVES = StockMovement.__table__
Pair = tuple[int, int]


def stock_daily_select(ctx: Context, pairs: Sequence[Pair] | None = None, first_day: dt.date | None = None,
                       *, base: bool = True) -> Select:
    """Rows of ``agg_stock_daily`` for these pairs (all when None) from ``first_day`` on
    (all history when None). The running on-hand starts from the stored row before
    ``first_day`` when ``base`` (the raw view, built from the whole ledger, needs none)."""
    m = MOVES
    conds: list[ColumnElement[bool]] = []
    if pairs is not None:
        conds.append(tuple_(m.c.product_id, m.c.warehouse_id).in_(pairs))
    if first_day is not None:
        conds.append(m.c.at >= local_day_start_utc(first_day))
    local = local_seconds(m.c.at, ctx.clock, ctx.dialect)
    moves = select(m.c.product_id, m.c.warehouse_id, day_number(local).label("day_n"), m.c.qty_delta).where(
        *conds).subquery("mv")
    days = (
        select(moves.c.product_id, moves.c.warehouse_id, moves.c.day_n,
               func.sum(case((moves.c.qty_delta > 0, moves.c.qty_delta), else_=0)).label("qty_in"),
               func.sum(case((moves.c.qty_delta < 0, -moves.c.qty_delta), else_=0)).label("qty_out"))
        .group_by(moves.c.product_id, moves.c.warehouse_id, moves.c.day_n)
        .subquery("md")
    )
    running: ColumnElement[Any] = func.sum(days.c.qty_in - days.c.qty_out).over(
        partition_by=(days.c.product_id, days.c.warehouse_id), order_by=days.c.day_n)
    if base and first_day is not None:
        before = STOCK.alias("before")
        opening = (
            select(before.c.on_hand)
            .where(before.c.product_id == days.c.product_id, before.c.warehouse_id == days.c.warehouse_id,
                   before.c.day < first_day)
            .order_by(before.c.day.desc()).limit(1).scalar_subquery()
        )
        running = func.coalesce(opening, 0) + running
    return select(days.c.product_id, days.c.warehouse_id, date_of(days.c.day_n, ctx.dialect), days.c.qty_in,
                  days.c.qty_out, running)


def rebuild(session: Session, ctx: Context, pairs: Sequence[Pair] | None, first_day: dt.date | None) -> None:
    """Redo these pairs from ``first_day`` (everything when ``pairs`` is None)."""
    names = [c.name for c in STOCK.columns]
    if pairs is None:
        session.execute(delete(STOCK))
        session.execute(insert(STOCK).from_select(names, stock_daily_select(ctx)))
        return
    ordered = sorted(set(pairs))
    for i in range(0, len(ordered), CHUNK):
        chunk = ordered[i:i + CHUNK]
        where: list[ColumnElement[bool]] = [tuple_(STOCK.c.product_id, STOCK.c.warehouse_id).in_(chunk)]
        if first_day is not None:
            where.append(STOCK.c.day >= first_day)
        session.execute(delete(STOCK).where(*where))
        session.execute(insert(STOCK).from_select(names, stock_daily_select(ctx, chunk, first_day)))
