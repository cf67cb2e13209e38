"""Orders, their lines and the visible timeline of events."""

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
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, Money, sparse_index
from core.models.personal import Encrypted, address_key_column, index_column

# --- orders ----------------------------------------------------------------------------------


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("channel_id", "external_ref"),
        CheckConstraint("total >= 0", name="total_nonneg"),
        CheckConstraint("version >= 1", name="version_positive"),
        Index("ix_orders_status_placed", "status", "placed_at"),
        Index("ix_orders_ship_phone_bidx", "ship_phone_bidx"),
        Index("ix_orders_ship_phone_last4_bidx", "ship_phone_last4_bidx"),
        # merge candidates: open orders grouped by customer and address digest (migration 0027)
        Index("ix_orders_merge", "status", "customer_id", "merge_key"),
        # only merged orders have a group: the others write no entry (migration 0030_hot_indexes)
        sparse_index("ix_orders_merge_group_id", "merge_group_id"),
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
    # the ship-to person: encrypted at rest (core.models.personal); province/city stay plain
    # for analytics by region
    ship_name: Mapped[str | None] = mapped_column(Encrypted(100))
    ship_phone: Mapped[str | None] = mapped_column(Encrypted(20))
    ship_province: Mapped[str | None] = mapped_column(String(32))
    ship_city: Mapped[str | None] = mapped_column(String(32))
    ship_district: Mapped[str | None] = mapped_column(String(32))
    ship_address: Mapped[str | None] = mapped_column(Encrypted(300))
    # not indexed: no read filters orders by warehouse alone (migration 0030_hot_indexes)
    warehouse_id: Mapped[int | None] = mapped_column(ForeignKey("warehouses.id"))
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
    # weighed at dispatch, kg (migration 0027_carrier_rates); None = not weighed
    parcel_weight_kg: Mapped[Decimal | None] = mapped_column(Numeric(9, 3))
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(64))
    # indexed (migration 0005): the analytics refresh finds changed orders by it
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    ship_phone_bidx: Mapped[str | None] = index_column("ship_phone", "phone")
    ship_phone_last4_bidx: Mapped[str | None] = index_column("ship_phone", "last4")
    # merged orders (合单, core.services.merging): the ship-to address's blind index, the
    # "never merge this one" flag and the shipment the order shares with others
    merge_key: Mapped[str | None] = address_key_column()
    do_not_merge: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    merge_group_id: Mapped[int | None] = mapped_column(ForeignKey("merge_groups.id"))


class MergeGroup(Base):
    """Orders of one customer and shop going to one door, shipped as one parcel. Each order keeps
    its number, lines and payments; the group only says they travel together. ``undone_at`` set:
    split again before picking (its orders no longer point here; the audit log keeps who was in)."""

    __tablename__ = "merge_groups"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    warehouse_id: Mapped[int | None] = mapped_column(ForeignKey("warehouses.id"))
    merge_key: Mapped[str] = mapped_column(String(64))
    how: Mapped[str] = mapped_column(String(8))  # auto | manual
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    undone_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    undone_by: Mapped[str | None] = mapped_column(String(64))


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("qty > 0", name="qty_positive"),
        CheckConstraint("unit_price >= 0", name="price_nonneg"),
        CheckConstraint("qty_reserved >= 0 AND qty_reserved <= qty", name="reserved_range"),
        CheckConstraint("qty_shipped >= 0 AND qty_shipped <= qty", name="shipped_range"),
        CheckConstraint("qty_returned >= 0 AND qty_returned <= qty_shipped", name="returned_range"),
        sparse_index("ix_order_lines_kit_line_id", "kit_line_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    qty: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(Money)
    discount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    line_total: Mapped[Decimal] = mapped_column(Money)
    # this line's share of the order discount, in whole cents (core.domain.totals): what the
    # line was paid is line_total − discount_share; reports and refunds read it (migration 0015)
    discount_share: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"), server_default="0")
    warehouse_id: Mapped[int | None] = mapped_column(ForeignKey("warehouses.id"))
    qty_reserved: Mapped[int] = mapped_column(Integer, default=0)
    qty_shipped: Mapped[int] = mapped_column(Integer, default=0)
    qty_returned: Mapped[int] = mapped_column(Integer, default=0)
    # a gift (赠品) added by a gift rule: price 0, reserved and picked like any line, demand but
    # no revenue (core.domain.gifts; migration 0027_scan_gifts)
    is_gift: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # a component line of a kit the customer bought (core.models.kits.OrderKitLine); None for
    # a product ordered on its own (migration 0027_kits)
    kit_line_id: Mapped[int | None] = mapped_column(ForeignKey("order_kit_lines.id"))
    # the product's unit cost when the line shipped (0027): the cost of goods stays what it was
    # when a later purchase changes the product's cost; None = shipped without a known cost
    unit_cost: Mapped[Decimal | None] = mapped_column(Money, default=None)


class OrderEvent(Base):
    __tablename__ = "order_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(64))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)  # a person's words, or the English of note_codes
    # a note the system wrote, as codes the pages translate (core.errors.Message; migration 0028)
    note_codes: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
