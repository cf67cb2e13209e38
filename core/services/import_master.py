"""Writing validated master data: products (upsert by SKU), stock counts (through the ledger),
customers (merged by identity, phone or e-mail).

Each writer runs in the import's transaction on rows that passed the validation suite, and
returns what it did so the import can report and audit it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from core import audit, barcodes, stock
from core.geo import normalise_province
from core.importing.identity import Resolution, chunks, resolve
from core.importing.prepare import stock_levels
from core.models import Customer, Product, Supplier
from core.models.personal import with_indexes
from core.permissions import Actor
from core.product_rules import DEFAULT_CATEGORY
from core.services.orders import lock_for_arrival, reserve_backorders
from core.timeutil import utcnow

_P = Product.__table__

Progress = Callable[[float], None]


def _cents(value: float) -> Decimal:
    return Decimal(int(value)).scaleb(-2)


def _present(value: Any) -> bool:
    return value is not None and not (not isinstance(value, str) and pd.isna(value))


# --- products --------------------------------------------------------------------------------


def _supplier_ids(session: Session, names: set[str]) -> tuple[dict[str, int], int]:
    """Supplier id per name, creating suppliers named for the first time (default lead time)."""
    if not names:
        return {}, 0
    have = dict(session.execute(select(Supplier.name, Supplier.id).where(Supplier.name.in_(sorted(names)))).all())
    new = sorted(names - set(have))
    for name in new:
        have[name] = session.execute(insert(Supplier).values(name=name[:128]).returning(Supplier.id)).scalar_one()
    return have, len(new)


# product column → (staged column, converter) for what a product import can set
_PRODUCT_COLUMNS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "name": ("name", lambda v: str(v)[:200]),
    "category": ("category", lambda v: str(v)[:64]),
    "brand": ("brand", lambda v: str(v)[:64]),
    "barcode": ("barcode", str),
    "unit_price": ("unit_price_v", _cents),
    "unit_cost": ("unit_cost_v", _cents),
    "pack_size": ("pack_size_v", int),
    "lead_time_days": ("lead_time_days_v", int),
    "active": ("active_v", bool),
}


@dataclass(frozen=True)
class ProductResult:
    created: int
    updated: int
    unchanged: int
    suppliers_created: int
    skus: dict[str, int] = field(default_factory=dict)


def write_products(session: Session, rows: pd.DataFrame, mapped: set[str], actor: Actor) -> ProductResult:
    """Insert new SKUs, update the mapped fields of existing ones (audited field by field)."""
    existing = {r.sku: r for r in session.execute(
        select(Product).where(Product.sku.in_(sorted(set(rows["sku"]))))).scalars()} if len(rows) else {}
    suppliers, suppliers_created = _supplier_ids(session, {s for s in rows["supplier"] if _present(s)}) \
        if "supplier" in mapped else ({}, 0)
    now = utcnow()
    created = updated = unchanged = 0
    ids: dict[str, int] = {}
    new_rows = []
    for r in rows.to_dict("records"):
        values = {name: conv(r[src]) for name, (src, conv) in _PRODUCT_COLUMNS.items()
                  if name in mapped and _present(r[src])}
        if "supplier" in mapped and _present(r["supplier"]):
            values["supplier_id"] = suppliers[r["supplier"]]
        attrs = {k: r[k] for k in ("size", "color") if k in mapped and _present(r[k])}
        current = existing.get(r["sku"])
        if current is None:
            new_rows.append(dict(sku=r["sku"], name=values.pop("name"), category=values.pop("category", DEFAULT_CATEGORY),
                                 unit_price=values.pop("unit_price"), attributes=attrs, created_at=now,
                                 **{"unit_cost": None, "pack_size": 1, "active": True} | values))
            continue
        if attrs:
            values["attributes"] = (current.attributes or {}) | attrs
        changed = {k: v for k, v in values.items() if getattr(current, k) != v}
        ids[current.sku] = current.id
        if not changed:
            unchanged += 1
            continue
        before = {k: getattr(current, k) for k in changed}
        session.execute(update(Product).where(Product.id == current.id).values(**changed))
        if "barcode" in changed:
            barcodes.set_primary(session, current.id, before["barcode"], changed["barcode"])
        audit.record(session, actor, "product.import_update", "product", current.sku, before=before, after=changed)
        updated += 1
    for part in chunks(new_rows):
        new_ids = session.execute(insert(_P).returning(_P.c.id, _P.c.sku, sort_by_parameter_order=True), part).all()
        ids.update({sku: pid for pid, sku in new_ids})
        barcodes.index_primary(session, [pid for pid, _ in new_ids])
        created += len(part)
    return ProductResult(created, updated, unchanged, suppliers_created, ids)


def create_missing_products(session: Session, lines: pd.DataFrame, known: set[str]) -> dict[str, int]:
    """Products for SKUs an order file uses but the catalogue lacks (the user's explicit choice):
    named after the line's product name (else the SKU), priced at the first line's unit price,
    costed at the file's unit cost when it has one — else *cost unknown* (NULL), never 0, which
    would read as a 100 % margin."""
    missing = lines[~lines["sku"].isin(known)].drop_duplicates("sku")
    if missing.empty:
        return {}
    now = utcnow()
    rows = [dict(sku=r["sku"], name=str(r["product_name"] or r["sku"])[:200],
                 category=str(r["category"] or DEFAULT_CATEGORY)[:64], attributes={},
                 unit_price=_cents(r["_unit_price"]),
                 unit_cost=_cents(r["unit_cost_v"]) if _present(r.get("unit_cost_v")) else None, pack_size=1, active=True, created_at=now)
            for r in missing.to_dict("records")]
    ids: dict[str, int] = {}
    for part in chunks(rows):
        ids.update({sku: pid for pid, sku in session.execute(
            insert(_P).returning(_P.c.id, _P.c.sku, sort_by_parameter_order=True), part).all()})
    return ids


# --- stock -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StockResult:
    initial: int
    counted: int
    unchanged: int
    failed: dict[int, str]  # staged row position → reason (counted below what is reserved)
    backorders_confirmed: tuple[str, ...]


def write_stock(session: Session, rows: pd.DataFrame, *, actor: Actor, batch_id: int,
                progress: Progress) -> StockResult:
    """Set each SKU × warehouse to its counted quantity through the ledger.

    A pair that was never stocked gets an ``initial`` movement; otherwise the difference to
    the current on-hand is posted as a ``count`` movement. A count below what open orders have
    reserved is refused for that row. Stock that arrives releases waiting backorders in the
    same transaction (``reserve_backorders``).
    """
    levels = stock_levels(session, rows["product_id"].tolist())
    initial = counted = unchanged = 0
    failed: dict[int, str] = {}
    arrived: dict[int, set[int]] = {}
    ordered = rows.sort_values(["product_id", "warehouse_id"], kind="stable")
    lock_for_arrival(session, [(int(p), int(w)) for p, w in zip(ordered["product_id"], ordered["warehouse_id"], strict=True)])
    for n, (pos, pid, wid, qty, reason) in enumerate(zip(ordered.index, ordered["product_id"], ordered["warehouse_id"],
                                                         ordered["qty_v"], ordered["reason"], strict=True)):
        on_hand, reserved, history = levels.get((pid, wid), (0, 0, False))
        delta = int(qty) - on_hand
        if delta == 0:
            unchanged += 1
            continue
        kind = "count" if history else "initial"
        ok = stock.post_movement(session, product_id=int(pid), warehouse_id=int(wid), qty_delta=delta, kind=kind,
                                 actor=actor.username, reason=(reason or f"import #{batch_id}")[:200],
                                 ref_type="import", ref_id=batch_id)
        if not ok:
            failed[int(pos)] = str(reserved)
            continue
        initial += kind == "initial"
        counted += kind == "count"
        if delta > 0:
            arrived.setdefault(int(wid), set()).add(int(pid))
        progress((n + 1) / len(ordered))
    confirmed: list[str] = []
    for wid, pids in sorted(arrived.items()):
        confirmed += reserve_backorders(session, sorted(pids), wid, actor)
    return StockResult(initial, counted, unchanged, failed, tuple(confirmed))


# --- customers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerResult:
    resolution: Resolution
    updated: int


_FILLABLE = ("phone", "email", "province", "city", "district", "address")


def write_customers(session: Session, people: pd.DataFrame, rows: pd.DataFrame, *, actor: Actor,
                    channel_codes: dict[int, str]) -> CustomerResult:
    """Create or merge every person; a known customer only gains what their record lacks
    (blank contact and address fields), a tier if the file gives one, and new tags."""
    resolution = resolve(session, people, channel_codes)
    updated = 0
    cur = {r.id: r for part in chunks(sorted(set(resolution.customer_ids)))
           for r in session.execute(select(Customer).where(Customer.id.in_(part))).scalars()}
    seen: set[int] = set()
    for cid, r in zip(resolution.customer_ids, rows.to_dict("records"), strict=True):
        current = cur[cid]
        if cid in seen:
            continue
        seen.add(cid)
        values = {"phone": r["phone_v"], "email": r["email_v"], "province": normalise_province(r["province"]),
                  "city": r["city"], "district": r["district"], "address": r["address"]}
        changes = {k: v for k, v in values.items() if _present(v) and not getattr(current, k)}
        if _present(r.get("tier_v")) and r["tier_v"] != current.tier:
            changes["tier"] = r["tier_v"]
        tags = [t.strip() for t in str(r.get("tags") or "").replace("，", ",").split(",") if t.strip()]
        new_tags = [t for t in tags if t not in (current.tags or [])]
        if new_tags:
            changes["tags"] = list(current.tags or []) + new_tags
        if not changes:
            continue
        before = {k: getattr(current, k) for k in changes}
        session.execute(update(Customer).where(Customer.id == cid).values(**with_indexes("customers", changes)))
        audit.record(session, actor, "customer.import_update", "customer", current.code, before=before, after=changes)
        updated += 1
    return CustomerResult(resolution, updated)

