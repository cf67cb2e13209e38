"""Kits and bundles (组合装): define a kit SKU as component SKUs × quantities, list kits with
their derived availability, and report kit sales beside component demand.

A kit is an ordinary product (it has a SKU, a name and a price customers pay) whose stock is
its components': defining one is refused while the product holds stock or reservations of its
own, a component may not be a kit itself and a kit may not be a component (no kit in a kit, so
no cycle), and every component must be an active product. Saves lock the products involved in
id order so two managers defining kits from the same products at once are checked one after
the other (a race that would otherwise build a kit in a kit).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session, aliased

from core import audit, kits
from core.analytics import EXCLUDED_STATUSES
from core.db import read_only, unit_of_work
from core.domain.kits import definition_issues
from core.domain.rulebook import whole_number
from core.errors import FieldIssue, NotFound, Refused, ValidationError
from core.models import KitComponent, Order, OrderKitLine, OrderLine, Product, StockLevel, Warehouse
from core.permissions import Actor, require
from core.timeutil import local_day_start_utc

EDIT = "product.edit"
KIT_COLUMNS = ["kit_sku", "kit_name", "component_sku", "component_name", "qty"]
AVAILABILITY_COLUMNS = ["kit_sku", "warehouse", "available"]
SALES_COLUMNS = ["kind", "sku", "name", "units", "amount"]


def _product(session: Session, sku: str) -> Product:
    product = session.execute(select(Product).where(Product.sku == sku)).scalar_one_or_none()
    if product is None:
        raise NotFound.coded("kits.no_product", sku=sku)
    return product


def _check_kit(session: Session, kit: Product) -> None:
    """A kit must be an active product that is no component and holds no stock of its own."""
    if not kit.active:
        raise Refused("kits.kit_inactive", sku=kit.sku)
    if session.execute(select(KitComponent.kit_product_id)
                       .where(KitComponent.component_product_id == kit.id).limit(1)).first() is not None:
        raise Refused("kits.kit_is_component", sku=kit.sku)
    held = session.execute(select(func.coalesce(func.sum(StockLevel.on_hand + StockLevel.reserved), 0))
                           .where(StockLevel.product_id == kit.id)).scalar_one()
    if held:
        raise Refused("kits.kit_has_stock", sku=kit.sku)


def _component_issues(session: Session, kit: Product, components: Sequence[tuple[str, int]]) -> list[FieldIssue]:
    skus = [sku for sku, _ in components]
    found = {p.sku: p for p in session.execute(select(Product).where(Product.sku.in_(skus))).scalars()}
    nested = set(session.execute(select(KitComponent.kit_product_id)
                                 .where(KitComponent.kit_product_id.in_([p.id for p in found.values()]))).scalars())
    issues = []
    for row, sku in enumerate(skus, start=1):
        p = found.get(sku)
        if p is None:
            issues.append(FieldIssue("sku", "issue.unknown_sku", row, sku, {"sku": sku}))
        elif not p.active:
            issues.append(FieldIssue("sku", "issue.discontinued", row, sku, {"sku": sku}))
        elif p.id in nested:
            issues.append(FieldIssue("sku", "kits.component_is_kit", row, sku, {"sku": sku, "kit": kit.sku}))
    return issues


def _lock(session: Session, skus: Sequence[str]) -> None:
    """Lock the products of a kit save in id order (PostgreSQL; SQLite serialises writers)."""
    session.execute(select(Product.id).where(Product.sku.in_(sorted(set(skus))))
                    .order_by(Product.id).with_for_update()).all()


def _clean(components: Sequence[tuple[str, object]]) -> list[tuple[str, object]]:
    return [((sku or "").strip(), qty) for sku, qty in components]


@unit_of_work
def save_kit(session: Session, kit_sku: str, components: Sequence[tuple[str, object]], actor: Actor) -> None:
    """Make ``kit_sku`` a kit of ``components`` (sku, qty per kit), replacing its old recipe.

    Raises NotFound (no such kit SKU), Refused (the kit is inactive, is itself a component or
    holds stock) or ValidationError (per component row: bounds, unknown, discontinued, a kit).
    """
    require(actor, EDIT)
    kit_sku = (kit_sku or "").strip()
    rows = _clean(components)
    issues = definition_issues(kit_sku, rows)
    if issues:
        raise ValidationError(issues)
    _lock(session, [kit_sku, *(sku for sku, _ in rows)])
    kit = _product(session, kit_sku)
    _check_kit(session, kit)
    recipe = [(sku, int(whole_number(qty) or 0)) for sku, qty in rows]  # whole numbers: checked above
    issues = _component_issues(session, kit, recipe)
    if issues:
        raise ValidationError(issues)
    ids = {sku: pid for sku, pid in session.execute(
        select(Product.sku, Product.id).where(Product.sku.in_([s for s, _ in recipe])))}
    before = _recipe(session, kit.id)
    session.execute(delete(KitComponent).where(KitComponent.kit_product_id == kit.id))
    session.execute(insert(KitComponent), [dict(kit_product_id=kit.id, component_product_id=ids[sku], qty=qty)
                                           for sku, qty in recipe])
    audit.record(session, actor, "kit.save", "product", kit.sku, before={"components": before} if before else None,
                 after={"components": [[sku, qty] for sku, qty in sorted(recipe)]})


@unit_of_work
def remove_kit(session: Session, kit_sku: str, actor: Actor) -> None:
    """Turn a kit back into a plain product (orders already placed keep their component lines)."""
    require(actor, EDIT)
    kit = _product(session, (kit_sku or "").strip())
    before = _recipe(session, kit.id)
    if not before:
        raise Refused("kits.not_a_kit", sku=kit.sku)
    session.execute(delete(KitComponent).where(KitComponent.kit_product_id == kit.id))
    audit.record(session, actor, "kit.remove", "product", kit.sku, before={"components": before})


def _recipe(session: Session, kit_id: int) -> list[list[object]]:
    return [[sku, qty] for sku, qty in session.execute(
        select(Product.sku, KitComponent.qty).join(Product, Product.id == KitComponent.component_product_id)
        .where(KitComponent.kit_product_id == kit_id).order_by(Product.sku))]


@read_only
def list_kits(session: Session, actor: Actor, kit_sku: str | None = None) -> pd.DataFrame:
    """Every kit's components (``KIT_COLUMNS``), by kit SKU then component SKU."""
    require(actor, "stock.view")
    kit, part = aliased(Product), aliased(Product)
    stmt = (select(kit.sku, kit.name, part.sku, part.name, KitComponent.qty)
            .join(kit, kit.id == KitComponent.kit_product_id).join(part, part.id == KitComponent.component_product_id)
            .order_by(kit.sku, part.sku))
    if kit_sku is not None:
        stmt = stmt.where(kit.sku == kit_sku.strip())
    return pd.DataFrame(session.execute(stmt).all(), columns=KIT_COLUMNS)


@read_only
def kit_availability(session: Session, actor: Actor) -> pd.DataFrame:
    """How many of each kit every active warehouse can build now (``AVAILABILITY_COLUMNS``)."""
    require(actor, "stock.view")
    levels = kits.derived_levels().subquery()
    rows = session.execute(
        select(Product.sku, Warehouse.code, levels.c.available)
        .join(Product, Product.id == levels.c.product_id).join(Warehouse, Warehouse.id == levels.c.warehouse_id)
        .where(Warehouse.active.is_(True)).order_by(Product.sku, Warehouse.code)).all()
    return pd.DataFrame(rows, columns=AVAILABILITY_COLUMNS)


@read_only
def kit_sales(session: Session, actor: Actor, first_day: dt.date, last_day: dt.date) -> pd.DataFrame:
    """Kit sales and the component demand they made, orders placed on the shop's local days
    ``first_day`` … ``last_day`` that
    count as sales (:data:`core.analytics.EXCLUDED_STATUSES` left out, as in every report;
    ``SALES_COLUMNS``): ``kind`` "kit" rows are what customers bought (units, amount
    of the kit lines); "component" rows are the units kits took of each component and the
    amount those component lines carry. The two amounts are the same money seen twice — add
    neither to the revenue of order lines, which already holds it once."""
    require(actor, "dashboard.view")
    start, end = local_day_start_utc(first_day), local_day_start_utc(last_day + dt.timedelta(days=1))
    placed = (Order.placed_at >= start, Order.placed_at < end, Order.status.not_in(EXCLUDED_STATUSES))
    sold = session.execute(
        select(Product.sku, Product.name, func.sum(OrderKitLine.qty), func.sum(OrderKitLine.line_total))
        .join(Order, Order.id == OrderKitLine.order_id).join(Product, Product.id == OrderKitLine.product_id)
        .where(*placed).group_by(Product.sku, Product.name).order_by(Product.sku)).all()
    demand = session.execute(
        select(Product.sku, Product.name, func.sum(OrderLine.qty), func.sum(OrderLine.line_total))
        .join(Order, Order.id == OrderLine.order_id).join(Product, Product.id == OrderLine.product_id)
        .where(*placed, OrderLine.kit_line_id.is_not(None)).group_by(Product.sku, Product.name)
        .order_by(Product.sku)).all()
    rows = [("kit", *r) for r in sold] + [("component", *r) for r in demand]
    return pd.DataFrame(rows, columns=SALES_COLUMNS)

