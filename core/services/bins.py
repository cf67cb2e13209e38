"""Bins (货位): shelf locations per warehouse, each product's home bin, putaway into a bin.

A warehouse **uses bins** once it has one active bin. From then on every pick and every putaway
names a bin: a pick list refuses a product without a home bin there (the refusal names the SKU,
so the layout gets fixed before a picker walks), and a receipt puts each line into the bin
given or, by default, the product's home bin. Warehouses without bins work as before.

Bins are known by their code within the warehouse (trimmed, upper-cased; e.g. ``A-01-03``), so
a code never changes; a bin that products or receipts refer to is deactivated, not deleted.
Pickers walk bins by ``walk_order`` then code: pick lists are printed in that order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from core import audit
from core.db import read_only, unit_of_work
from core.errors import FieldIssue, NotFound, Refused, ValidationError
from core.models import BIN_ZONES, Bin, OrderLine, Product, ProductBin, Warehouse
from core.permissions import Actor, require

CODE_MAX = 32
CODE_PATTERN = re.compile(r"[A-Z0-9][A-Z0-9._-]*")
WALK_ORDER_MAX = 999_999
ZONES = BIN_ZONES
HOME_ZONES = ("pick", "reserve")  # a product is not picked from, or put away into, the defective zone
BIN_COLUMNS = ["bin", "zone", "walk_order", "active", "products"]
HOME_COLUMNS = ["sku", "name", "bin", "zone", "walk_order"]


@dataclass(frozen=True)
class BinInput:
    warehouse: str
    code: str
    zone: str = "pick"
    walk_order: int = 0
    active: bool = True


@dataclass(frozen=True)
class SavedBin:
    warehouse: str
    code: str
    created: bool


def _warehouse(session: Session, code: str) -> Warehouse:
    wh = session.execute(select(Warehouse).where(Warehouse.code == str(code or "").strip().upper())).scalar_one_or_none()
    if wh is None:
        raise NotFound.coded("bin.no_warehouse", warehouse=code)
    return wh


def normalise_code(raw: object) -> str:
    return str(raw or "").strip().upper()


def _validate(data: BinInput) -> tuple[str, int]:
    issues: list[FieldIssue] = []
    code = normalise_code(data.code)
    if not code:
        issues.append(FieldIssue("bin", "issue.required"))
    elif len(code) > CODE_MAX or not CODE_PATTERN.fullmatch(code):
        issues.append(FieldIssue("bin", "bin_issue.bad_code", value=code, params={"n": CODE_MAX}))
    if data.zone not in BIN_ZONES:
        issues.append(FieldIssue("zone", "issue.unknown_value", value=data.zone, params={"value": data.zone}))
    walk = data.walk_order
    if isinstance(walk, bool) or not isinstance(walk, int) or not 0 <= walk <= WALK_ORDER_MAX:
        issues.append(FieldIssue("walk_order", "bin_issue.bad_walk_order", value=walk, params={"n": WALK_ORDER_MAX}))
    if issues:
        raise ValidationError(issues)
    return code, int(walk)


@unit_of_work
def save_bin(session: Session, data: BinInput, actor: Actor) -> SavedBin:
    """Create the bin, or change the zone, walk order or active flag of an existing one."""
    require(actor, "stock.bins")
    code, walk = _validate(data)
    wh = _warehouse(session, data.warehouse)
    row = session.execute(select(Bin).where(Bin.warehouse_id == wh.id, Bin.code == code)).scalar_one_or_none()
    after = {"zone": data.zone, "walk_order": walk, "active": bool(data.active)}
    if row is None:
        session.execute(insert(Bin).values(warehouse_id=wh.id, code=code, **after))
        audit.record(session, actor, "bin.create", "bin", f"{wh.code}/{code}", after=after)
        return SavedBin(wh.code, code, True)
    if not data.active and row.active:
        homes = session.execute(select(func.count(ProductBin.id)).where(ProductBin.bin_id == row.id)).scalar_one()
        if homes:
            raise Refused("bin.still_home", bin=code, n=homes)
    before = {"zone": row.zone, "walk_order": row.walk_order, "active": row.active}
    if data.zone not in HOME_ZONES and row.zone in HOME_ZONES:
        homes = session.execute(select(func.count(ProductBin.id)).where(ProductBin.bin_id == row.id)).scalar_one()
        if homes:
            raise Refused("bin.still_home", bin=code, n=homes)
    session.execute(update(Bin).where(Bin.id == row.id).values(**after))
    audit.record(session, actor, "bin.update", "bin", f"{wh.code}/{code}", before=before, after=after)
    return SavedBin(wh.code, code, False)


@unit_of_work
def set_home_bin(session: Session, warehouse: str, sku: str, bin_code: str | None, actor: Actor) -> None:
    """Make ``bin_code`` the product's home bin in ``warehouse`` (``None`` or blank: none)."""
    require(actor, "stock.bins")
    wh = _warehouse(session, warehouse)
    sku = str(sku or "").strip()
    product_id = session.execute(select(Product.id).where(Product.sku == sku)).scalar_one_or_none()
    if product_id is None:
        raise ValidationError([FieldIssue("sku", "issue.unknown_sku", value=sku, params={"sku": sku})])
    current = session.execute(select(ProductBin.id, Bin.code).join(Bin, Bin.id == ProductBin.bin_id).where(
        ProductBin.product_id == product_id, ProductBin.warehouse_id == wh.id)).first()
    code = normalise_code(bin_code)
    if not code:
        if current is not None:
            session.execute(ProductBin.__table__.delete().where(ProductBin.id == current.id))
            audit.record(session, actor, "bin.home_clear", "product", sku, before={"bin": current.code},
                         after={"warehouse": wh.code})
        return
    target = _usable_bin(session, wh.id, code, "bin", None)
    if current is None:
        session.execute(insert(ProductBin).values(product_id=product_id, warehouse_id=wh.id, bin_id=target))
    else:
        session.execute(update(ProductBin).where(ProductBin.id == current.id).values(bin_id=target))
    audit.record(session, actor, "bin.home_set", "product", sku, before={"bin": current.code if current else None},
                 after={"warehouse": wh.code, "bin": code})


def _usable_bin(session: Session, warehouse_id: int, code: str, field: str, row: int | None) -> int:
    """The id of an active pick/reserve bin ``code`` of the warehouse, else a field refusal."""
    found = session.execute(select(Bin.id, Bin.zone, Bin.active).where(
        Bin.warehouse_id == warehouse_id, Bin.code == code)).first()
    if found is None or not found.active:
        raise ValidationError([FieldIssue(field, "bin_issue.unknown_bin", row, code, params={"bin": code})])
    if found.zone not in HOME_ZONES:
        raise ValidationError([FieldIssue(field, "bin_issue.wrong_zone", row, code,
                                          params={"bin": code, "zone": found.zone})])
    return int(found.id)


@read_only
def list_bins(session: Session, warehouse: str, actor: Actor) -> pd.DataFrame:
    """The warehouse's bins in walking order, with how many products call each home."""
    require(actor, "stock.view")
    wh = _warehouse(session, warehouse)
    homes = (select(ProductBin.bin_id, func.count(ProductBin.id).label("n")).group_by(ProductBin.bin_id)
             .subquery())
    rows = session.execute(
        select(Bin.code, Bin.zone, Bin.walk_order, Bin.active, func.coalesce(homes.c.n, 0))
        .outerjoin(homes, homes.c.bin_id == Bin.id).where(Bin.warehouse_id == wh.id)
        .order_by(Bin.walk_order, Bin.code)).all()
    return pd.DataFrame(rows, columns=BIN_COLUMNS)


@read_only
def home_bins(session: Session, warehouse: str, actor: Actor) -> pd.DataFrame:
    """Each product with a home bin in the warehouse, in walking order."""
    require(actor, "stock.view")
    wh = _warehouse(session, warehouse)
    rows = session.execute(
        select(Product.sku, Product.name, Bin.code, Bin.zone, Bin.walk_order)
        .join(ProductBin, ProductBin.product_id == Product.id).join(Bin, Bin.id == ProductBin.bin_id)
        .where(ProductBin.warehouse_id == wh.id).order_by(Bin.walk_order, Bin.code, Product.sku)).all()
    return pd.DataFrame(rows, columns=HOME_COLUMNS)


# --- used by receiving and picking (inside their transactions) -------------------------------


def uses_bins(session: Session, warehouse_id: int) -> bool:
    return session.execute(select(Bin.id).where(Bin.warehouse_id == warehouse_id, Bin.active.is_(True))
                           .limit(1)).first() is not None


def home_bin_codes(session: Session, warehouse_id: int, product_ids: list[int]) -> dict[int, str]:
    """Product id → its active home bin's code in the warehouse (products without one left out)."""
    if not product_ids:
        return {}
    return dict(session.execute(
        select(ProductBin.product_id, Bin.code).join(Bin, Bin.id == ProductBin.bin_id)
        .where(ProductBin.warehouse_id == warehouse_id, ProductBin.product_id.in_(product_ids),
               Bin.active.is_(True))).all())


def missing_home_bins(session: Session, warehouse_id: int, warehouse_code: str, order_ids: list[int]
                      ) -> list[FieldIssue]:
    """One issue per product of the orders' lines in the warehouse without a home bin there —
    none when the warehouse does not use bins. Picking checks this before anyone walks."""
    if not uses_bins(session, warehouse_id):
        return []
    lines = dict(session.execute(
        select(OrderLine.product_id, Product.sku).join(Product, Product.id == OrderLine.product_id)
        .where(OrderLine.order_id.in_(order_ids), OrderLine.warehouse_id == warehouse_id)).all())
    homes = home_bin_codes(session, warehouse_id, list(lines))
    return [FieldIssue("bin", "bin_issue.no_home_bin_in", value=sku, params={"sku": sku, "warehouse": warehouse_code})
            for pid, sku in sorted(lines.items(), key=lambda kv: kv[1]) if pid not in homes]


def putaway_bins(session: Session, warehouse_id: int, lines: list[tuple[int, str, str | None]],
                 issues: list[FieldIssue]) -> dict[int, int]:
    """Row → bin id for lines ``(row, sku, bin code or None)`` put away into the warehouse: the
    bin given, else the product's home bin. In a warehouse without bins: ``{}`` (and a bin
    given is refused — there is nowhere to put it). Problems are appended to ``issues``."""
    given = {row: normalise_code(code) for row, _, code in lines if normalise_code(code)}
    if not uses_bins(session, warehouse_id):
        issues.extend(FieldIssue("bin", "bin_issue.unknown_bin", row, code, params={"bin": code})
                      for row, code in given.items())
        return {}
    skus = {sku for _, sku, _ in lines}
    ids = dict(session.execute(select(Product.sku, Product.id).where(Product.sku.in_(skus))).all())
    homes = home_bin_codes(session, warehouse_id, list(ids.values()))
    known = {code: (bin_id, zone) for bin_id, code, zone in session.execute(
        select(Bin.id, Bin.code, Bin.zone).where(Bin.warehouse_id == warehouse_id, Bin.active.is_(True)))}
    chosen: dict[int, int] = {}
    for row, sku, _ in lines:
        code = given.get(row) or homes.get(ids.get(sku, -1), "")
        if not code:
            issues.append(FieldIssue("bin", "bin_issue.no_home_bin", row, sku, params={"sku": sku}))
        elif code not in known:
            issues.append(FieldIssue("bin", "bin_issue.unknown_bin", row, code, params={"bin": code}))
        elif known[code][1] not in HOME_ZONES:
            issues.append(FieldIssue("bin", "bin_issue.wrong_zone", row, code,
                                     params={"bin": code, "zone": known[code][1]}))
        else:
            chosen[row] = known[code][0]
    return chosen



@read_only
def putaway_defaults(session: Session, warehouse: str, skus: list[str], actor: Actor) -> dict[str, str] | None:
    """SKU → the bin a receipt goes into by default (its home bin, blank if none), for a
    receiving form to prefill; ``None`` when the warehouse does not use bins."""
    require(actor, "stock.receive")
    wh = _warehouse(session, warehouse)
    if not uses_bins(session, wh.id):
        return None
    ids = dict(session.execute(select(Product.id, Product.sku).where(Product.sku.in_(set(skus)))).all())
    homes = home_bin_codes(session, wh.id, list(ids))
    return {sku: homes.get(pid, "") for pid, sku in ids.items()}
