"""Stock adjustments awaiting approval, bins (shelf locations), pick lists and pack scans."""

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
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, Money

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
    """A batch of orders picked together in one warehouse (printed as HTML or CSV). A **wave**
    (migration 0025) is one chosen by a rule (``rule``), sorted into slots after picking."""

    __tablename__ = "pick_lists"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    created_by: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8), default="list", server_default="list")  # list|wave
    rule: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class PickListOrder(Base):
    """An order on a pick list; on a wave its slot at the sorting wall, and why it was sent back
    to the queue when the pick came back short."""

    __tablename__ = "pick_list_orders"
    __table_args__ = (UniqueConstraint("pick_list_id", "order_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    pick_list_id: Mapped[int] = mapped_column(ForeignKey("pick_lists.id"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    slot: Mapped[int | None] = mapped_column(Integer)
    sent_back: Mapped[str | None] = mapped_column(String(16))  # a short-pick reason


class SortScan(Base):
    """One unit of a wave sorted into its order's slot (sort-to-order at the pack bench)."""

    __tablename__ = "sort_scans"
    __table_args__ = (CheckConstraint("qty > 0", name="qty_positive"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    pick_list_id: Mapped[int] = mapped_column(ForeignKey("pick_lists.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), index=True)
    qty: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(64))


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


# --- bins (货位; issue #16, migration 0024) ----------------------------------------------------

BIN_ZONES = ("pick", "reserve", "defective")


class Bin(Base):
    """A shelf location in a warehouse. Pickers walk the bins in ``walk_order`` (then code), so
    pick lists are printed in that order; ``zone`` says what the bin holds."""

    __tablename__ = "bins"
    __table_args__ = (
        UniqueConstraint("warehouse_id", "code"),
        CheckConstraint("zone IN ('pick', 'reserve', 'defective')", name="zone_known"),
        CheckConstraint("walk_order >= 0", name="walk_order_nonneg"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    code: Mapped[str] = mapped_column(String(32))
    zone: Mapped[str] = mapped_column(String(16))
    walk_order: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class ProductBin(Base):
    """A product's home bin in one warehouse: where it is picked from and put away by default."""

    __tablename__ = "product_bins"
    __table_args__ = (UniqueConstraint("product_id", "warehouse_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    bin_id: Mapped[int] = mapped_column(ForeignKey("bins.id"), index=True)


class MovementBin(Base):
    """The bin a ledger movement went into (a putaway at receiving). Kept beside the append-only
    ledger rather than in it, so the ledger's rows and triggers stay as they are."""

    __tablename__ = "movement_bins"
    movement_id: Mapped[int] = mapped_column(ForeignKey("stock_movements.id"), primary_key=True)
    bin_id: Mapped[int] = mapped_column(ForeignKey("bins.id"), index=True)


class OrderHold(Base):
    """An interception (拦截): the order may not be picked, packed or shipped while a hold is open
    (``released_at`` empty) — a refund requested before shipping, an address changed after the
    pick started, a customer's call. Someone releases it; the rows stay as history."""

    __tablename__ = "order_holds"
    __table_args__ = (Index("ix_order_holds_open", "order_id", "released_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    reason: Mapped[str] = mapped_column(String(24))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    released_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    released_by: Mapped[str | None] = mapped_column(String(64))
