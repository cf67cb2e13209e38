"""What a carrier charges and which tracking numbers it has handed the shop (migration 0027).

- ``carrier_rates``: cost of one parcel by destination province × weight band. A band is
  ``(the next lower max_kg, max_kg]``; province ``*`` is every province without a row of its own.
- ``tracking_ranges``: numbers a carrier pre-allocated to the shop (电子面单 numbers bought in
  bulk): ``prefix`` + ``next_no`` zero-padded to ``width`` digits, up to ``end_no``. A number is
  taken by one conditional UPDATE (``next_no = next_no + 1 WHERE next_no <= end_no``), so two
  packers never print the same one (core.services.tracking_numbers).
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, Money

ANY_PROVINCE = "*"


class CarrierRate(Base):
    __tablename__ = "carrier_rates"
    __table_args__ = (
        UniqueConstraint("carrier_id", "province", "max_kg", name="uq_carrier_rates_band"),
        CheckConstraint("max_kg > 0", name="band_positive"),
        CheckConstraint("cost >= 0", name="cost_nonneg"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    carrier_id: Mapped[int] = mapped_column(ForeignKey("carriers.id"), index=True)
    province: Mapped[str] = mapped_column(String(32))
    max_kg: Mapped[Decimal] = mapped_column(Numeric(9, 3))
    cost: Mapped[Decimal] = mapped_column(Money)


class TrackingRange(Base):
    __tablename__ = "tracking_ranges"
    __table_args__ = (
        CheckConstraint("next_no >= 0 AND next_no <= end_no + 1", name="next_in_range"),
        CheckConstraint("width >= 1 AND width <= 18", name="width_bounded"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    carrier_id: Mapped[int] = mapped_column(ForeignKey("carriers.id"), index=True)
    prefix: Mapped[str] = mapped_column(String(16), default="")
    next_no: Mapped[int] = mapped_column(BigInteger)
    end_no: Mapped[int] = mapped_column(BigInteger)
    width: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
