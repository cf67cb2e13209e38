"""A product's barcodes: several per product (the maker's EAN, the shop's own label, the code
of an older packaging), each barcode on one product only.

Storage: ``product_barcodes`` holds every barcode, the primary one included, and its unique
index is what keeps one code on one product. ``products.barcode`` mirrors the primary
barcode, because pick lists, slips and the pack list print one code per product.

Every lookup ("which product is this code?") goes through :func:`has_barcode`, which also
accepts the primary column: a product written by a path that only sets ``products.barcode``
(a bulk loader that has not yet called :func:`index_primary`) is still found by its code.
Writers that set ``products.barcode`` call :func:`index_primary` (new products) or
:func:`set_primary` (a changed primary) in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Row, delete, insert, or_, select, union, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from core.models import Product, ProductBarcode

_P, _B = Product.__table__, ProductBarcode.__table__
CHUNK = 5000  # ids per IN list (bound-parameter limits)


def has_barcode(code: object) -> ColumnElement[bool]:
    """Condition on ``products``: the product carries ``code`` (a value or a bind parameter)."""
    return or_(_P.c.barcode == code, _P.c.id.in_(select(_B.c.product_id).where(_B.c.barcode == code)))


def product_by_code(session: Session, code: str) -> Row[Any, Any, Any] | None:
    """``(id, sku, name)`` of the product a scanner read: one of its barcodes, or its SKU typed
    when a label is unreadable (None for a blank code or one no product has). Every scan
    station — pack bench, sorting wall, receiving, counting, transfers — asks this one question."""
    code = (code or "").strip()
    if not code:
        return None
    return session.execute(select(_P.c.id, _P.c.sku, _P.c.name).where(has_barcode(code) | (_P.c.sku == code))
                           .order_by(_P.c.id).limit(1)).first()


def owners(session: Session, codes: Iterable[str]) -> dict[str, str]:
    """barcode → SKU of the product holding it, for those of ``codes`` some product holds."""
    wanted = sorted({c for c in codes if c})
    if not wanted:
        return {}
    rows = session.execute(union(
        select(_B.c.barcode, _P.c.sku).join(_P, _P.c.id == _B.c.product_id).where(_B.c.barcode.in_(wanted)),
        select(_P.c.barcode, _P.c.sku).where(_P.c.barcode.in_(wanted)),
    )).all()
    return {code: sku for code, sku in rows}


def to_skus(session: Session, codes: Iterable[str]) -> dict[str, str]:
    """code → SKU for those of ``codes`` that are a product's barcode and no product's SKU, so
    a form that asks for a SKU also takes what the scanner typed (a SKU always wins)."""
    wanted = {c for c in codes if c}
    if not wanted:
        return {}
    skus = set(session.execute(select(_P.c.sku).where(_P.c.sku.in_(sorted(wanted)))).scalars())
    return {code: sku for code, sku in owners(session, wanted - skus).items()}


def of_products(session: Session, product_ids: Sequence[int]) -> dict[int, list[str]]:
    """product id → its barcodes, the primary first, then the others in the order added."""
    if not product_ids:
        return {}
    ids = sorted(set(product_ids))
    primary = dict(session.execute(select(_P.c.id, _P.c.barcode).where(_P.c.id.in_(ids))).all())
    out: dict[int, list[str]] = {pid: [primary[pid]] if primary.get(pid) else [] for pid in ids}
    for pid, code in session.execute(select(_B.c.product_id, _B.c.barcode).where(_B.c.product_id.in_(ids))
                                     .order_by(_B.c.id)):
        if code not in out[pid]:
            out[pid].append(code)
    return out


def replace(session: Session, product_id: int, codes: Sequence[str]) -> None:
    """Make ``codes`` (validated, distinct) the product's barcodes; the first is the primary."""
    session.execute(delete(_B).where(_B.c.product_id == product_id, _B.c.barcode.not_in(list(codes))))
    have = set(session.execute(select(_B.c.barcode).where(_B.c.product_id == product_id)).scalars())
    new = [{"product_id": product_id, "barcode": c} for c in codes if c not in have]
    if new:
        session.execute(insert(_B), new)
    session.execute(update(_P).where(_P.c.id == product_id).values(barcode=codes[0] if codes else None))


def set_primary(session: Session, product_id: int, old: str | None, new: str | None) -> None:
    """The product's primary barcode changed from ``old`` to ``new`` (``products.barcode`` is
    already written): the old code leaves the barcode table, the new one joins it."""
    if old:
        session.execute(delete(_B).where(_B.c.product_id == product_id, _B.c.barcode == old))
    if new:
        index_primary(session, [product_id])


def index_primary(session: Session, product_ids: Iterable[int] | None = None) -> None:
    """Add the primary barcode of these products (None: of all products) to the barcode
    table where it is not there yet."""
    stmt = select(_P.c.id, _P.c.barcode).where(
        _P.c.barcode.is_not(None), ~select(_B.c.id).where(_B.c.barcode == _P.c.barcode).exists())
    if product_ids is None:
        session.execute(insert(_B).from_select(["product_id", "barcode"], stmt))
        return
    ids = sorted(set(product_ids))
    for start in range(0, len(ids), CHUNK):
        session.execute(insert(_B).from_select(["product_id", "barcode"],
                                               stmt.where(_P.c.id.in_(ids[start:start + CHUNK]))))
