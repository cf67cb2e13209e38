"""Money in and out of an order: payments and refunds as rows (issue 21, migration 0023).

An order's ``payment_status`` is derived from these rows (:mod:`core.domain.payments`) and
written in the same transaction as the row that changes it, so every reader of the old field
keeps working.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, Money


class Payment(Base):
    """One movement of money for an order: a ``payment`` received or a ``refund`` paid back.

    ``amount`` is always positive (the kind gives the direction); ``fee`` is what the provider
    kept, when known at the time (settlement statements tell it later). ``provider_ref`` is the
    payment provider's or platform's transaction number — what settlement matching looks for.
    """

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("fee >= 0", name="fee_nonneg"),
        CheckConstraint("kind IN ('payment', 'refund')", name="kind_known"),
        Index("ix_payments_at", "at"),
        Index("ix_payments_provider_ref", "provider_ref"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # payment|refund
    method: Mapped[str | None] = mapped_column(String(20))
    provider_ref: Mapped[str | None] = mapped_column(String(100))
    amount: Mapped[Decimal] = mapped_column(Money)
    fee: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"), server_default="0")
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(12), default="succeeded")  # succeeded|pending|failed
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refunds.id"))  # an after-sales refund
    created_by: Mapped[str] = mapped_column(String(64))
