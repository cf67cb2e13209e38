"""Customer profiles and their per-channel identities."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base
from core.models.personal import Encrypted, EncryptedBySetting, index_column

# --- customers -------------------------------------------------------------------------------


class Customer(Base):
    __tablename__ = "customers"
    # One live customer per normalised phone (its blind index: the phone itself is encrypted,
    # 0021); profiles merged into another keep their phone (it still finds the survivor),
    # customers without a phone are not constrained.
    __table_args__ = (
        Index(
            "uq_customers_phone",
            "phone_bidx",
            unique=True,
            sqlite_where=text("phone_bidx IS NOT NULL AND merged_into_id IS NULL"),
            postgresql_where=text("phone_bidx IS NOT NULL AND merged_into_id IS NULL"),
        ),
        Index("ix_customers_phone_last4_bidx", "phone_last4_bidx"),
        Index("ix_customers_email_bidx", "email_bidx"),
        Index("ix_customers_name_bidx", "name_bidx"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    # plain, or encrypted while the shop's setting says so (0028); the exact-name search and
    # de-duplication go through name_bidx in both states
    name: Mapped[str] = mapped_column(EncryptedBySetting(100))
    # personal data, encrypted at rest (core.models.personal); found through the blind indexes
    phone: Mapped[str | None] = mapped_column(Encrypted(20))
    email: Mapped[str | None] = mapped_column(Encrypted(200))
    province: Mapped[str | None] = mapped_column(String(32))
    city: Mapped[str | None] = mapped_column(String(32))
    district: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(Encrypted(300))
    tier: Mapped[str] = mapped_column(String(16), default="normal")
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    # set when this profile was merged into another (migration 0009m): its orders and
    # identities moved there; the row stays for the record and lookups follow the pointer
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    merged_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    phone_bidx: Mapped[str | None] = index_column("phone", "phone")
    phone_last4_bidx: Mapped[str | None] = index_column("phone", "last4")
    email_bidx: Mapped[str | None] = index_column("email", "email")
    name_bidx: Mapped[str | None] = index_column("name", "name")


class CustomerIdentity(Base):
    __tablename__ = "customer_identities"
    __table_args__ = (UniqueConstraint("channel_id", "external_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    external_id: Mapped[str] = mapped_column(String(100))
