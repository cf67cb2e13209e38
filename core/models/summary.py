"""Analytics summary tables: derived data only, rebuilt by core.analytics.summary."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, Money
from core.models.orders import Order
from core.models.stock import StockMovement

# --- analytics summary tables (issue 6, migration 0005) -------------------------------------
# Derived data only: core.analytics.summary rebuilds these from orders, order lines and the
# stock ledger (whole shop-local days, whole customers); no service writes them. Key columns
# use 0 / "" instead of NULL (no warehouse, unknown region) so they can be primary keys. Money
# is whole cents like everywhere (migration 0015): order discounts are stored per line in whole
# cents and returned units carry whole cents (core.domain.money), so the sums here equal the
# same sums over the raw tables to the cent.

# clustered by their (day-first) keys on SQLite, so a date range is one contiguous read
ROWID_OFF: dict[str, Any] = {"sqlite_with_rowid": False}


class AggSalesDaily(Base):
    """Sales per local day × channel × warehouse × ship-to region × category; category ``*``
    holds whole orders (so ``orders`` counts each order once), the others the lines of that
    category (``orders`` = orders containing it)."""

    __tablename__ = "agg_sales_daily"
    # category first: every read picks one category ("*" or a real one), so it reads one run
    __table_args__ = (
        PrimaryKeyConstraint("category", "day", "channel_id", "warehouse_id", "region"),
        ROWID_OFF,
    )
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    channel_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region: Mapped[str] = mapped_column(String(16), primary_key=True)
    category: Mapped[str] = mapped_column(String(64), primary_key=True)
    orders: Mapped[int] = mapped_column(Integer)
    cancelled_orders: Mapped[int] = mapped_column(Integer)
    units: Mapped[int] = mapped_column(Integer)  # ordered, before returns
    returned_units: Mapped[int] = mapped_column(Integer)
    sales: Mapped[Decimal] = mapped_column(Money)  # after line and order discounts, before returns
    returned_sales: Mapped[Decimal] = mapped_column(Money)
    cost: Mapped[Decimal] = mapped_column(Money)  # of the units kept (ordered − returned)
    # net sales of products whose cost is unknown: left out of the margin (migration 0012)
    uncosted_sales: Mapped[Decimal] = mapped_column(Money, server_default="0")
    walk_in_orders: Mapped[int] = mapped_column(Integer, server_default="0")  # sold orders without a customer


class AggSalesHourly(Base):
    """Orders and net sales per local day × hour (same keys as :class:`AggSalesDaily`)."""

    __tablename__ = "agg_sales_hourly"
    __table_args__ = (
        PrimaryKeyConstraint("category", "day", "hour", "channel_id", "warehouse_id", "region"),
        ROWID_OFF,
    )
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    hour: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region: Mapped[str] = mapped_column(String(16), primary_key=True)
    category: Mapped[str] = mapped_column(String(64), primary_key=True)
    orders: Mapped[int] = mapped_column(Integer)
    net_sales: Mapped[Decimal] = mapped_column(Money)


class AggProductDaily(Base):
    """Per local day × product × channel × line warehouse × ship-to region."""

    __tablename__ = "agg_product_daily"
    __table_args__ = (
        Index("ix_agg_product_daily_product_wh_day", "product_id", "warehouse_id", "day"),
        ROWID_OFF,
    )
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    product_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region: Mapped[str] = mapped_column(String(16), primary_key=True)
    orders: Mapped[int] = mapped_column(Integer)
    units: Mapped[int] = mapped_column(Integer)
    returned_units: Mapped[int] = mapped_column(Integer)
    sales: Mapped[Decimal] = mapped_column(Money)
    returned_sales: Mapped[Decimal] = mapped_column(Money)
    cost: Mapped[Decimal] = mapped_column(Money)


class AggBasketPairDaily(Base):
    """Orders per local day that contained both products (``product_a < product_b``)."""

    __tablename__ = "agg_basket_pair_daily"
    __table_args__ = (  # covering: add-on suggestions look pairs up by one product
        Index("ix_agg_basket_pair_daily_a", "product_a", "day", "product_b", "orders"),
        Index("ix_agg_basket_pair_daily_b", "product_b", "day", "product_a", "orders"),
        ROWID_OFF,
    )
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    product_a: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_b: Mapped[int] = mapped_column(Integer, primary_key=True)
    orders: Mapped[int] = mapped_column(Integer)


class AggFulfillmentDaily(Base):
    """Orders per local day (placed) × channel × warehouse × region × stage (approve | ship |
    deliver) × duration bucket, with the hours they took and, for ``ship``, how many left by
    their due time."""

    __tablename__ = "agg_fulfillment_daily"
    __table_args__ = (ROWID_OFF,)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    channel_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region: Mapped[str] = mapped_column(String(16), primary_key=True)
    stage: Mapped[str] = mapped_column(String(8), primary_key=True)
    bucket: Mapped[int] = mapped_column(Integer, primary_key=True)
    orders: Mapped[int] = mapped_column(Integer)
    hours: Mapped[float] = mapped_column(Float)
    on_time: Mapped[int] = mapped_column(Integer)
    late: Mapped[int] = mapped_column(Integer)


class AggCustomer(Base):
    """One row per customer who bought (cancelled orders do not count): acquisition (first
    order's time and channel), last order, and lifetime totals net of returns."""

    __tablename__ = "agg_customers"
    __table_args__ = (  # covering: the RFM scan reads customers by acquisition time
        Index(
            "ix_agg_customers_first_at",
            "first_at",
            "last_at",
            "orders",
            "net_sales",
            "cost",
            "channel_id",
            "region",
            "province",
        ),
        ROWID_OFF,
    )
    customer_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    first_at: Mapped[dt.datetime] = mapped_column(DateTime)
    cohort: Mapped[dt.date] = mapped_column(Date)  # local month of the first order (1st of month)
    channel_id: Mapped[int] = mapped_column(Integer)
    region: Mapped[str] = mapped_column(String(16))
    province: Mapped[str] = mapped_column(String(32))
    last_at: Mapped[dt.datetime] = mapped_column(DateTime)
    orders: Mapped[int] = mapped_column(Integer)
    units: Mapped[int] = mapped_column(Integer)
    net_sales: Mapped[Decimal] = mapped_column(Money, index=True)
    cost: Mapped[Decimal] = mapped_column(Money)
    # net sales of products whose cost is unknown: left out of the margin (migration 0012)
    uncosted_sales: Mapped[Decimal] = mapped_column(Money, server_default="0")


class AggCustomerMonth(Base):
    """A customer's purchases per local month (the input of the cohort table's upkeep)."""

    __tablename__ = "agg_customer_months"
    __table_args__ = (ROWID_OFF,)
    customer_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    orders: Mapped[int] = mapped_column(Integer)
    net_sales: Mapped[Decimal] = mapped_column(Money)
    cost: Mapped[Decimal] = mapped_column(Money)


class AggCohort(Base):
    """Customers acquired in ``cohort`` (month) through a channel, from a region, who bought
    in ``month``, and what they spent then."""

    __tablename__ = "agg_cohorts"
    __table_args__ = (ROWID_OFF,)
    cohort: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    channel_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region: Mapped[str] = mapped_column(String(16), primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    customers: Mapped[int] = mapped_column(Integer)
    orders: Mapped[int] = mapped_column(Integer)
    net_sales: Mapped[Decimal] = mapped_column(Money)
    cost: Mapped[Decimal] = mapped_column(Money)


class AggStockDaily(Base):
    """Ledger per product × warehouse × local day with movements: units in, units out and
    on-hand at the end of that day (a day without a row kept the previous day's on-hand)."""

    __tablename__ = "agg_stock_daily"
    __table_args__ = (  # covering: stock health reads every pair over a date range
        Index("ix_agg_stock_daily_day", "day", "product_id", "warehouse_id", "qty_in", "qty_out", "on_hand"),
        # arrivals only: what stock-age (first in, first out) reads
        Index(
            "ix_agg_stock_daily_arrivals",
            "day",
            "product_id",
            "warehouse_id",
            "qty_in",
            sqlite_where=text("qty_in > 0"),
            postgresql_where=text("qty_in > 0"),
        ),
        ROWID_OFF,
    )
    product_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    qty_in: Mapped[int] = mapped_column(Integer)
    qty_out: Mapped[int] = mapped_column(Integer)
    on_hand: Mapped[int] = mapped_column(Integer)


class AggState(Base):
    """Where the summary refresh stands: what it has seen and under which settings it built."""

    __tablename__ = "agg_state"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    refreshed_at: Mapped[dt.datetime] = mapped_column(DateTime)  # UTC clock when the last refresh began
    built_at: Mapped[dt.datetime] = mapped_column(DateTime)  # last full build
    audit_id: Mapped[int] = mapped_column(Integer)  # data version the summaries reflect
    order_id: Mapped[int] = mapped_column(Integer)  # highest order id seen
    movement_id: Mapped[int] = mapped_column(Integer)  # highest ledger id seen
    timezone: Mapped[str] = mapped_column(String(64))
    logic_version: Mapped[int] = mapped_column(Integer)


class AggCustomerScore(Base):
    """Customers per RFM R × F score as of one local day, per acquisition month × channel ×
    province, with their lifetime orders, net sales and cost. The Customers page reads these
    few thousand rows instead of scoring every customer (250 000 at a million orders); R
    depends on the day, so rows carry the day they were scored for (one day at a time)."""

    __tablename__ = "agg_customer_scores"
    # keyed in the page's grouping order (cohort last): summing a day's rows over the
    # acquisition months is one ordered pass, no sort (18 vs 160 ms on SQLite, 48 000 rows)
    __table_args__ = (PrimaryKeyConstraint("as_of", "r", "f", "province", "channel_id", "cohort"), ROWID_OFF)
    as_of: Mapped[dt.date] = mapped_column(Date, primary_key=True)  # local day R is counted to
    cohort: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    channel_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    province: Mapped[str] = mapped_column(String(32), primary_key=True)
    r: Mapped[int] = mapped_column(Integer, primary_key=True)
    f: Mapped[int] = mapped_column(Integer, primary_key=True)
    region: Mapped[str] = mapped_column(String(16))  # follows from the province
    customers: Mapped[int] = mapped_column(Integer)
    orders: Mapped[int] = mapped_column(Integer)
    net_sales: Mapped[Decimal] = mapped_column(Money)
    cost: Mapped[Decimal] = mapped_column(Money)


class AggCustomerQuintile(Base):
    """The net-sales quintile edges over all buying customers (M score: M5 above the 4th), kept
    by the refresh with ``agg_customers``: PostgreSQL sorts all 250 000 customers to find
    them (0.1–0.5 s per page view at a million orders)."""

    __tablename__ = "agg_customer_quintiles"
    quintile: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # 1..4: 20 … 80 %
    net_sales: Mapped[Decimal] = mapped_column(Money)
    # where the edge stands (migration 0029), so a refresh moves it by the customers it changed
    # instead of sorting all of them again: customers below the edge, at it, and in all
    below: Mapped[int] = mapped_column(Integer, server_default="0")
    at_edge: Mapped[int] = mapped_column(Integer, server_default="0")
    total: Mapped[int] = mapped_column(Integer, server_default="0")


# --- roll-ups of the day tables (migration 0029) ----------------------------------------------
# Derived from the day tables above, not from the raw tables: the same measures summed over
# fewer keys, per day ("narrow" tables for views without channel / warehouse / region
# filters) or per calendar month (``day`` = the month's first day), so a year reads twelve
# month rows and the days of the partly covered months at either end instead of 365 days of
# rows per key. core.analytics.summary.rollups keeps them and picks one per query.


def _rollup(name: str, source: Table, keys: tuple[str, ...]) -> Table:
    """A roll-up of ``source`` keyed by ``keys`` (``day`` among them, in key order) holding
    every measure of ``source``."""
    return Table(
        name, Base.metadata,
        *[Column(k, source.c[k].type, nullable=False) for k in keys],
        *[Column(c.name, c.type, nullable=False) for c in source.columns if not c.primary_key],
        PrimaryKeyConstraint(*keys), **ROWID_OFF,
    )


_SALES, _PRODUCTS = AggSalesDaily.__table__, AggProductDaily.__table__
_FULFILLMENT, _PAIRS = AggFulfillmentDaily.__table__, AggBasketPairDaily.__table__
AGG_SALES_MONTHLY = _rollup("agg_sales_monthly", _SALES, ("category", "day", "channel_id", "warehouse_id", "region"))
AGG_SALES_CHANNEL_DAILY = _rollup("agg_sales_channel_daily", _SALES, ("category", "day", "channel_id"))
AGG_SALES_HOUR_DAILY = _rollup("agg_sales_hour_daily", AggSalesHourly.__table__, ("category", "day", "hour"))
AGG_PRODUCT_TOTAL_DAILY = _rollup("agg_product_total_daily", _PRODUCTS, ("day", "product_id"))
AGG_PRODUCT_WH_MONTHLY = _rollup("agg_product_wh_monthly", _PRODUCTS, ("day", "product_id", "warehouse_id"))
AGG_FULFILLMENT_MONTHLY = _rollup("agg_fulfillment_monthly", _FULFILLMENT,
                                  ("day", "channel_id", "warehouse_id", "region", "stage", "bucket"))
AGG_FULFILLMENT_STAGE_DAILY = _rollup("agg_fulfillment_stage_daily", _FULFILLMENT, ("day", "stage"))
AGG_BASKET_PAIR_MONTHLY = _rollup("agg_basket_pair_monthly", _PAIRS, ("day", "product_a", "product_b"))


# Covering index for the ledger balance (Σ qty_delta per product × warehouse): reconciliation
# reads it index-only and in order, ~10× faster at 1M movements on SQLite than the table scan
# and sort (or the row lookups through ix_stock_movements_product_wh). Migration 0003.
Index(
    "ix_stock_movements_balance",
    StockMovement.product_id,
    StockMovement.warehouse_id,
    StockMovement.qty_delta,
)

# The orders that shipped after their due time, by placement (a few % of all): the Fulfilment
# dashboard's late-order list reads them for any range instead of every order placed in it
# (a year was ~500 000 rows at a million orders). Migration 0029.
Index("ix_orders_shipped_late", Order.placed_at, sqlite_where=text("shipped_at > due_by"),
      postgresql_where=text("shipped_at > due_by"))
