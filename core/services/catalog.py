"""Catalog reads for order entry (product search, barcode lookup, stock per warehouse),
reference lists, and the shop's saved basket templates.

Reads return DataFrames or frozen dataclasses, never ORM objects, so pages can keep them in
session state. Basket templates live in the ``settings`` row ``basket_templates`` (JSON) — a
handful of named baskets a shop reuses ("gift box A", "weekly office order") do not deserve a
table; every change writes an audit row like any other write.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import case, func, literal, or_, select, union_all, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core import audit, kits
from core.barcodes import has_barcode
from core.db import read_only, unit_of_work
from core.errors import FieldIssue, NotFound, ValidationError
from core.models import Channel, Product, Setting, StockLevel, Warehouse
from core.permissions import Actor, require
from core.searchbox import search_text
from core.timeutil import utcnow

PRODUCT_COLUMNS = ["id", "sku", "barcode", "name", "category", "unit_price", "available"]
AVAILABILITY_COLUMNS = ["sku", "warehouse", "on_hand", "reserved", "available"]
TEMPLATES_KEY = "basket_templates"
MAX_TEMPLATE_NAME = 64


@dataclass(frozen=True)
class ProductInfo:
    id: int
    sku: str
    barcode: str | None
    name: str
    category: str
    unit_price: Decimal
    available: int


@dataclass(frozen=True)
class BasketTemplate:
    name: str
    lines: tuple[tuple[str, int], ...]
    updated_by: str
    updated_at: dt.datetime


# --- products and stock ----------------------------------------------------------------------


def _available_by_product() -> Any:
    """Σ(on_hand − reserved) per product over active warehouses, a kit's derived from its
    components' (:func:`core.kits.derived_levels`), as a joinable subquery."""
    free = union_all(
        select(StockLevel.product_id, StockLevel.warehouse_id,
               (StockLevel.on_hand - StockLevel.reserved).label("available")),
        kits.derived_levels()).subquery()
    return (
        select(free.c.product_id, func.sum(free.c.available).label("available"))
        .join(Warehouse, Warehouse.id == free.c.warehouse_id)
        .where(Warehouse.active.is_(True))
        .group_by(free.c.product_id)
        .subquery()
    )


def _product_select() -> Any:
    avail = _available_by_product()
    return (
        select(Product.id, Product.sku, Product.barcode, Product.name, Product.category, Product.unit_price,
               func.coalesce(avail.c.available, 0).label("available"))
        .outerjoin(avail, avail.c.product_id == Product.id)
        .where(Product.active.is_(True))
    )


@read_only
def search_products(session: Session, query: str, actor: Actor, limit: int = 20) -> pd.DataFrame:
    """Active products whose name or SKU contains ``query`` (any case) or that carry it as
    one of their barcodes.

    An exact SKU or barcode hit is listed first, so a typed code lands on top.
    """
    require(actor, "stock.view")
    q = search_text(query)
    if not q:
        return pd.DataFrame(columns=PRODUCT_COLUMNS)
    exact = or_(Product.sku == q, has_barcode(q))
    stmt = (
        _product_select()
        .where(or_(Product.name.icontains(q, autoescape=True), Product.sku.icontains(q, autoescape=True),
                   has_barcode(q)))
        .order_by(case((exact, 0), else_=1), Product.sku)
        .limit(limit)
    )
    return pd.DataFrame(session.execute(stmt).all(), columns=PRODUCT_COLUMNS)


@read_only
def product_page(session: Session, actor: Actor, *, query: str = "", category: str | None = None,
                 after_sku: str | None = None, limit: int = 50) -> pd.DataFrame:
    """Active products in SKU order, the page after ``after_sku`` (keyset paging: stable while
    products are added); ``query`` as in :func:`search_products`, ``category`` exactly."""
    require(actor, "stock.view")
    stmt = _product_select().order_by(Product.sku).limit(limit)
    q = search_text(query)
    if q:
        stmt = stmt.where(or_(Product.name.icontains(q, autoescape=True), Product.sku.icontains(q, autoescape=True),
                              has_barcode(q)))
    if category:
        stmt = stmt.where(Product.category == category)
    if after_sku is not None:
        stmt = stmt.where(Product.sku > after_sku)
    return pd.DataFrame(session.execute(stmt).all(), columns=PRODUCT_COLUMNS)


@read_only
def products_by_sku(session: Session, skus: list[str], actor: Actor) -> pd.DataFrame:
    """The active products among ``skus`` (a basket's current names, prices and stock)."""
    require(actor, "stock.view")
    if not skus:
        return pd.DataFrame(columns=PRODUCT_COLUMNS)
    stmt = _product_select().where(Product.sku.in_(set(skus))).order_by(Product.sku)
    return pd.DataFrame(session.execute(stmt).all(), columns=PRODUCT_COLUMNS)


@read_only
def product_by_barcode(session: Session, barcode: str, actor: Actor) -> ProductInfo | None:
    """The active product carrying exactly this barcode (any of its barcodes: what a scanner
    types), else None. ``ProductInfo.barcode`` is the product's primary barcode."""
    require(actor, "stock.view")
    code = (barcode or "").strip()
    if not code:
        return None
    row = session.execute(_product_select().where(has_barcode(code))).first()
    if row is None:
        return None
    return ProductInfo(row.id, row.sku, row.barcode, row.name, row.category, row.unit_price, int(row.available))


@read_only
def availability(session: Session, skus: list[str], actor: Actor) -> pd.DataFrame:
    """Stock of ``skus`` per active warehouse (only warehouses that hold a stock row). A kit
    holds none of its own: its rows show 0 on hand and reserved and the kits its components
    can build as available, in every warehouse that stocks all of them."""
    require(actor, "stock.view")
    if not skus:
        return pd.DataFrame(columns=AVAILABILITY_COLUMNS)
    kit = kits.derived_levels().subquery()
    free = union_all(
        select(StockLevel.product_id, StockLevel.warehouse_id, StockLevel.on_hand, StockLevel.reserved,
               (StockLevel.on_hand - StockLevel.reserved).label("available")),
        select(kit.c.product_id, kit.c.warehouse_id, literal(0), literal(0), kit.c.available)).subquery()
    rows = session.execute(
        select(Product.sku, Warehouse.code, free.c.on_hand, free.c.reserved, free.c.available)
        .join(Product, Product.id == free.c.product_id)
        .join(Warehouse, Warehouse.id == free.c.warehouse_id)
        .where(Product.sku.in_(set(skus)), Warehouse.active.is_(True))
        .order_by(Product.sku, Warehouse.code)
    ).all()
    return pd.DataFrame(rows, columns=AVAILABILITY_COLUMNS)


@read_only
def list_channels(session: Session) -> pd.DataFrame:
    """Active sales channels ``[code, name, kind]`` (reference data, readable by every role)."""
    rows = session.execute(
        select(Channel.code, Channel.name, Channel.kind).where(Channel.active.is_(True)).order_by(Channel.id)
    ).all()
    return pd.DataFrame(rows, columns=["code", "name", "kind"])


@read_only
def list_warehouses(session: Session) -> pd.DataFrame:
    """Active warehouses ``[code, name, region, province, city, is_store]``."""
    rows = session.execute(
        select(Warehouse.code, Warehouse.name, Warehouse.region, Warehouse.province, Warehouse.city,
               Warehouse.is_store).where(Warehouse.active.is_(True)).order_by(Warehouse.code)
    ).all()
    return pd.DataFrame(rows, columns=["code", "name", "region", "province", "city", "is_store"])


# --- basket templates ------------------------------------------------------------------------


def _to_template(name: str, stored: dict[str, Any]) -> BasketTemplate:
    return BasketTemplate(
        name=name,
        lines=tuple((str(sku), int(qty)) for sku, qty in stored["lines"]),
        updated_by=stored["updated_by"],
        updated_at=dt.datetime.fromisoformat(stored["updated_at"]),
    )


def _validate_template(session: Session, name: str, lines: list[tuple[str, int]]) -> list[FieldIssue]:
    issues: list[FieldIssue] = []
    if not name:
        issues.append(FieldIssue("name", "issue.required"))
    elif len(name) > MAX_TEMPLATE_NAME:
        issues.append(FieldIssue("name", "issue.too_long", value=name, params={"n": MAX_TEMPLATE_NAME}))
    if not lines:
        issues.append(FieldIssue("lines", "issue.no_lines"))
    active = set(session.execute(
        select(Product.sku).where(Product.sku.in_({sku for sku, _ in lines}), Product.active.is_(True))
    ).scalars())
    for row, (sku, qty) in enumerate(lines, start=1):
        if sku not in active:
            issues.append(FieldIssue("sku", "issue.unknown_sku", row, sku, params={"sku": sku}))
        if isinstance(qty, bool) or not isinstance(qty, int) or qty <= 0:
            issues.append(FieldIssue("qty", "issue.positive", row, qty))
    return issues


def _templates_for_update(session: Session) -> dict[str, Any]:
    """The stored templates, with the settings row created if missing and locked.

    Two clerks saving at once must not lose each other's template: the row is inserted
    idempotently (ON CONFLICT DO NOTHING) and then read FOR UPDATE (PostgreSQL; SQLite's
    BEGIN IMMEDIATE already serialises writers).
    """
    dialect_insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        dialect_insert(Setting)
        .values(key=TEMPLATES_KEY, value={}, updated_at=utcnow(), updated_by="system")
        .on_conflict_do_nothing(index_elements=["key"])
    )
    value = session.execute(
        select(Setting.value).where(Setting.key == TEMPLATES_KEY).with_for_update()
    ).scalar_one()
    return dict(value or {})


def _store_templates(session: Session, templates: dict[str, Any], actor: Actor) -> None:
    session.execute(
        update(Setting).where(Setting.key == TEMPLATES_KEY)
        .values(value=templates, updated_at=utcnow(), updated_by=actor.username)
    )


@unit_of_work
def save_basket_template(session: Session, name: str, lines: list[tuple[str, int]], actor: Actor) -> BasketTemplate:
    """Save (or replace) the named basket; SKUs must be active products and quantities > 0."""
    require(actor, "order.create")
    name = (name or "").strip()
    lines = [((sku or "").strip(), qty) for sku, qty in lines]
    issues = _validate_template(session, name, lines)
    if issues:
        raise ValidationError(issues)
    templates = _templates_for_update(session)
    before = templates.get(name)
    stored = {"lines": [[sku, qty] for sku, qty in lines], "updated_by": actor.username,
              "updated_at": utcnow().isoformat()}
    templates[name] = stored
    _store_templates(session, templates, actor)
    audit.record(session, actor, "basket_template.save", "basket_template", name, before=before, after=stored)
    return _to_template(name, stored)


@read_only
def list_basket_templates(session: Session, actor: Actor) -> list[BasketTemplate]:
    """All saved baskets of the shop, by name."""
    require(actor, "order.create")
    value = session.execute(select(Setting.value).where(Setting.key == TEMPLATES_KEY)).scalar_one_or_none()
    return [_to_template(name, stored) for name, stored in sorted((value or {}).items())]


@unit_of_work
def delete_basket_template(session: Session, name: str, actor: Actor) -> None:
    """Remove the named basket; NotFound if there is none."""
    require(actor, "order.create")
    templates = _templates_for_update(session)
    before = templates.pop((name or "").strip(), None)
    if before is None:
        raise NotFound(f"no basket template {name!r}", name=name)
    _store_templates(session, templates, actor)
    audit.record(session, actor, "basket_template.delete", "basket_template", name, before=before)
