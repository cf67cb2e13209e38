"""Purchase orders, forecast runs, forecasts and replenishment suggestions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, Money

# --- purchasing and planning -----------------------------------------------------------------


class PurchaseOrder(Base):
    __tablename__ = "purchase_orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    status: Mapped[str] = mapped_column(String(20), default="draft")  # draft|sent|partial|received|cancelled
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    expected_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    received_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    total: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    created_by: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)


class POLine(Base):
    __tablename__ = "po_lines"
    __table_args__ = (
        CheckConstraint("qty_ordered > 0", name="qty_positive"),
        CheckConstraint("qty_received >= 0 AND qty_received <= qty_ordered", name="received_range"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    po_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    qty_ordered: Mapped[int] = mapped_column(Integer)
    qty_received: Mapped[int] = mapped_column(Integer, default=0)
    unit_cost: Mapped[Decimal] = mapped_column(Money)
    suggestion_id: Mapped[int | None] = mapped_column(ForeignKey("replenishment_suggestions.id"))


class ForecastRun(Base):
    __tablename__ = "forecast_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(20), default="running")  # running|succeeded|failed
    horizon: Mapped[int] = mapped_column(Integer, default=28)
    backend: Mapped[str] = mapped_column(String(16), default="local")
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    # written by the runner while it works (migration 0006): a "running" run whose heartbeat
    # stopped (process killed) is marked failed by the next run instead of blocking it forever
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class Forecast(Base):
    __tablename__ = "forecasts"
    __table_args__ = (Index("ix_forecasts_series", "run_id", "product_id", "warehouse_id", "ds"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("forecast_runs.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    ds: Mapped[dt.date] = mapped_column(Date)
    yhat: Mapped[float] = mapped_column(Float)
    yhat_lower: Mapped[float | None] = mapped_column(Float)
    yhat_upper: Mapped[float | None] = mapped_column(Float)
    model: Mapped[str] = mapped_column(String(32))


class ReplenishmentSuggestion(Base):
    __tablename__ = "replenishment_suggestions"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("forecast_runs.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    demand_lead_time: Mapped[float] = mapped_column(Float)
    demand_sigma: Mapped[float] = mapped_column(Float)
    safety_stock: Mapped[int] = mapped_column(Integer)
    reorder_point: Mapped[int] = mapped_column(Integer)
    order_up_to: Mapped[int] = mapped_column(Integer)
    on_hand: Mapped[int] = mapped_column(Integer)
    reserved: Mapped[int] = mapped_column(Integer)
    on_order: Mapped[int] = mapped_column(Integer)
    suggested_qty: Mapped[int] = mapped_column(Integer)
    final_qty: Mapped[int | None] = mapped_column(Integer)
    # open|accepted|edited|dismissed, then ordered (on a draft PO) or superseded (a newer run)
    status: Mapped[str] = mapped_column(String(20), default="open")
    reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # the inputs of the arithmetic, kept so the buyer sees why (migration 0006)
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"))
    lead_time_days: Mapped[int] = mapped_column(Integer, default=0)
    review_days: Mapped[int] = mapped_column(Integer, default=0)
    service_level: Mapped[float] = mapped_column(Float, default=0.95)
    backordered: Mapped[int] = mapped_column(Integer, default=0)
    pending_qty: Mapped[int] = mapped_column(Integer, default=0)  # accepted, not yet on a PO
    in_transit: Mapped[int] = mapped_column(Integer, default=0)  # inbound transfers on the way
    daily_demand: Mapped[float] = mapped_column(Float, default=0.0)
    days_to_stockout: Mapped[float | None] = mapped_column(Float)
    unit_cost: Mapped[Decimal | None] = mapped_column(
        Money, default=None
    )  # None: the product's cost is unknown
    pack_size: Mapped[int] = mapped_column(Integer, default=1)
    moq: Mapped[int] = mapped_column(Integer, default=1)


# --- forecasting and planning (issue 7, migration 0006) -------------------------------------


class ForecastSeries(Base):
    """One product × warehouse of a forecast run: the selected model and its backtest accuracy.

    ``metrics`` holds every candidate's backtest figures (WAPE on weekly buckets and on the
    lead-time total, daily MASE, bias and the error sums that pool across series), so the
    buyer can see why the selected model won; the flat columns are the winner's.
    """

    __tablename__ = "forecast_series"
    __table_args__ = (UniqueConstraint("run_id", "product_id", "warehouse_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("forecast_runs.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    model: Mapped[str] = mapped_column(String(32))
    history_days: Mapped[int] = mapped_column(Integer)
    folds: Mapped[int] = mapped_column(Integer)
    lead_time_days: Mapped[int] = mapped_column(Integer)
    wape_weekly: Mapped[float | None] = mapped_column(Float)
    wape_lead_time: Mapped[float | None] = mapped_column(Float)
    mase: Mapped[float | None] = mapped_column(Float)
    bias: Mapped[float | None] = mapped_column(Float)
    sigma_daily: Mapped[float] = mapped_column(Float)
    sigma_lead_time: Mapped[float] = mapped_column(Float)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class PlanningEvent(Base):
    """A day range the forecasts must know about: a closure (shop or one warehouse shut; those
    days neither train nor score a model and are forecast as zero) or a promotion of the shop's
    own (a holiday for Prophet, next to the built-in 618 / 双11 / 年货节)."""

    __tablename__ = "planning_events"
    __table_args__ = (
        CheckConstraint("end_date >= start_date", name="range_ordered"),
        CheckConstraint("kind IN ('closure', 'promotion')", name="kind_known"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)
    warehouse_id: Mapped[int | None] = mapped_column(ForeignKey("warehouses.id"))  # None: every warehouse
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(64))
