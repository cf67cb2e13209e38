"""One read per dashboard page: everything a page shows, in one read-only transaction.

A page makes exactly this one call (through ``core.webui.cached_read``), so its numbers come
from one consistent snapshot and the cache holds one entry per page and filter set. The
bundles are frozen dataclasses of DataFrames (picklable, hence cacheable).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from core.analytics import channels, customers, dims, fulfillment, products, sales, stock_health
from core.analytics.filters import Filters
from core.asof import check_as_of
from core.db import read_only
from core.timeutil import utcnow


@dataclass(frozen=True)
class SalesDashboard:
    kpis: pd.DataFrame
    trend: pd.DataFrame
    channels: pd.DataFrame
    heatmap: pd.DataFrame
    promotions: pd.DataFrame
    promotion_days: pd.DataFrame


@read_only
def sales_dashboard(session: Session, f: Filters, grain: str = "day", today: dt.date | None = None
                    ) -> SalesDashboard:
    promos, days = sales.promotions(f, today, session=session)
    return SalesDashboard(sales.kpis(f, session=session), sales.trend(f, grain, session=session),
                          channels.channel_table(f, session=session), sales.heatmap(f, session=session), promos,
                          days)


@dataclass(frozen=True)
class ChannelsDashboard:
    table: pd.DataFrame
    trend: pd.DataFrame


@read_only
def channels_dashboard(session: Session, f: Filters, grain: str = "week") -> ChannelsDashboard:
    return ChannelsDashboard(channels.channel_table(f, session=session), sales.trend(f, grain, session=session))


@dataclass(frozen=True)
class CustomersDashboard:
    segments: pd.DataFrame
    grid: pd.DataFrame
    regions: pd.DataFrame
    repeat: pd.DataFrame
    cohorts: pd.DataFrame
    clv: pd.DataFrame
    top: pd.DataFrame


@read_only
def customers_dashboard(session: Session, f: Filters, today: dt.date | None = None) -> CustomersDashboard:
    """Every table of the Customers page as of the local day ``today`` (default today; a past
    day counts only the orders placed up to it, a future one is refused)."""
    today = check_as_of(today)
    profile = customers.rfm_profile(f, today, session=session)
    return CustomersDashboard(
        customers.segments(profile), customers.score_grid(profile), customers.regions(profile),
        customers.repeat_rates(profile, dims.channels(session)), customers.cohorts(f, today, session=session),
        customers.clv(f, today, session=session), customers.top_customers(f, today=today, session=session))


@dataclass(frozen=True)
class ProductsDashboard:
    performance: pd.DataFrame
    classes: pd.DataFrame
    matrix: pd.DataFrame
    pairs: pd.DataFrame


@read_only
def products_dashboard(session: Session, f: Filters) -> ProductsDashboard:
    weeks = products.product_weeks(f, session=session)
    perf = products.sku_performance(f, weeks, session=session)
    classes = products.abc_xyz(f, weeks, perf, session=session)
    return ProductsDashboard(perf, classes, products.abc_xyz_matrix(classes),
                             products.basket_pairs(f, session=session))


@dataclass(frozen=True)
class FulfillmentDashboard:
    distributions: pd.DataFrame
    stages: pd.DataFrame
    on_time: pd.DataFrame
    breaches: pd.DataFrame
    late: pd.DataFrame


@read_only
def fulfillment_dashboard(session: Session, f: Filters, now: dt.datetime | None = None) -> FulfillmentDashboard:
    now = now or utcnow()
    dist = fulfillment.distributions(f, session=session)
    return FulfillmentDashboard(dist, fulfillment.stage_summary(dist), fulfillment.on_time_by_day(f, session=session),
                                fulfillment.sla_breaches(f, now, session=session),
                                fulfillment.late_orders(f, now, session=session))


@dataclass(frozen=True)
class StockDashboard:
    health: pd.DataFrame
    aging: pd.DataFrame
    overview: dict[str, Any]


@read_only
def stock_dashboard(session: Session, f: Filters, today: dt.date | None = None) -> StockDashboard:
    health = stock_health.stock_health(f, today, session=session)
    return StockDashboard(health, stock_health.aging(f, today, session=session),
                          stock_health.overview(health, f.days))
