"""Kits and bundles (组合装): a kit SKU is a product made of component products × quantities.

A kit holds no stock of its own: its availability is derived from its components
(:mod:`core.kits`), and an order for it reserves, picks, ships and returns the components.
The order keeps what the customer bought as an :class:`OrderKitLine` (kit, qty, price); the
stock-bearing ``order_lines`` it expands into point back at it through ``kit_line_id``.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, Money


class KitComponent(Base):
    __tablename__ = "kit_components"
    __table_args__ = (
        CheckConstraint("qty >= 1 AND qty <= 999", name="qty_range"),
        CheckConstraint("kit_product_id <> component_product_id", name="not_itself"),
    )
    kit_product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), primary_key=True)
    # indexed: "is this product a component of some kit?" (no kit in a kit)
    component_product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), primary_key=True, index=True)
    qty: Mapped[int] = mapped_column(Integer)


class OrderKitLine(Base):
    """What the customer bought: the kit, how many and at what price. Its amount is carried
    (split over the components, in cents) by the component order lines, so revenue is counted
    once — reports of kit sales read this table, revenue reads ``order_lines``."""

    __tablename__ = "order_kit_lines"
    __table_args__ = (
        CheckConstraint("qty > 0", name="qty_positive"),
        CheckConstraint("unit_price >= 0", name="price_nonneg"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    qty: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(Money)
    discount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    line_total: Mapped[Decimal] = mapped_column(Money)
