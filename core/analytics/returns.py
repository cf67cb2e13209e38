"""Read-only returns analytics: return rates by SKU, category and channel, reasons, time to
resolve, the open backlog, and SKUs returned far more often than their category.

Rates are **cohort** rates: of the units shipped on orders placed in the period, how many are
under an RMA (``order_lines.qty_returned``: open or completed RMAs, rejected and cancelled
ones excluded). Every number therefore refers to the same goods; the latest weeks read low
because their buyers can still return. Money out (refunds) is counted when it was paid, time to
resolve when the RMA was closed, the backlog as of now. Everything aggregates in SQL; only
closed-RMA durations (a few per cent of orders) reach pandas.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from core.analytics import SOLD, _money, _now_utc, _read
from core.models import Channel, Order, OrderLine, Product, Refund, Return, ReturnLine
from core.timeutil import local_day_start_utc, to_local

DIMENSIONS = ("sku", "category", "channel")
COUNTED = Return.status.not_in(("rejected", "cancelled"))  # RMAs whose units count as returned
OPEN_STATUSES = ("requested", "approved", "received", "inspected")
# a SKU is flagged when all hold: enough evidence, much higher than its category, unlikely by chance
FLAG_MIN_SHIPPED = 20
FLAG_MIN_RETURNED = 3
FLAG_RATIO = 2.0
FLAG_Z = 3.0

KEY_COLUMNS = {"sku": ["sku", "name", "category"], "category": ["category"], "channel": ["channel"]}
RATE_COLUMNS = ["rma_shipped", "rma_returned", "rma_return_rate"]
REASON_COLUMNS = ["rma_reason", "rma_count", "rma_returned", "rma_refunded", "rma_unit_share", "rma_return_rate"]
RESOLVE_COLUMNS = ["rma_kind", "rma_resolved", "rma_median_days", "rma_p90_days", "rma_mean_days"]
BACKLOG_COLUMNS = ["rma_status", "rma_count", "rma_oldest_days"]
FLAG_COLUMNS = ["sku", "name", "category", "rma_shipped", "rma_returned", "rma_return_rate", "rma_category_rate",
                "rma_rate_ratio", "rma_z_score", "rma_flagged"]


def period_bounds(days: int, now: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime]:
    """UTC [start, end) of the last ``days`` shop-local days including today."""
    if days < 1:
        raise ValueError("days must be at least 1")
    local_now = to_local(_now_utc(now))
    assert local_now is not None
    today = local_now.date()
    return local_day_start_utc(today - dt.timedelta(days=days - 1)), local_day_start_utc(today + dt.timedelta(days=1))


def _cohort(start: dt.datetime, end: dt.datetime) -> list[ColumnElement[bool]]:
    return [SOLD, Order.placed_at >= start, Order.placed_at < end]


def _dimension_keys(dimension: str) -> list[InstrumentedAttribute[str]]:
    if dimension not in DIMENSIONS:
        raise ValueError(f"dimension must be one of {DIMENSIONS}")
    if dimension == "sku":
        return [Product.sku, Product.name, Product.category]
    if dimension == "category":
        return [Product.category]
    return [Channel.name]


def return_rates(dimension: str, days: int, now: dt.datetime | None = None, *,
                 session: Session | None = None) -> pd.DataFrame:
    """Units shipped, units returned and the return rate per ``dimension`` (sku, category or
    channel) for orders placed in the last ``days`` local days, highest rate first.

    Columns: the dimension's key columns (``sku, name, category`` / ``category`` /
    ``channel``), then ``rma_shipped, rma_returned, rma_return_rate`` (float fraction).
    """
    keys = _dimension_keys(dimension)
    start, end = period_bounds(days, now)
    stmt = (
        select(*keys, func.sum(OrderLine.qty_shipped), func.sum(OrderLine.qty_returned))
        .join(Order, Order.id == OrderLine.order_id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(*_cohort(start, end), OrderLine.qty_shipped > 0)
        .group_by(*keys)
    )
    if dimension == "channel":
        stmt = stmt.join(Channel, Channel.id == Order.channel_id)
    rows = _read(session, lambda s: s.execute(stmt).all())
    columns = KEY_COLUMNS[dimension]
    frame = pd.DataFrame([(*r[:-2], int(r[-2] or 0), int(r[-1] or 0), int(r[-1] or 0) / int(r[-2]) if r[-2] else 0.0)
                          for r in rows], columns=[*columns, *RATE_COLUMNS])
    return frame.sort_values(["rma_return_rate", "rma_returned", columns[0]], ascending=[False, False, True],
                             ignore_index=True)


def shipped_units(days: int, now: dt.datetime | None = None, *, session: Session | None = None) -> int:
    """Units shipped on the cohort's orders (the denominator of every rate)."""
    start, end = period_bounds(days, now)
    stmt = (select(func.sum(OrderLine.qty_shipped)).join(Order, Order.id == OrderLine.order_id)
            .where(*_cohort(start, end)))
    return int(_read(session, lambda s: s.execute(stmt).scalar_one()) or 0)


def return_reasons(days: int, now: dt.datetime | None = None, *, session: Session | None = None) -> pd.DataFrame:
    """Why goods come back: per reason the RMAs, units, refunds paid on them, the reason's
    share of returned units and its return rate (units ÷ all units shipped), top reason first."""
    start, end = period_bounds(days, now)
    units = (select(ReturnLine.return_id, func.sum(ReturnLine.qty).label("units"))
             .group_by(ReturnLine.return_id).subquery())
    stmt = (
        select(Return.reason_code, func.count(Return.id), func.sum(units.c.units), func.sum(Return.refund_amount))
        .join(units, units.c.return_id == Return.id)
        .join(Order, Order.id == Return.order_id)
        .where(COUNTED, *_cohort(start, end))
        .group_by(Return.reason_code)
    )

    def query(s: Session) -> tuple[Sequence[Any], int]:
        return s.execute(stmt).all(), shipped_units(days, now, session=s)

    rows, shipped = _read(session, query)
    total_units = sum(int(r[2] or 0) for r in rows)
    frame = pd.DataFrame([
        (r[0], int(r[1]), int(r[2] or 0), _money(r[3]), int(r[2] or 0) / total_units if total_units else 0.0,
         int(r[2] or 0) / shipped if shipped else 0.0) for r in rows], columns=REASON_COLUMNS)
    return frame.sort_values(["rma_returned", "rma_reason"], ascending=[False, True], ignore_index=True)


def reason_mix(dimension: str, days: int, now: dt.datetime | None = None, *,
               session: Session | None = None) -> pd.DataFrame:
    """Returned units per (category or channel, reason): which reasons drive which area.
    Columns ``[<dimension>, rma_reason, rma_returned]``."""
    if dimension not in ("category", "channel"):
        raise ValueError("dimension must be category or channel")
    key = _dimension_keys(dimension)[0]
    start, end = period_bounds(days, now)
    stmt = (
        select(key, Return.reason_code, func.sum(ReturnLine.qty))
        .select_from(ReturnLine)
        .join(Return, Return.id == ReturnLine.return_id)
        .join(OrderLine, OrderLine.id == ReturnLine.order_line_id)
        .join(Order, Order.id == OrderLine.order_id)
        .join(Product, Product.id == OrderLine.product_id)
        .join(Channel, Channel.id == Order.channel_id)
        .where(COUNTED, *_cohort(start, end))
        .group_by(key, Return.reason_code)
    )
    rows = _read(session, lambda s: s.execute(stmt).all())
    frame = pd.DataFrame([(r[0], r[1], int(r[2] or 0)) for r in rows], columns=[dimension, "rma_reason", "rma_returned"])
    return frame.sort_values([dimension, "rma_returned"], ascending=[True, False], ignore_index=True)


def _durations(days: int, now: dt.datetime | None, session: Session | None) -> pd.DataFrame:
    """``[rma_kind, days]`` for every RMA closed (or rejected/cancelled) in the period."""
    start, end = period_bounds(days, now)
    stmt = (select(Return.kind, Return.created_at, Return.closed_at)
            .where(Return.closed_at >= start, Return.closed_at < end))
    frame = pd.DataFrame(_read(session, lambda s: s.execute(stmt).all()), columns=["rma_kind", "created_at", "closed_at"])
    spent = pd.to_datetime(frame["closed_at"]) - pd.to_datetime(frame["created_at"])
    return frame.assign(days=spent.dt.total_seconds() / 86400)[["rma_kind", "days"]]


def resolution_times(days: int, now: dt.datetime | None = None, *, session: Session | None = None) -> pd.DataFrame:
    """Days from request to closing for RMAs closed in the period, per kind (rejected and
    cancelled ones included: the customer waited for those answers too)."""
    frame = _durations(days, now, session)
    if frame.empty:
        return pd.DataFrame(columns=RESOLVE_COLUMNS)
    grouped = frame.groupby("rma_kind")["days"]
    out = pd.DataFrame({"rma_resolved": grouped.size(), "rma_median_days": grouped.median(),
                        "rma_p90_days": grouped.quantile(0.9), "rma_mean_days": grouped.mean()}).reset_index()
    return out[RESOLVE_COLUMNS].sort_values("rma_resolved", ascending=False, ignore_index=True)


def median_resolution_days(days: int, now: dt.datetime | None = None, *,
                           session: Session | None = None) -> float | None:
    """Median days to resolve over every RMA closed in the period; None when there were none."""
    frame = _durations(days, now, session)
    return None if frame.empty else float(frame["days"].median())


def open_backlog(now: dt.datetime | None = None, *, session: Session | None = None) -> pd.DataFrame:
    """Open RMAs per status with the age in days of the oldest (what the desk must chase)."""
    stmt = (select(Return.status, func.count(Return.id), func.min(Return.created_at))
            .where(Return.status.in_(OPEN_STATUSES)).group_by(Return.status))
    rows = {r[0]: r for r in _read(session, lambda s: s.execute(stmt).all())}
    now_utc = _now_utc(now)
    data = [(status, int(rows[status][1]), (now_utc - rows[status][2]).total_seconds() / 86400)
            for status in OPEN_STATUSES if status in rows]
    return pd.DataFrame(data, columns=BACKLOG_COLUMNS)


def refunds_paid(days: int, now: dt.datetime | None = None, *, session: Session | None = None) -> Decimal:
    """Money refunded in the period, by the date the refund was paid (RMAs refunded without a
    refund record — imported or demo history — count on their closing date)."""
    start, end = period_bounds(days, now)
    paid_at = func.coalesce(Refund.at, Return.closed_at)
    stmt = (select(func.sum(Return.refund_amount)).outerjoin(Refund, Refund.return_id == Return.id)
            .where(Return.refund_amount > 0, paid_at >= start, paid_at < end))
    return _money(_read(session, lambda s: s.execute(stmt).scalar_one()))


def flag_outliers(sku_rates: pd.DataFrame) -> pd.DataFrame:
    """Compare each SKU with the rest of its category (from :func:`return_rates` by sku).

    ``rma_category_rate`` is the return rate of the category's *other* SKUs, so one bad SKU
    does not hide by raising its own benchmark. ``rma_z_score`` is the binomial test statistic
    of the SKU's rate against that benchmark. ``rma_flagged`` when the SKU shipped at least
    FLAG_MIN_SHIPPED units, had FLAG_MIN_RETURNED returned, its rate is at least FLAG_RATIO
    times the benchmark and z ≥ FLAG_Z. Flagged SKUs first, then by ratio.
    """
    if sku_rates.empty:
        return pd.DataFrame(columns=FLAG_COLUMNS)
    totals = sku_rates.groupby("category")[["rma_shipped", "rma_returned"]].transform("sum")
    rest_shipped = totals["rma_shipped"] - sku_rates["rma_shipped"]
    rest_returned = totals["rma_returned"] - sku_rates["rma_returned"]
    rows = []
    for row, r_shipped, r_returned in zip(sku_rates.itertuples(index=False), rest_shipped, rest_returned,
                                          strict=True):
        shipped, returned, rate = row.rma_shipped, row.rma_returned, row.rma_return_rate
        if r_shipped <= 0:
            continue  # the only SKU of its category: nothing to compare with
        # a category with no returns at all still has a small benchmark (half a return)
        base = max(r_returned, 0.5) / r_shipped
        z = (rate - base) / math.sqrt(base * (1 - base) / shipped) if 0 < base < 1 else 0.0
        ratio = rate / base
        flagged = shipped >= FLAG_MIN_SHIPPED and returned >= FLAG_MIN_RETURNED and ratio >= FLAG_RATIO and z >= FLAG_Z
        rows.append((row.sku, row.name, row.category, shipped, returned, rate, r_returned / r_shipped, ratio, z,
                     flagged))
    frame = pd.DataFrame(rows, columns=FLAG_COLUMNS)
    return frame.sort_values(["rma_flagged", "rma_rate_ratio", "sku"], ascending=[False, False, True],
                             ignore_index=True)
