"""Demand history: units ordered per product × warehouse × shop-local day, summed in SQL.

Demand is what customers *ordered* (by ``placed_at``), not what was shipped: a backordered or
still-open order is demand all the same, and counting shipments would hide exactly the
stock-outs replenishment must prevent. Cancelled orders are not demand. The warehouse is the
line's own warehouse (split shipments), else the order's.

The local day is computed in the database as ``(epoch seconds + UTC offset) // 86400`` so a
two-year history of a large shop comes back as one aggregated row per selling day, never as
raw order lines. A zone with daylight saving gets one offset per period between transitions
(a CASE over a handful of boundaries), so the day boundary follows the clock on the wall.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import Integer, case, cast, func, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from core.analytics import EXCLUDED_STATUSES, _read
from core.models import Order, OrderLine, Product
from core.timeutil import local_day_start_utc, shop_tz, to_local

EPOCH = dt.date(1970, 1, 1)
DAY_SECONDS = 86_400
COLUMNS = ["product_id", "warehouse_id", "day", "qty"]


def _offsets(first: dt.date, last: dt.date) -> list[tuple[dt.datetime, int]]:
    """``[(UTC start, offset seconds)]`` of each period with one UTC offset in the window."""
    tz = shop_tz()
    segments: list[tuple[dt.datetime, int]] = []
    day = first
    while day <= last:
        noon = dt.datetime.combine(day, dt.time(12), tzinfo=tz).utcoffset()
        offset = int(noon.total_seconds()) if noon else 0
        if not segments or segments[-1][1] != offset:
            segments.append((local_day_start_utc(day), offset))
        day += dt.timedelta(days=1)
    return segments


def _epoch_seconds(session: Session) -> ColumnElement[int]:
    if session.get_bind().dialect.name == "sqlite":
        return cast(func.strftime("%s", Order.placed_at), Integer)
    return cast(func.extract("epoch", Order.placed_at), Integer)


def _local_day_number(session: Session, first: dt.date, last: dt.date) -> ColumnElement[int]:
    """Days since 1970-01-01 of ``placed_at`` in the shop's timezone (integer arithmetic)."""
    segments = _offsets(first, last)
    if len(segments) == 1:
        offset: ColumnElement[int] = literal(segments[0][1])
    else:
        offset = case(*[(Order.placed_at >= start, off) for start, off in reversed(segments[1:])],
                      else_=segments[0][1])
    return (_epoch_seconds(session) + offset) // DAY_SECONDS


def demand_history(first_day: dt.date, last_day: dt.date, *, product_ids: list[int] | None = None,
                   warehouse_id: int | None = None, session: Session | None = None) -> pd.DataFrame:
    """Units ordered per ``[product_id, warehouse_id, day, qty]`` over local days first..last.

    Only days with demand are returned (the caller densifies); ``day`` is a ``datetime.date``.
    """
    if last_day < first_day:
        raise ValueError("last_day is before first_day")
    start, end = local_day_start_utc(first_day), local_day_start_utc(last_day + dt.timedelta(days=1))

    def query(s: Session) -> list:
        warehouse = func.coalesce(OrderLine.warehouse_id, Order.warehouse_id)
        day = _local_day_number(s, first_day, last_day).label("day")
        stmt = (
            select(OrderLine.product_id, warehouse.label("warehouse_id"), day, func.sum(OrderLine.qty))
            .join(Order, Order.id == OrderLine.order_id)
            .where(Order.placed_at >= start, Order.placed_at < end, Order.status.not_in(EXCLUDED_STATUSES),
                   warehouse.is_not(None))
            .group_by(OrderLine.product_id, warehouse, day)
        )
        if product_ids is not None:
            stmt = stmt.where(OrderLine.product_id.in_(product_ids))
        if warehouse_id is not None:
            stmt = stmt.where(warehouse == warehouse_id)
        return list(s.execute(stmt))

    rows = _read(session, query)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    if frame.empty:
        return pd.DataFrame({"product_id": pd.Series(dtype="int64"), "warehouse_id": pd.Series(dtype="int64"),
                             "day": pd.Series(dtype="object"), "qty": pd.Series(dtype="int64")})
    frame = frame.astype({"product_id": "int64", "warehouse_id": "int64", "qty": "int64"})
    frame["day"] = [EPOCH + dt.timedelta(days=int(d)) for d in frame["day"]]
    return frame.sort_values(["product_id", "warehouse_id", "day"], ignore_index=True)


def last_sale_day(before: dt.date, *, session: Session | None = None) -> dt.date | None:
    """The last shop-local day before ``before`` with demand (a sale that counts in
    :func:`demand_history`), or None when there is none: where a history ends, so a forecast
    as of a later day can tell the gap from real zero demand."""
    def query(s: Session) -> dt.datetime | None:
        warehouse = func.coalesce(OrderLine.warehouse_id, Order.warehouse_id)
        return s.execute(
            select(func.max(Order.placed_at)).join(OrderLine, OrderLine.order_id == Order.id)
            .where(Order.placed_at < local_day_start_utc(before), Order.status.not_in(EXCLUDED_STATUSES),
                   warehouse.is_not(None))).scalar_one()

    last = _read(session, query)
    local = to_local(last)
    return None if local is None else local.date()


def product_groups(*, session: Session | None = None) -> dict[int, str]:
    """``{product id: category}`` for products with a category: the groups whose totals lend a
    seasonal shape to their sparse SKUs (coats and T-shirts move in opposite directions)."""
    def query(s: Session) -> dict[int, str]:
        rows = s.execute(select(Product.id, Product.category).where(Product.category.is_not(None))).all()
        return {int(pid): str(category) for pid, category in rows if category}

    return _read(session, query)
