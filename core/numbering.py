"""Document numbers (SO…, RMA…, PO…, TR…, PL…, customer codes) from the ``sequences`` table.

The counter is bumped with one ``UPDATE … RETURNING`` inside the caller's transaction, so a
number is never handed out twice and a rolled-back order leaves no gap-causing side effect
visible to others (the increment rolls back with it).
"""

from __future__ import annotations

from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session

from core.models import Sequence
from core.timeutil import local_today

# REF: reference-data version (core.refdata); PL: pick lists; WV: waves; MG: merged shipments
SEQUENCES = ("SO", "RMA", "PO", "TR", "CUST", "REF", "PL", "WV", "MG")


_T = Sequence.__table__
_NEXT = update(_T).where(_T.c.name == bindparam("n")).values(value=_T.c.value + 1).returning(_T.c.value)


def next_value(session: Session, name: str) -> int:
    value = session.connection().execute(_NEXT, {"n": name}).scalar_one_or_none()
    if value is None:
        raise LookupError(f"sequence {name!r} is missing; run `oms init`")
    return int(value)


def reserve_values(session: Session, name: str, count: int) -> range:
    """``count`` consecutive values of sequence ``name`` with one UPDATE (bulk imports number
    thousands of documents at once); empty for ``count`` 0."""
    if count <= 0:
        return range(0)
    last = session.connection().execute(
        update(_T).where(_T.c.name == name).values(value=_T.c.value + count).returning(_T.c.value)
    ).scalar_one_or_none()
    if last is None:
        raise LookupError(f"sequence {name!r} is missing; run `oms init`")
    return range(int(last) - count + 1, int(last) + 1)


def next_number(session: Session, prefix: str) -> str:
    """E.g. ``SO20261122-000123``: date for humans, global counter for uniqueness."""
    return f"{prefix}{local_today():%Y%m%d}-{next_value(session, prefix):06d}"


def next_customer_code(session: Session) -> str:
    return f"C{next_value(session, 'CUST'):07d}"
