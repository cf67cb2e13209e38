"""Reference data a shop maintains: channels, warehouses, suppliers, carriers, products and barcodes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    String,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, Money

# --- reference data -------------------------------------------------------------------------


class Channel(Base):
    __tablename__ = "channels"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(
        String(32)
    )  # store | marketplace | social | mini_program | group_buy | b2b
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


class Carrier(Base):
    """A carrier the shop ships with (migration 0020). Orders keep the carrier's name as text
    (imports and carrier CSVs write it); this row adds what a message to the customer needs:
    the tracking page, ``tracking_url`` with a ``{tracking_no}`` placeholder."""

    __tablename__ = "carriers"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)  # as orders.carrier holds it
    tracking_url: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # migration 0027: the services it sells ("标快, 特快", comma-separated) and the pattern every
    # tracking number of it matches (a regular expression; None = not checked)
    services: Mapped[str | None] = mapped_column(String(200))
    tracking_pattern: Mapped[str | None] = mapped_column(String(200))


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
