"""Channel stock sync (migration 0018): each sales channel's policy for what share of the stock
it may sell, per-SKU overrides, and the figure last published to it (docs/channel-stock.md)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base


class ChannelStockPolicy(Base):
    """One channel's default rule (``core.domain.channel_stock.Policy``); a channel without one
    is not synced. ``threshold``: the smallest change of a figure that is published."""

    __tablename__ = "channel_stock_policies"
    __table_args__ = (
        CheckConstraint("share_pct >= 0 AND share_pct <= 100", name="share_range"),
        CheckConstraint("buffer >= 0", name="buffer_nonneg"),
        CheckConstraint("maximum IS NULL OR maximum >= 0", name="maximum_nonneg"),
        CheckConstraint("threshold >= 1", name="threshold_positive"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"), unique=True)
    share_pct: Mapped[int] = mapped_column(Integer)
    buffer: Mapped[int] = mapped_column(Integer, default=0)
    maximum: Mapped[int | None] = mapped_column(Integer)
    delist_at_zero: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    oversell: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    threshold: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_by: Mapped[str] = mapped_column(String(64))


class ChannelStockOverride(Base):
    """One SKU's exceptions to its channel's policy (a NULL keeps the channel's value)."""

    __tablename__ = "channel_stock_overrides"
    __table_args__ = (
        UniqueConstraint("channel_id", "product_id"),
        CheckConstraint("share_pct IS NULL OR (share_pct >= 0 AND share_pct <= 100)", name="share_range"),
        CheckConstraint("buffer IS NULL OR buffer >= 0", name="buffer_nonneg"),
        CheckConstraint("maximum IS NULL OR maximum >= 0", name="maximum_nonneg"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    share_pct: Mapped[int | None] = mapped_column(Integer)
    buffer: Mapped[int | None] = mapped_column(Integer)
    maximum: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_by: Mapped[str] = mapped_column(String(64))


class ChannelStockPublished(Base):
    """The figure a channel was last told of a SKU (by a ``stock.changed`` event): the
    reference the next sync compares against, written in the transaction that publishes."""

    __tablename__ = "channel_stock_published"
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"), primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), primary_key=True)
    ats: Mapped[int] = mapped_column(Integer)
    listed: Mapped[bool] = mapped_column(Boolean)
    published_at: Mapped[dt.datetime] = mapped_column(DateTime)
