"""Returns and their lines."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, Money

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
    # when the resellable units went back to stock (0027): their shipped cost leaves COGS that day
    restocked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


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
