"""Sales measures shared by the sales, channel and product dashboards: which sums the
``agg_sales_daily`` table holds and how KPIs derive from them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func
from sqlalchemy.sql import FromClause
from sqlalchemy.sql.elements import ColumnElement

from core.analytics import _money
from core.analytics.takeaway import ratio
from core.models import AggSalesDaily

SALES = AggSalesDaily.__table__
Measure = Decimal | float | int | None  # a sum as the database returns it (NULL over no rows)
SUMS = ("orders", "cancelled_orders", "units", "returned_units", "sales", "returned_sales", "cost", "uncosted_sales",
        "walk_in_orders")
KPI_COLUMNS = ["period", "start", "end", "orders", "units", "net_sales", "cost", "gross_margin", "margin_rate",
               "aov", "returned_units", "returned_sales", "return_rate", "cancelled_orders", "cancel_rate",
               "uncosted_sales", "walk_in_orders"]


def kpi_row(period: str, start: dt.date, end: dt.date, sums: dict[str, Measure]) -> dict[str, Any]:
    """Derived KPIs from summed measures (shared by the sales and channel tables).

    The margin covers only sales whose cost is known: ``uncosted_sales`` (products with cost
    unknown) are left out of both sides, never counted as 100 % margin; ``margin_rate`` is None
    when no sale has a known cost. ``walk_in_orders``: sold orders without a customer."""
    orders, units, returned = int(sums["orders"] or 0), int(sums["units"] or 0), int(sums["returned_units"] or 0)
    sales, returned_sales = _money(sums["sales"]), _money(sums["returned_sales"])
    cost = _money(sums["cost"])
    net = sales - returned_sales
    uncosted = _money(sums.get("uncosted_sales") or 0)
    costed = net - uncosted
    cancelled = int(sums["cancelled_orders"] or 0)
    return {
        "period": period, "start": start, "end": end, "orders": orders, "units": units - returned,
        "net_sales": net, "cost": cost, "gross_margin": costed - cost, "margin_rate": ratio(costed - cost, costed),
        "uncosted_sales": uncosted, "walk_in_orders": int(sums.get("walk_in_orders") or 0),
        "aov": (net / orders).quantize(Decimal("0.01")) if orders else None,
        "returned_units": returned, "returned_sales": returned_sales, "return_rate": ratio(returned, units),
        "cancelled_orders": cancelled, "cancel_rate": ratio(cancelled, orders + cancelled),
    }


def two_periods(rel: FromClause, start: dt.date) -> list[ColumnElement]:
    """Σ of every :data:`SUMS` measure for the current period (``day >= start``) and for the
    previous one, alternating: one scan reads both sides of a period-over-period comparison."""
    current, previous = rel.c.day >= start, rel.c.day < start
    columns: list[ColumnElement] = []
    for m in SUMS:  # the measure first in each CASE: its type (money) is the CASE's type
        columns += [func.sum(case((current, rel.c[m]), else_=0)), func.sum(case((previous, rel.c[m]), else_=0))]
    return columns


def split_periods(values: Sequence[Measure]) -> tuple[dict[str, Measure], dict[str, Measure]]:
    """The row of :func:`two_periods` as (current, previous) dicts of measure → sum."""
    return ({m: values[2 * i] for i, m in enumerate(SUMS)}, {m: values[2 * i + 1] for i, m in enumerate(SUMS)})
