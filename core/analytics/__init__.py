"""Read-only analytics: SQL aggregates returned as tidy pandas DataFrames (no streamlit here).

Every query aggregates in the database (GROUP BY) over a date window served by the
``orders.placed_at`` index; raw order rows are never pulled into pandas (at a million orders
that costs seconds and gigabytes, see docs). "Day" always means the shop's local day: the
boundaries are computed in Python with :func:`core.timeutil.local_day_start_utc` and compared
with the stored UTC timestamps, which is exact on SQLite and PostgreSQL alike, DST included.

This module holds the overview dashboard's queries (``pages/dashboard.py``). The manager
dashboards read the incrementally refreshed summary tables instead (docs/analytics.md):
``summary`` (the tables' definitions and their refresh), ``filters``, ``sales``, ``channels``,
``customers``, ``products``, ``fulfillment``, ``stock_health``, and ``dashboards`` (one read
per page). Other features add their own modules (``inventory``, ``returns``, ``demand`` …).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar

import pandas as pd
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from core.db import transaction
from core.models import AuditLog, Channel, Order
from core.timeutil import local_day_start_utc, to_local, to_utc, utcnow

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
EXCLUDED_STATUSES = ("cancelled",)
SOLD = Order.status.not_in(EXCLUDED_STATUSES)  # what counts as a sale on every dashboard

T = TypeVar("T")


def _read(session: Session | None, query: Callable[[Session], T]) -> T:
    """Run ``query`` in the caller's session, or in a short transaction of its own."""
    if session is not None:
        return query(session)
    with transaction(readonly=True) as s:
        return query(s)


def _money(value: Decimal | float | int | None) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT, rounding=ROUND_HALF_UP)


def _now_utc(now: dt.datetime | None) -> dt.datetime:
    """``now`` as a naive UTC datetime; aware values are converted, naive ones taken as UTC."""
    if now is None:
        return utcnow()
    return now.astimezone(dt.UTC).replace(tzinfo=None) if now.tzinfo else now


def data_version(session: Session | None = None) -> int:
    """A number that changes whenever a service has written (the dashboards' cache key).

    Every write service appends an audit row in its transaction, so ``max(id)`` grows with each
    commit; it is an index lookup, cheap enough for every rerun. One gap: on PostgreSQL a
    transaction holding a lower id can commit after one holding a higher id, and max(id) does
    not move for it — the next write, or the cache's TTL, picks it up.
    """
    def query(s: Session) -> int:
        return int(s.execute(select(func.max(AuditLog.id))).scalar_one() or 0)

    return _read(session, query)


def sales_kpis(days: int, now: dt.datetime | None = None, *, session: Session | None = None) -> pd.DataFrame:
    """Revenue, order count and average order value for the last ``days`` local days.

    Returns two rows, ``period`` = "current" and "previous", with columns
    ``[period, start, end, revenue, orders, aov]`` (UTC bounds, Decimal money, ``aov`` None when
    there were no orders). The current period runs from the start of the local day ``days - 1``
    days ago; the previous one covers the ``days`` local days before it, cut at the same local
    time of day, so "today so far" is compared with "yesterday until this hour" rather than with
    a whole day. Cancelled orders are excluded; revenue is Σ order total.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    now_utc = _now_utc(now)
    local_now = to_local(now_utc)
    assert local_now is not None
    today = local_now.date()
    cur_start = local_day_start_utc(today - dt.timedelta(days=days - 1))
    cur_end = local_day_start_utc(today + dt.timedelta(days=1))
    prev_start = local_day_start_utc(today - dt.timedelta(days=2 * days - 1))
    prev_end = to_utc(local_now.replace(tzinfo=None) - dt.timedelta(days=days))
    in_current = Order.placed_at >= cur_start
    in_previous = Order.placed_at < prev_end

    def query(s: Session) -> tuple:
        return s.execute(
            select(
                func.sum(case((in_current, Order.total))), func.count(case((in_current, Order.id))),
                func.sum(case((in_previous, Order.total))), func.count(case((in_previous, Order.id))),
            ).where(SOLD, Order.placed_at >= prev_start, Order.placed_at < cur_end)
        ).one()

    cur_rev, cur_n, prev_rev, prev_n = _read(session, query)
    rows = [
        _kpi_row("current", cur_start, cur_end, cur_rev, cur_n),
        _kpi_row("previous", prev_start, prev_end, prev_rev, prev_n),
    ]
    return pd.DataFrame(rows, columns=["period", "start", "end", "revenue", "orders", "aov"])


def _kpi_row(period: str, start: dt.datetime, end: dt.datetime, revenue: Decimal | float | int | None,
             orders: int | None) -> dict[str, Any]:
    n = int(orders or 0)
    total = _money(revenue)
    aov = (total / n).quantize(CENT, rounding=ROUND_HALF_UP) if n else None
    return {"period": period, "start": start, "end": end, "revenue": total, "orders": n, "aov": aov}


def daily_revenue_by_channel(days: int, now: dt.datetime | None = None, *,
                             session: Session | None = None) -> pd.DataFrame:
    """Revenue and order count per local day and channel over the last ``days`` local days.

    Columns ``[day, channel, revenue, orders]`` (``day`` a ``datetime.date``, ``channel`` the
    channel's display name, Decimal revenue), one row for every day × channel that sold anything
    in the window, zero-filled so a trend line does not skip quiet days. Cancelled orders are
    excluded.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    local_now = to_local(_now_utc(now))
    assert local_now is not None
    first_day = local_now.date() - dt.timedelta(days=days - 1)
    day_list = [first_day + dt.timedelta(days=i) for i in range(days)]
    starts = [local_day_start_utc(d) for d in day_list]
    end = local_day_start_utc(day_list[-1] + dt.timedelta(days=1))
    # Latest day first: the first boundary an order is not before is its local day.
    bucket = case(*[(Order.placed_at >= starts[i], i) for i in reversed(range(days))])
    window = (
        select(bucket.label("day_idx"), Order.channel_id, Order.total)
        .where(SOLD, Order.placed_at >= starts[0], Order.placed_at < end)
        .subquery()
    )

    def query(s: Session) -> list:
        return list(s.execute(
            select(window.c.day_idx, Channel.code, Channel.name, func.sum(window.c.total), func.count())
            .join(Channel, Channel.id == window.c.channel_id)
            .group_by(window.c.day_idx, Channel.code, Channel.name)
        ))

    sums = {(r[0], r[2]): (_money(r[3]), int(r[4])) for r in _read(session, query)}
    channels = sorted({name for _, name in sums})
    rows = [
        (day, name, *sums.get((i, name), (ZERO, 0)))
        for i, day in enumerate(day_list) for name in channels
    ]
    return pd.DataFrame(rows, columns=["day", "channel", "revenue", "orders"])


def channel_totals(daily: pd.DataFrame) -> pd.DataFrame:
    """Per-channel totals and revenue share from :func:`daily_revenue_by_channel`'s frame.

    Columns ``[channel, revenue, orders, share]``, biggest channel first; ``share`` is a float
    fraction of total revenue (0 when nothing was sold). Pure pandas on an already aggregated,
    small frame: the dashboard's takeaway and its table come from the same numbers as the chart.
    """
    columns = ["channel", "revenue", "orders", "share"]
    if daily.empty:
        return pd.DataFrame(columns=columns)
    totals = {
        name: (sum(group["revenue"], ZERO), int(group["orders"].sum()))
        for name, group in daily.groupby("channel", sort=False)
    }
    grand = sum((rev for rev, _ in totals.values()), ZERO)
    rows = [
        (name, rev, n, float(rev / grand) if grand else 0.0)
        for name, (rev, n) in sorted(totals.items(), key=lambda kv: (-kv[1][0], kv[0]))
    ]
    return pd.DataFrame(rows, columns=columns)
