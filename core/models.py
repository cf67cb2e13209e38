"""SQLAlchemy 2.x typed models for the whole OMS data model (see docs/architecture.md).

Conventions that every service relies on:
- money columns are ``Numeric(12, 2)`` and surface as ``Decimal``;
- timestamps are naive ``DateTime`` values holding **UTC** (``core.timeutil.utcnow()``), so
  SQLite and PostgreSQL store and compare them the same way;
- quantities are integers; the stock invariants live in CHECK constraints so that even a
  buggy caller cannot leave ``reserved > on_hand`` behind.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

Money = Numeric(12, 2)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, Decimal: Money}


# --- reference data -------------------------------------------------------------------------


class Channel(Base):
    __tablename__ = "channels"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))  # store | marketplace | social | mini_program | group_buy | b2b
    return_window_days: Mapped[int] = mapped_column(Integer, default=7)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Warehouse(Base):
    __tablename__ = "warehouses"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    region: Mapped[str] = mapped_column(String(16))
    province: Mapped[str] = mapped_column(String(32))
    city: Mapped[str] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(String(200))
    is_store: Mapped[bool] = mapped_column(Boolean, default=False)
    ship_cost: Mapped[Decimal] = mapped_column(Money, default=Decimal("8.00"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Supplier(Base):
    __tablename__ = "suppliers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    lead_time_days: Mapped[int] = mapped_column(Integer, default=7)
    moq: Mapped[int] = mapped_column(Integer, default=1)
    contact: Mapped[str | None] = mapped_column(String(128))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("unit_price >= 0", name="price_nonneg"),
        CheckConstraint("unit_cost >= 0", name="cost_nonneg"),
        CheckConstraint("pack_size >= 1", name="pack_positive"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    barcode: Mapped[str | None] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    category: Mapped[str] = mapped_column(String(64), index=True)
    brand: Mapped[str | None] = mapped_column(String(64))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    unit_price: Mapped[Decimal] = mapped_column(Money)
    # None: cost unknown (e.g. created by an order import without a cost column) — left out of
    # margins instead of counting as a 100 % margin (migration 0012)
    unit_cost: Mapped[Decimal | None] = mapped_column(Money, default=None)
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"))
    pack_size: Mapped[int] = mapped_column(Integer, default=1)
    lead_time_days: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    # shipping weight per unit in kg (migration 0009m); None = not recorded
    weight_kg: Mapped[Decimal | None] = mapped_column(Numeric(9, 3))


class ProductBarcode(Base):
    """Every barcode of every product (several per product: an EAN, a shop label, an old
    packaging); ``products.barcode`` mirrors the primary one (core.barcodes keeps them in step)."""

    __tablename__ = "product_barcodes"
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    barcode: Mapped[str] = mapped_column(String(32), unique=True)


# --- customers -------------------------------------------------------------------------------


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    email: Mapped[str | None] = mapped_column(String(200), index=True)
    province: Mapped[str | None] = mapped_column(String(32))
    city: Mapped[str | None] = mapped_column(String(32))
    district: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(String(300))
    tier: Mapped[str] = mapped_column(String(16), default="normal")
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    # set when this profile was merged into another (migration 0009m): its orders and
    # identities moved there; the row stays for the record and lookups follow the pointer
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    merged_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class CustomerIdentity(Base):
    __tablename__ = "customer_identities"
    __table_args__ = (UniqueConstraint("channel_id", "external_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    external_id: Mapped[str] = mapped_column(String(100))


# --- orders ----------------------------------------------------------------------------------


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("channel_id", "external_ref"),
        CheckConstraint("total >= 0", name="total_nonneg"),
        CheckConstraint("version >= 1", name="version_positive"),
        Index("ix_orders_status_placed", "status", "placed_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    # (channel_id, external_ref) is unique, which also indexes channel_id on its own.
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    external_ref: Mapped[str | None] = mapped_column(String(100))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    payment_status: Mapped[str] = mapped_column(String(20), default="unpaid")
    payment_method: Mapped[str | None] = mapped_column(String(20))
    delivery_method: Mapped[str] = mapped_column(String(20), default="express")
    ship_name: Mapped[str | None] = mapped_column(String(100))
    ship_phone: Mapped[str | None] = mapped_column(String(20), index=True)
    ship_province: Mapped[str | None] = mapped_column(String(32))
    ship_city: Mapped[str | None] = mapped_column(String(32))
    ship_district: Mapped[str | None] = mapped_column(String(32))
    ship_address: Mapped[str | None] = mapped_column(String(300))
    warehouse_id: Mapped[int | None] = mapped_column(ForeignKey("warehouses.id"), index=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    subtotal: Mapped[Decimal] = mapped_column(Money)
    discount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    shipping_fee: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    total: Mapped[Decimal] = mapped_column(Money)
    placed_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    approved_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    shipped_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    due_by: Mapped[dt.datetime | None] = mapped_column(DateTime)
    carrier: Mapped[str | None] = mapped_column(String(32))
    tracking_no: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(64))
    # indexed (migration 0005): the analytics refresh finds changed orders by it
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("qty > 0", name="qty_positive"),
        CheckConstraint("unit_price >= 0", name="price_nonneg"),
        CheckConstraint("qty_reserved >= 0 AND qty_reserved <= qty", name="reserved_range"),
        CheckConstraint("qty_shipped >= 0 AND qty_shipped <= qty", name="shipped_range"),
        CheckConstraint("qty_returned >= 0 AND qty_returned <= qty_shipped", name="returned_range"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    qty: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(Money)
    discount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    line_total: Mapped[Decimal] = mapped_column(Money)
    warehouse_id: Mapped[int | None] = mapped_column(ForeignKey("warehouses.id"))
    qty_reserved: Mapped[int] = mapped_column(Integer, default=0)
    qty_shipped: Mapped[int] = mapped_column(Integer, default=0)
    qty_returned: Mapped[int] = mapped_column(Integer, default=0)


class OrderEvent(Base):
    __tablename__ = "order_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(64))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)


# --- stock -----------------------------------------------------------------------------------


class StockLevel(Base):
    __tablename__ = "stock_levels"
    __table_args__ = (
        UniqueConstraint("product_id", "warehouse_id"),
        CheckConstraint("on_hand >= 0", name="on_hand_nonneg"),
        CheckConstraint("reserved >= 0", name="reserved_nonneg"),
        CheckConstraint("reserved <= on_hand", name="reserved_le_on_hand"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"), index=True)
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    safety_stock: Mapped[int] = mapped_column(Integer, default=0)
    reorder_point: Mapped[int] = mapped_column(Integer, default=0)


MOVEMENT_KINDS = (
    "initial",
    "receipt",
    "shipment",
    "adjustment",
    "count",
    "transfer_out",
    "transfer_in",
    "return_restock",
    "write_off",
)


class StockMovement(Base):
    """Append-only ledger: Σ qty_delta per (product, warehouse) equals stock_levels.on_hand."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        Index("ix_stock_movements_product_wh", "product_id", "warehouse_id"),
        CheckConstraint("qty_delta <> 0", name="delta_nonzero"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    qty_delta: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(200))
    ref_type: Mapped[str | None] = mapped_column(String(20))
    ref_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(64))


class Transfer(Base):
    __tablename__ = "transfers"
    __table_args__ = (CheckConstraint("from_warehouse_id <> to_warehouse_id", name="distinct_ends"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    from_warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    to_warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    status: Mapped[str] = mapped_column(String(20), default="draft")  # draft|shipped|received|cancelled
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    shipped_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    received_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)


class TransferLine(Base):
    __tablename__ = "transfer_lines"
    __table_args__ = (
        CheckConstraint("qty > 0", name="qty_positive"),
        CheckConstraint("qty_received >= 0 AND qty_received <= qty_shipped", name="received_range"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("transfers.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    qty: Mapped[int] = mapped_column(Integer)
    qty_shipped: Mapped[int] = mapped_column(Integer, default=0)
    qty_received: Mapped[int] = mapped_column(Integer, default=0)


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
    unit_cost: Mapped[Decimal | None] = mapped_column(Money, default=None)  # None: the product's cost is unknown
    pack_size: Mapped[int] = mapped_column(Integer, default=1)
    moq: Mapped[int] = mapped_column(Integer, default=1)


# --- after-sales -----------------------------------------------------------------------------


class Return(Base):
    __tablename__ = "returns"
    __table_args__ = (
        CheckConstraint("refund_amount >= 0", name="refund_nonneg"),
        Index("ix_returns_status_created", "status", "created_at"),  # the service queue (0004)
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # return|exchange|refund_only
    status: Mapped[str] = mapped_column(String(16), default="requested")
    reason_code: Mapped[str] = mapped_column(String(32))
    resolution: Mapped[str | None] = mapped_column(String(32))
    refund_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    # the order's shipping fee included in the computed refund, decided at opening (0004)
    shipping_refund: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    note: Mapped[str | None] = mapped_column(Text)
    policy_override_by: Mapped[str | None] = mapped_column(String(64))
    replacement_order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # a refund waiting for a second person's approval (0009_refund_approval); empty otherwise
    refund_request_amount: Mapped[Decimal | None] = mapped_column(Money)
    refund_request_by: Mapped[str | None] = mapped_column(String(64))
    refund_request_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    refund_request_note: Mapped[str | None] = mapped_column(Text)


class ReturnLine(Base):
    __tablename__ = "return_lines"
    __table_args__ = (
        CheckConstraint("qty > 0", name="qty_positive"),
        CheckConstraint("restocked_qty >= 0 AND restocked_qty <= qty", name="restocked_range"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("returns.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), index=True)
    qty: Mapped[int] = mapped_column(Integer)
    condition: Mapped[str | None] = mapped_column(String(16))  # resellable|damaged|partial
    restocked_qty: Mapped[int] = mapped_column(Integer, default=0)
    warehouse_id: Mapped[int | None] = mapped_column(ForeignKey("warehouses.id"))
    refund_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    # exchange: the product sent in its place (None → the same SKU); inspection: why written off (0004)
    replacement_product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    damage_reason: Mapped[str | None] = mapped_column(String(200))


# --- configuration, people, audit ------------------------------------------------------------


class Rule(Base):
    __tablename__ = "rules"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))  # review|allocation|carrier|tagging
    priority: Mapped[int] = mapped_column(Integer, default=100)
    condition: Mapped[dict[str, Any]] = mapped_column(JSON)
    action: Mapped[dict[str, Any]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_by: Mapped[str] = mapped_column(String(64))


class Setting(Base):
    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_by: Mapped[str] = mapped_column(String(64))


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class LoginAttempt(Base):
    """One sign-in attempt, for the backoff per (username, client) and per client
    (``core.services.users``). Not an audit record: rows older than the backoff window are purged."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_client_at", "client", "at"),
        Index("ix_login_attempts_username_client_at", "username", "client", "at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    username: Mapped[str] = mapped_column(String(64))
    client: Mapped[str] = mapped_column(String(64))
    success: Mapped[bool] = mapped_column(Boolean)


class AuditLog(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_entity", "entity", "entity_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ImportBatch(Base):
    __tablename__ = "import_batches"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # orders|products|stock|customers
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id"))
    file_name: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    profile: Mapped[str | None] = mapped_column(String(100))
    rows: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20))  # dry_run|rejected|imported|partial|failed
    message: Mapped[str | None] = mapped_column(Text)
    # what the attempt did: orders created/skipped, customers merged, … (core.services.imports)
    stats: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(64))


class ImportError_(Base):
    __tablename__ = "import_errors"
    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batches.id"), index=True)
    row: Mapped[int] = mapped_column(Integer)
    field: Mapped[str | None] = mapped_column(String(64))
    value: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class DQRun(Base):
    __tablename__ = "dq_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    suite: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(64))
    success: Mapped[bool] = mapped_column(Boolean)
    stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    results: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_by: Mapped[str] = mapped_column(String(64))


class Alert(Base):
    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    severity: Mapped[str] = mapped_column(String(8), default="warning")
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # set when the condition behind a scanned alert has cleared (migration 0003)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class Notification(Base):
    """Outbox of customer-visible messages; a sender process would read and mark these."""

    __tablename__ = "notifications"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    channel: Mapped[str] = mapped_column(String(16))  # sms|email|webhook
    recipient: Mapped[str | None] = mapped_column(String(200))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    event: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class Sequence(Base):
    __tablename__ = "sequences"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


# --- inventory and fulfillment (issue 4, migration 0003) ------------------------------------


class StockAdjustment(Base):
    """A single adjustment or one line of a cycle count, with its reason and approval state.

    Small ones post their ledger movement at once (``posted``); one worth more than the
    ``adjustment_approval`` setting waits as ``pending`` until a manager approves (the movement
    is posted then) or rejects it. The ledger movement points back here (ref_type
    ``adjustment``), so every correction says who asked, who approved and why.
    """

    __tablename__ = "stock_adjustments"
    __table_args__ = (
        CheckConstraint("qty_delta <> 0", name="delta_nonzero"),
        CheckConstraint("value >= 0", name="value_nonneg"),
        Index("ix_stock_adjustments_status", "status", "requested_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # adjustment|count
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    qty_delta: Mapped[int] = mapped_column(Integer)
    expected: Mapped[int | None] = mapped_column(Integer)  # counts: system on_hand when counted
    counted: Mapped[int | None] = mapped_column(Integer)
    reason_code: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    value: Mapped[Decimal] = mapped_column(Money)  # |qty_delta| × unit cost
    status: Mapped[str] = mapped_column(String(16))  # posted|pending|approved|rejected
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[dt.datetime] = mapped_column(DateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)


class PickList(Base):
    """A batch of orders picked together in one warehouse (printed as HTML or CSV)."""

    __tablename__ = "pick_lists"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    created_by: Mapped[str] = mapped_column(String(64))


class PickListOrder(Base):
    __tablename__ = "pick_list_orders"
    __table_args__ = (UniqueConstraint("pick_list_id", "order_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    pick_list_id: Mapped[int] = mapped_column(ForeignKey("pick_lists.id"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)


class PackScan(Base):
    """One verified scan at the pack bench: which unit of which order line, by whom."""

    __tablename__ = "pack_scans"
    __table_args__ = (CheckConstraint("qty > 0", name="qty_positive"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"))
    barcode: Mapped[str] = mapped_column(String(32))
    qty: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(64))


# --- after-sales (issue 5, migration 0004) ---------------------------------------------------


class RMAEvent(Base):
    """The timeline of one RMA: each state change, the inspection and the refund.

    The service desk shows all of it; the public order lookup shows only the status steps.
    """

    __tablename__ = "rma_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("returns.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(16))  # opened|approved|…|inspected|refunded|closed
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)


class Refund(Base):
    """Money paid back for one RMA: what policy computed, what was actually refunded, by whom."""

    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("computed_amount >= 0", name="computed_nonneg"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("returns.id"), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    computed_amount: Mapped[Decimal] = mapped_column(Money)
    method: Mapped[str | None] = mapped_column(String(20))
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)


class LookupAttempt(Base):
    """One public order-lookup attempt; counted per browser session and per order number so
    the rate limit holds across reruns, processes and restarts."""

    __tablename__ = "lookup_attempts"
    __table_args__ = (
        Index("ix_lookup_attempts_client_at", "client", "at"),
        Index("ix_lookup_attempts_order_at", "order_number", "at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    client: Mapped[str] = mapped_column(String(64))
    order_number: Mapped[str] = mapped_column(String(32))
    success: Mapped[bool] = mapped_column(Boolean)


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


class ImportProfile(Base):
    """A mapping profile saved from the Import page (the shipped ones are data/profiles/*.yaml).

    ``definition`` holds the same structure as a profile YAML file, so a saved profile can be
    downloaded as a file and a file uploaded as a profile (core.importing.profile).
    """

    __tablename__ = "import_profiles"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # orders|products|stock|customers
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_by: Mapped[str] = mapped_column(String(64))


# --- analytics summary tables (issue 6, migration 0005) -------------------------------------
# Derived data only: core.analytics.summary rebuilds these from orders, order lines and the
# stock ledger (whole shop-local days, whole customers); no service writes them. Key columns
# use 0 / "" instead of NULL (no warehouse, unknown region) so they can be primary keys. Money
# keeps 4 decimals because order discounts and returns are spread over lines pro rata; reads
# round sums to the cent.

AggMoney = Numeric(16, 4)
# clustered by their (day-first) keys on SQLite, so a date range is one contiguous read
ROWID_OFF: dict[str, Any] = {"sqlite_with_rowid": False}


class AggSalesDaily(Base):
    """Sales per local day × channel × warehouse × ship-to region × category; category ``*``
    holds whole orders (so ``orders`` counts each order once), the others the lines of that
    category (``orders`` = orders containing it)."""

    __tablename__ = "agg_sales_daily"
    # category first: every read picks one category ("*" or a real one), so it reads one run
    __table_args__ = (PrimaryKeyConstraint("category", "day", "channel_id", "warehouse_id", "region"), ROWID_OFF)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    channel_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region: Mapped[str] = mapped_column(String(16), primary_key=True)
    category: Mapped[str] = mapped_column(String(64), primary_key=True)
    orders: Mapped[int] = mapped_column(Integer)
    cancelled_orders: Mapped[int] = mapped_column(Integer)
    units: Mapped[int] = mapped_column(Integer)  # ordered, before returns
    returned_units: Mapped[int] = mapped_column(Integer)
    sales: Mapped[Decimal] = mapped_column(AggMoney)  # after line and order discounts, before returns
    returned_sales: Mapped[Decimal] = mapped_column(AggMoney)
    cost: Mapped[Decimal] = mapped_column(AggMoney)  # of the units kept (ordered − returned)
    # net sales of products whose cost is unknown: left out of the margin (migration 0012)
    uncosted_sales: Mapped[Decimal] = mapped_column(AggMoney, server_default="0")
    walk_in_orders: Mapped[int] = mapped_column(Integer, server_default="0")  # sold orders without a customer


class AggSalesHourly(Base):
    """Orders and net sales per local day × hour (same keys as :class:`AggSalesDaily`)."""

    __tablename__ = "agg_sales_hourly"
    __table_args__ = (PrimaryKeyConstraint("category", "day", "hour", "channel_id", "warehouse_id", "region"),
                      ROWID_OFF)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    hour: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region: Mapped[str] = mapped_column(String(16), primary_key=True)
    category: Mapped[str] = mapped_column(String(64), primary_key=True)
    orders: Mapped[int] = mapped_column(Integer)
    net_sales: Mapped[Decimal] = mapped_column(AggMoney)


class AggProductDaily(Base):
    """Per local day × product × channel × line warehouse × ship-to region."""

    __tablename__ = "agg_product_daily"
    __table_args__ = (Index("ix_agg_product_daily_product_wh_day", "product_id", "warehouse_id", "day"), ROWID_OFF)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    product_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region: Mapped[str] = mapped_column(String(16), primary_key=True)
    orders: Mapped[int] = mapped_column(Integer)
    units: Mapped[int] = mapped_column(Integer)
    returned_units: Mapped[int] = mapped_column(Integer)
    sales: Mapped[Decimal] = mapped_column(AggMoney)
    returned_sales: Mapped[Decimal] = mapped_column(AggMoney)
    cost: Mapped[Decimal] = mapped_column(AggMoney)


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
        Index("ix_agg_customers_first_at", "first_at", "last_at", "orders", "net_sales", "cost", "channel_id",
              "region", "province"),
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
    net_sales: Mapped[Decimal] = mapped_column(AggMoney, index=True)
    cost: Mapped[Decimal] = mapped_column(AggMoney)
    # net sales of products whose cost is unknown: left out of the margin (migration 0012)
    uncosted_sales: Mapped[Decimal] = mapped_column(AggMoney, server_default="0")


class AggCustomerMonth(Base):
    """A customer's purchases per local month (the input of the cohort table's upkeep)."""

    __tablename__ = "agg_customer_months"
    __table_args__ = (ROWID_OFF,)
    customer_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    orders: Mapped[int] = mapped_column(Integer)
    net_sales: Mapped[Decimal] = mapped_column(AggMoney)
    cost: Mapped[Decimal] = mapped_column(AggMoney)


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
    net_sales: Mapped[Decimal] = mapped_column(AggMoney)
    cost: Mapped[Decimal] = mapped_column(AggMoney)


class AggStockDaily(Base):
    """Ledger per product × warehouse × local day with movements: units in, units out and
    on-hand at the end of that day (a day without a row kept the previous day's on-hand)."""

    __tablename__ = "agg_stock_daily"
    __table_args__ = (  # covering: stock health reads every pair over a date range
        Index("ix_agg_stock_daily_day", "day", "product_id", "warehouse_id", "qty_in", "qty_out", "on_hand"),
        # arrivals only: what stock-age (first in, first out) reads
        Index("ix_agg_stock_daily_arrivals", "day", "product_id", "warehouse_id", "qty_in",
              sqlite_where=text("qty_in > 0"), postgresql_where=text("qty_in > 0")),
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
    net_sales: Mapped[Decimal] = mapped_column(AggMoney)
    cost: Mapped[Decimal] = mapped_column(AggMoney)


class AggCustomerQuintile(Base):
    """The net-sales quintile edges over all buying customers (M score: M5 above the 4th), kept
    by the refresh with ``agg_customers``: PostgreSQL sorts all 250 000 customers to find
    them (0.1–0.5 s per page view at a million orders)."""

    __tablename__ = "agg_customer_quintiles"
    quintile: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # 1..4: 20 … 80 %
    net_sales: Mapped[Decimal] = mapped_column(AggMoney)


# Covering index for the ledger balance (Σ qty_delta per product × warehouse): reconciliation
# reads it index-only and in order, ~10× faster at 1M movements on SQLite than the table scan
# and sort (or the row lookups through ix_stock_movements_product_wh). Migration 0003.
Index("ix_stock_movements_balance", StockMovement.product_id, StockMovement.warehouse_id, StockMovement.qty_delta)
