"""Kits and bundles (组合装) against the database: which products are kits, their components,
the availability derived from the components, and the guard that keeps stock off kits.

A kit holds no stock: every unit it can sell is built from its components' free stock, so
its availability per warehouse is ``min over components of floor(free / qty per kit)``, and a
warehouse that lacks a stock row for any component can build none. The definition rules and
the price split are pure (:mod:`core.domain.kits`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.domain.kits import Component
from core.errors import Refused
from core.models import KitComponent, OrderKitLine, OrderLine, Product, StockLevel

_KC, _SL = KitComponent.__table__, StockLevel.__table__


def components_of(session: Session, kit_ids: Iterable[int]) -> dict[int, list[Component]]:
    """kit product id → its components (by component SKU) with their list prices; products
    that are no kit are absent."""
    ids = sorted(set(kit_ids))
    if not ids:
        return {}
    found: dict[int, list[Component]] = {}
    for kit, pid, sku, qty, price, active in session.execute(
        select(KitComponent.kit_product_id, Product.id, Product.sku, KitComponent.qty, Product.unit_price,
               Product.active)
        .join(Product, Product.id == KitComponent.component_product_id)
        .where(KitComponent.kit_product_id.in_(ids)).order_by(KitComponent.kit_product_id, Product.sku)
    ):
        found.setdefault(kit, []).append(Component(pid, sku, qty, price, active))
    return found


def is_kit(session: Session, product_id: int) -> bool:
    return session.execute(
        select(KitComponent.kit_product_id).where(KitComponent.kit_product_id == product_id).limit(1)
    ).first() is not None


def refuse_stock(session: Session, product_id: int) -> None:
    """Refuse to put units of a kit on a shelf: its stock is its components' (Refused names
    the SKU). The one guard under every stock movement (:func:`core.stock.post_movement`)."""
    if is_kit(session, product_id):
        sku = session.execute(select(Product.sku).where(Product.id == product_id)).scalar_one()
        raise Refused("kits.no_stock_of_its_own", sku=sku)


def derived_levels() -> Any:
    """``(product_id, warehouse_id, available)`` of every kit in every warehouse that stocks
    all its components, as a selectable to join or union with stock rows. Integer division of
    integers is the floor on both backends (free stock is never negative)."""
    counts = (select(_KC.c.kit_product_id, func.count().label("n"))
              .group_by(_KC.c.kit_product_id).subquery())
    return (
        select(_KC.c.kit_product_id.label("product_id"), _SL.c.warehouse_id,
               func.min((_SL.c.on_hand - _SL.c.reserved) // _KC.c.qty).label("available"))
        .join(_SL, _SL.c.product_id == _KC.c.component_product_id)
        .join(counts, counts.c.kit_product_id == _KC.c.kit_product_id)
        .group_by(_KC.c.kit_product_id, _SL.c.warehouse_id, counts.c.n)
        .having(func.count() == counts.c.n)
    )


def kit_line_parts(session: Session, order_id: int) -> dict[int, list[tuple[int, int]]]:
    """An order's kit lines: kit line_no → ``[(component line_no, units per kit)]``, so "the
    customer returns one gift box" becomes the component units to return (after-sales)."""
    parts: dict[int, list[tuple[int, int]]] = {}
    for kit_no, kit_qty, line_no, qty in session.execute(
        select(OrderKitLine.line_no, OrderKitLine.qty, OrderLine.line_no, OrderLine.qty)
        .join(OrderLine, OrderLine.kit_line_id == OrderKitLine.id)
        .where(OrderKitLine.order_id == order_id).order_by(OrderKitLine.line_no, OrderLine.line_no)
    ):
        parts.setdefault(kit_no, []).append((line_no, qty // kit_qty))
    return parts
