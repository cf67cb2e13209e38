"""Products by hand: create, edit, deactivate (or delete, while nothing refers to them).

Each write is one transaction — load, check every field, write, audit — and a refusal names
every wrong field at once and writes nothing. The field rules are
:mod:`core.product_rules` (shared with the product import); barcodes are kept by
:mod:`core.barcodes` (several per product, the first is the primary one).

A product that any order, stock row, ledger movement, purchase order, transfer, forecast … refers
to is never deleted, only deactivated (order entry then refuses it as discontinued), and its
SKU is fixed: orders, channel listings and import files quote it. Until then a mistyped SKU
can still be corrected. Which tables refer to a product is read from the schema's foreign
keys, so a new table that points at products is covered without touching this module.

The unit cost may be left empty ("cost unknown") when the schema allows a NULL cost; until
then it is required, as the column demands.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import Table, delete, exists, func, insert, or_, select, update
from sqlalchemy.orm import Session

from core import audit, barcodes, product_rules
from core.barcodes import has_barcode
from core.db import read_only, unit_of_work
from core.errors import FieldIssue, NotFound, Refused, ValidationError
from core.models import Base, Product, ProductBarcode, Supplier
from core.permissions import Actor, require
from core.searchbox import search_text
from core.timeutil import utcnow

COST_OPTIONAL = bool(Product.__table__.c.unit_cost.nullable)
LIST_COLUMNS = ["id", "sku", "name", "category", "brand", "barcodes", "unit_price", "unit_cost", "supplier",
                "pack_size", "lead_time_days", "weight_kg", "attributes", "active"]
# stored columns a draft sets (barcodes and supplier are resolved separately)
_FIELDS = ("sku", "name", "category", "brand", "attributes", "unit_price", "unit_cost", "supplier_id", "pack_size",
           "lead_time_days", "weight_kg", "active")

rules = product_rules  # the field rules; the editor page reads its limits here


@dataclass
class ProductDraft:
    """A product as a form, the CLI or the API gives it: text as typed, checked by the service."""

    sku: str
    name: str
    unit_price: Decimal | str | None
    category: str = ""
    brand: str = ""
    barcodes: Iterable[str] | str = ()
    attributes: Mapping[str, str] | Iterable[tuple[str, str]] | str = field(default_factory=dict)
    unit_cost: Decimal | str | None = None
    supplier: str | None = None  # supplier name
    pack_size: int | str | None = 1
    lead_time_days: int | str | None = None
    weight_kg: Decimal | str | None = None
    active: bool = True


@dataclass(frozen=True)
class ProductRecord:
    """One product as stored, with its barcodes (primary first) and whether anything refers to it."""

    id: int
    sku: str
    name: str
    category: str
    brand: str | None
    barcodes: tuple[str, ...]
    attributes: tuple[tuple[str, str], ...]
    unit_price: Decimal
    unit_cost: Decimal | None
    supplier: str | None
    pack_size: int
    lead_time_days: int | None
    weight_kg: Decimal | None
    active: bool
    in_use: bool


# --- reads -----------------------------------------------------------------------------------


def _referring_tables() -> list[tuple[Table, Any]]:
    """(table, column) of every foreign key to ``products`` except the product's own barcodes."""
    return [(table, fk.parent) for table in Base.metadata.sorted_tables if table is not ProductBarcode.__table__
            for fk in table.foreign_keys if fk.column.table is Product.__table__]


def _in_use(session: Session, product_id: int) -> bool:
    return any(session.execute(select(exists().where(column == product_id))).scalar()
               for _, column in _referring_tables())


def _record(session: Session, product: Product) -> ProductRecord:
    supplier = session.execute(select(Supplier.name).where(Supplier.id == product.supplier_id)).scalar_one_or_none() \
        if product.supplier_id is not None else None
    codes = barcodes.of_products(session, [product.id])[product.id]
    return ProductRecord(
        product.id, product.sku, product.name, product.category, product.brand, tuple(codes),
        tuple(sorted((str(k), str(v)) for k, v in (product.attributes or {}).items())), product.unit_price,
        product.unit_cost, supplier, product.pack_size, product.lead_time_days, product.weight_kg, product.active,
        _in_use(session, product.id))


def _load(session: Session, product_id: int) -> Product:
    product = session.execute(select(Product).where(Product.id == product_id)).scalar_one_or_none()
    if product is None:
        raise NotFound(f"no product {product_id}", product_id=product_id)
    return product


@read_only
def list_products(session: Session, actor: Actor, query: str = "", *, active_only: bool = False) -> pd.DataFrame:
    """Every product (the full table, for maintenance and download), or those whose SKU or name
    contains ``query`` or that carry it as a barcode; barcodes joined with ", " (primary first)."""
    require(actor, "product.edit")
    stmt = (select(Product.id, Product.sku, Product.name, Product.category, Product.brand, Product.unit_price,
                   Product.unit_cost, Supplier.name.label("supplier"), Product.pack_size, Product.lead_time_days,
                   Product.weight_kg, Product.attributes, Product.active)
            .outerjoin(Supplier, Supplier.id == Product.supplier_id).order_by(Product.sku))
    q = search_text(query)
    if q:
        stmt = stmt.where(or_(Product.sku.icontains(q, autoescape=True), Product.name.icontains(q, autoescape=True),
                              has_barcode(q)))
    if active_only:
        stmt = stmt.where(Product.active.is_(True))
    rows = session.execute(stmt).all()
    codes = barcodes.of_products(session, [r.id for r in rows])
    frame = pd.DataFrame(
        [(r.id, r.sku, r.name, r.category, r.brand, ", ".join(codes.get(r.id, [])), r.unit_price, r.unit_cost,
          r.supplier, r.pack_size, r.lead_time_days, r.weight_kg,
          "; ".join(f"{k}={v}" for k, v in sorted((r.attributes or {}).items())), bool(r.active)) for r in rows],
        columns=LIST_COLUMNS)
    return frame


@read_only
def product_record(session: Session, product_id: int, actor: Actor) -> ProductRecord:
    """One product for the editor."""
    require(actor, "product.edit")
    return _record(session, _load(session, product_id))


@read_only
def supplier_names(session: Session, actor: Actor) -> list[str]:
    """The suppliers a product may name (the active ones), for the editor's list."""
    require(actor, "product.edit")
    return list(session.execute(_usable_suppliers(select(Supplier.name)).order_by(Supplier.name)).scalars())


# --- checks ----------------------------------------------------------------------------------


def _usable_suppliers(stmt: Any) -> Any:
    """Restrict a supplier query to the ones a product may name: the active ones."""
    return stmt.where(Supplier.active.is_(True))


def _check(session: Session, draft: ProductDraft, current: Product | None) -> tuple[dict[str, Any], list[str]]:
    """The draft as column values plus its barcodes; ValidationError naming every bad field."""
    issues: list[FieldIssue] = []
    sku = rules.sku(draft.sku, issues)
    values: dict[str, Any] = {
        "sku": sku,
        "name": rules.bounded_text(draft.name, "name", rules.MAX_NAME, issues, required=True),
        "category": rules.bounded_text(draft.category, "category", rules.MAX_CATEGORY, issues)
        or rules.DEFAULT_CATEGORY,
        "brand": rules.bounded_text(draft.brand, "brand", rules.MAX_BRAND, issues) or None,
        "attributes": rules.attributes(draft.attributes, issues),
        "unit_price": rules.money(draft.unit_price, "unit_price", issues, required=True),
        "unit_cost": rules.money(draft.unit_cost, "unit_cost", issues, required=not COST_OPTIONAL),
        "pack_size": rules.whole(draft.pack_size, "pack_size", issues, low=1, high=rules.MAX_PACK_SIZE, required=True),
        "lead_time_days": rules.whole(draft.lead_time_days, "lead_time_days", issues, low=0,
                                      high=rules.MAX_LEAD_TIME_DAYS, required=False),
        "weight_kg": rules.decimal(draft.weight_kg, "weight_kg", issues, places=rules.GRAM, high=rules.MAX_WEIGHT_KG,
                                   required=False),
        "active": bool(draft.active),
    }
    codes = rules.barcode_list(draft.barcodes, issues)
    own_id = current.id if current is not None else None
    if sku and current is not None and sku != current.sku and _in_use(session, current.id):
        issues.append(FieldIssue("sku", "mdp.sku_fixed", value=sku, params={"sku": current.sku}))
    elif sku:
        holder = session.execute(select(Product.name).where(Product.sku == sku, Product.id != own_id)).scalar()
        if holder is not None:
            issues.append(FieldIssue("sku", "mdp.sku_taken", value=sku, params={"sku": sku, "name": holder}))
    own_sku = current.sku if current is not None else None
    for code, holder_sku in sorted(barcodes.owners(session, codes).items()):
        if holder_sku != own_sku:
            issues.append(FieldIssue("barcodes", "mdp.barcode_taken", value=code,
                                     params={"code": code, "sku": holder_sku}))
    supplier = rules.text(draft.supplier)
    values["supplier_id"] = None
    if supplier:
        values["supplier_id"] = session.execute(
            _usable_suppliers(select(Supplier.id).where(Supplier.name == supplier))).scalar()
        if values["supplier_id"] is None:
            issues.append(FieldIssue("supplier", "mdp.supplier_unknown", value=supplier, params={"name": supplier}))
    if issues:
        raise ValidationError(issues)
    return values, codes


def _audit_values(values: Mapping[str, Any], codes: list[str]) -> dict[str, Any]:
    return {**{k: values[k] for k in _FIELDS}, "barcodes": codes}


def _current_values(session: Session, product: Product) -> dict[str, Any]:
    return _audit_values({k: getattr(product, k) for k in _FIELDS},
                         barcodes.of_products(session, [product.id])[product.id])


# --- writes ----------------------------------------------------------------------------------


@unit_of_work
def create_product(session: Session, draft: ProductDraft, actor: Actor) -> ProductRecord:
    """Add a product; refused (nothing written) with every wrong field named."""
    require(actor, "product.edit")
    values, codes = _check(session, draft, None)
    product_id = session.execute(insert(Product).values(**values, created_at=utcnow()).returning(Product.id)
                                 ).scalar_one()
    barcodes.replace(session, product_id, codes)
    audit.record(session, actor, "product.create", "product", values["sku"], after=_audit_values(values, codes))
    return _record(session, _load(session, product_id))


@unit_of_work
def update_product(session: Session, product_id: int, draft: ProductDraft, actor: Actor) -> ProductRecord:
    """Replace the product's fields with the draft's; the audit row holds what changed."""
    require(actor, "product.edit")
    product = _load(session, product_id)
    before = _current_values(session, product)
    values, codes = _check(session, draft, product)
    after = _audit_values(values, codes)
    changed = {k for k in after if after[k] != before[k]}
    if not changed:
        return _record(session, product)
    session.execute(update(Product).where(Product.id == product_id).values(**values))
    barcodes.replace(session, product_id, codes)
    session.expire(product)
    audit.record(session, actor, "product.update", "product", values["sku"],
                 before={k: before[k] for k in sorted(changed)}, after={k: after[k] for k in sorted(changed)})
    return _record(session, _load(session, product_id))


@dataclass(frozen=True)
class Upserted:
    record: ProductRecord
    created: bool


@unit_of_work
def upsert_product(session: Session, draft: ProductDraft, actor: Actor) -> Upserted:
    """Create the product ``draft.sku`` or replace the fields of the one holding that SKU (the
    API's ``PUT /products/{sku}``, an import row): the same checks and audit as the editor.
    Two racing creations of one SKU collide on its unique index; the loser is re-run and
    then updates."""
    require(actor, "product.edit")
    sku = rules.text(draft.sku)
    product_id = session.execute(select(Product.id).where(Product.sku == sku)).scalar() if sku else None
    if product_id is None:
        return Upserted(create_product(draft, actor, session=session), True)
    return Upserted(update_product(product_id, draft, actor, session=session), False)


@unit_of_work
def set_product_active(session: Session, product_id: int, active: bool, actor: Actor) -> ProductRecord:
    """Deactivate (order entry then refuses it; history keeps it) or reactivate a product."""
    require(actor, "product.edit")
    product = _load(session, product_id)
    if product.active != active:
        session.execute(update(Product).where(Product.id == product_id).values(active=active))
        session.expire(product)
        audit.record(session, actor, "product.activate" if active else "product.deactivate", "product", product.sku,
                     before={"active": not active}, after={"active": active})
    return _record(session, _load(session, product_id))


@unit_of_work
def delete_product(session: Session, product_id: int, actor: Actor) -> None:
    """Remove a product nothing refers to (a mistake caught early); a product in use is
    refused — deactivate it instead."""
    require(actor, "product.edit")
    product = _load(session, product_id)
    if _in_use(session, product_id):
        raise Refused("mdp.product_in_use", sku=product.sku)
    before = _current_values(session, product)
    session.execute(delete(ProductBarcode).where(ProductBarcode.product_id == product_id))
    session.execute(delete(Product).where(Product.id == product_id))
    audit.record(session, actor, "product.delete", "product", product.sku, before=before)


@read_only
def product_count(session: Session, actor: Actor) -> tuple[int, int]:
    """(all products, active products) for the page header."""
    require(actor, "product.edit")
    total, active = session.execute(
        select(func.count(), func.count().filter(Product.active.is_(True))).select_from(Product)).one()
    return int(total), int(active)
