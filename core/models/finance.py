"""Money in and out of an order: payments and refunds as rows (issue 21, migration 0023).

An order's ``payment_status`` is derived from these rows (:mod:`core.domain.payments`) and
written in the same transaction as the row that changes it, so every reader of the old field
keeps working.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, Money, sparse_index


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
        sparse_index("ix_payments_provider_ref", "provider_ref"),  # settlement matching (0030: partial)
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


class SettlementLine(Base):
    """One row of a payout statement (Alipay/WeChat Pay bill, a platform's settlement export),
    as imported, and what matching found for it.

    ``amount`` is the gross payment or refund (positive; ``kind`` gives the direction), ``fee``
    and ``commission`` what the provider or platform kept, ``net`` what reached the shop.
    ``payment_id`` is the payment or refund row it settles (core.domain.settlement_match).
    """

    __tablename__ = "settlement_lines"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("kind IN ('payment', 'refund')", name="kind_known"),
        Index("ix_settlement_lines_channel_settled", "channel_id", "settled_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batches.id"), index=True)
    row: Mapped[int] = mapped_column()  # the source row, for the differences view
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    kind: Mapped[str] = mapped_column(String(8))
    provider_ref: Mapped[str | None] = mapped_column(String(100))
    order_ref: Mapped[str | None] = mapped_column(String(100))
    amount: Mapped[Decimal] = mapped_column(Money)
    fee: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    commission: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    net: Mapped[Decimal] = mapped_column(Money)
    settled_at: Mapped[dt.datetime] = mapped_column(DateTime)
    note: Mapped[str | None] = mapped_column(String(200))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), index=True)
    matched_by: Mapped[str | None] = mapped_column(String(12))  # reference|amount_date


class SettlementDifference(Base):
    """A difference between what the orders say and what was paid out, found by matching.

    ``kind``: ``missing_payout`` (a payment no statement paid out), ``refund_without_payout`` (a
    refund no statement deducted), ``unknown_payout`` (statement money for no order),
    ``short_payment`` / ``over_payment`` (matched, other amount), ``double_payout`` (a second
    line for money already paid out), ``fee_difference`` (fee + commission off the channel's
    usual rate). Unresolved differences are recomputed by every matching run; a resolved one
    keeps who closed it, when and why (audited).
    """

    __tablename__ = "settlement_differences"
    __table_args__ = (
        Index("ix_settlement_differences_open", "resolved_at", "day"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    line_id: Mapped[int | None] = mapped_column(ForeignKey("settlement_lines.id"), index=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), index=True)
    expected: Mapped[Decimal] = mapped_column(Money)  # what the orders say (0 when nothing)
    actual: Mapped[Decimal] = mapped_column(Money)  # what the statement says (0 when nothing)
    day: Mapped[dt.datetime] = mapped_column(DateTime)  # when the money moved (UTC)
    found_at: Mapped[dt.datetime] = mapped_column(DateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(500))


class AccountMapping(Base):
    """The shop's account (科目) for one journal entry — ``receivable``, ``revenue``, ``cogs``,
    ``inventory``, ``fees``, ``bank`` (:data:`core.domain.journal.ENTRIES`). A missing row means
    the Chinese chart-of-accounts default (:data:`core.domain.journal.DEFAULT_ACCOUNTS`)."""

    __tablename__ = "account_mappings"
    entry: Mapped[str] = mapped_column(String(16), primary_key=True)
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(60))
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)


class JournalExport(Base):
    """One shop-local day handed to the accountant in one export: the layout, the checksum of
    the day's journal as exported (a later change to the day's money shows as another checksum),
    who and when. A day exported twice has two rows; the latest is the one compared."""

    __tablename__ = "journal_exports"
    __table_args__ = (Index("ix_journal_exports_day", "day", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date)
    layout: Mapped[str] = mapped_column(String(16))
    checksum: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime)


class JournalFile(Base):
    """The voucher file a background export job built, kept for the page's download (the
    job's own ``job_files`` are its inputs and are deleted when it ends)."""

    __tablename__ = "journal_files"
    job_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(120))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    at: Mapped[dt.datetime] = mapped_column(DateTime)
