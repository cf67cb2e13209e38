"""Customers: one profile per person, found by normalised phone (then e-mail).

Phones are stored as bare digits (``+86 138-0013-8000`` → ``13800138000``) and e-mails
lower-cased, so the same person typed three ways by three clerks is one customer. Those rules
are the domain's (:mod:`core.domain.contacts`); they are re-exported here, so callers keep
writing ``customers.normalise_phone``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Select, and_, bindparam, func, or_, select, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core import datakeys, refdata
from core.db import read_only
from core.domain.contacts import contact_issues as contact_issues
from core.domain.contacts import is_readable_phone as is_readable_phone
from core.domain.contacts import is_valid_email as is_valid_email
from core.domain.contacts import is_valid_mobile as is_valid_mobile
from core.domain.contacts import normalise_email as normalise_email
from core.domain.contacts import normalise_phone as normalise_phone
from core.models import Customer, Order
from core.models.personal import digest, not_ciphertext, plain, reveal
from core.numbering import CUSTOMER_DIGITS, CUSTOMER_PREFIX, NumberedInsert
from core.permissions import Actor, require
from core.searchbox import search_text
from core.timeutil import utcnow

_C = Customer.__table__
SURVIVOR = _C.alias("survivor")


def resolved(*columns: Any) -> Select[Any]:
    """``select(*columns)`` over ``customers`` joined to the profile each row stands for: the
    row itself, or the profile it was merged into (``SURVIVOR``). Every lookup by phone,
    e-mail or id goes through it, so a merged profile's old contact details find the survivor."""
    return select(*columns).select_from(_C.join(SURVIVOR, SURVIVOR.c.id == func.coalesce(_C.c.merged_into_id,
                                                                                            _C.c.id)))


_LOOKUP = resolved(SURVIVOR.c.id, SURVIVOR.c.code, plain(SURVIVOR.c.name).label("name"), SURVIVOR.c.phone,
                   SURVIVOR.c.tier).order_by(_C.c.id).limit(1)
# phones and e-mails are encrypted: found by their blind indexes (core.models.personal). The
# phone's digest is indexed only for live profiles (the partial unique index below), so the
# lookup asks twice, each half on an index: the live profile with it, and the merged profiles
# (``merged_into_id > 0``: a range on its index; merged profiles are few). One condition on
# the digest alone would read every customer row (PostgreSQL and SQLite alike).
_PHONE_MATCHES = union_all(
    select(_C.c.id).where(_C.c.phone_bidx == bindparam("v"), _C.c.merged_into_id.is_(None)),
    select(_C.c.id).where(_C.c.phone_bidx == bindparam("v"), _C.c.merged_into_id > 0))
_BY_PHONE = _LOOKUP.where(_C.c.id.in_(_PHONE_MATCHES))
_BY_EMAIL = _LOOKUP.where(_C.c.email_bidx == bindparam("v"))
# One customer per phone (unique index ``uq_customers_phone``): a racer's insert does nothing
# and the lookup after it finds the winner's row. The code comes with the insert.
_INSERT = NumberedInsert({name: dialect.insert(_C).on_conflict_do_nothing().returning(_C.c.id, _C.c.code)
                          for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))},
                         _C.c.code, "CUST", CUSTOMER_DIGITS)


@dataclass(frozen=True)
class CustomerRef:
    id: int
    code: str
    stored_name: str  # as stored (select it with personal.plain): decrypted only if an order uses it
    phone: str | None
    tier: str
    created: bool

    @property
    def name(self) -> str:
        """The name (an order needs it only when its form left the ship-to name empty)."""
        return reveal(self.stored_name) or ""


def find_or_create(
    session: Session,
    *,
    name: str,
    phone: str | None,
    email: str | None = None,
    province: str | None = None,
    city: str | None = None,
    district: str | None = None,
    address: str | None = None,
) -> CustomerRef:
    """The customer with this phone (else e-mail), or a new one. Runs in the caller's transaction.

    A phone or e-mail of a profile merged into another finds the surviving profile. Two first
    orders for one new phone racing each other make one customer: the insert is an upsert on
    the phone's unique index, so the second waits for the first, inserts nothing and reads the
    first's row (its customer number is then left unused — codes may have gaps).
    """
    phone, email = normalise_phone(phone), normalise_email(email)
    conn = session.connection()
    row = conn.execute(_BY_PHONE, {"v": digest("phone", phone)}).first() if phone else None
    if row is None and email:
        row = conn.execute(_BY_EMAIL, {"v": digest("email", email)}).first()
    if row is not None:
        return CustomerRef(row.id, row.code, row.name, row.phone, row.tier, False)
    new = _INSERT.execute(session, dict(
        name=name.strip(), phone=phone, email=email, province=province, city=city,
        district=district, address=address, tier="normal", tags=[], created_at=utcnow(),
    ), CUSTOMER_PREFIX)
    if new is None:  # a concurrent first order for this phone committed it a moment ago
        row = conn.execute(_BY_PHONE, {"v": digest("phone", phone)}).one()
        return CustomerRef(row.id, row.code, row.name, row.phone, row.tier, False)
    return CustomerRef(new.id, new.code, name.strip(), phone, "normal", True)


def names_encrypted(session: Session) -> bool:
    """Whether customers' names are stored encrypted (the setting; :mod:`core.services.customer_names`)."""
    return bool(refdata.snapshot(session).setting(refdata.NAMES_KEY, refdata.NAMES_ENCRYPT, False))


def name_conditions(typed: str, *, encrypted: bool) -> list[Any]:
    """Search conditions for a typed name on ``customers``: the exact (normalised) full name
    through its blind index, which works in both states; while names are plain, also any part
    of a name — never of a ciphertext the conversion job has not reached yet. With names
    encrypted a fragment of a name finds nothing: search by phone, code or number instead."""
    conds: list[Any] = [_C.c.name_bidx == digest("name", typed)]
    if not encrypted:
        conds.append(and_(plain(_C.c.name).contains(typed, autoescape=True), not_ciphertext(_C.c.name)))
    return conds


def phone_conditions(full: Any, last4: Any, digits: str | None) -> list[Any]:
    """Search conditions for a typed phone on a table's blind indexes: the whole normalised
    number, or (exactly four digits) its last four."""
    if not digits or len(digits) < 4:
        return []
    if len(digits) == 4:
        return [last4 == datakeys.last4(digits)]
    return [full == digest("phone", digits)]


@read_only
def search_customers(session: Session, query: str, actor: Actor, limit: int = 20) -> pd.DataFrame:
    """Customers whose name contains ``query`` (is it, when names are encrypted), whose code is
    it, or whose phone is it (the whole number, or its last four digits: phones are encrypted
    and found through their blind indexes), most active first."""
    require(actor, "customer.view")
    query = search_text(query)
    columns = ["id", "code", "name", "phone", "province", "city", "district", "address", "tier", "orders"]
    if not query:
        return pd.DataFrame(columns=columns)
    digits = normalise_phone(query)
    conds = [*name_conditions(query, encrypted=names_encrypted(session)), Customer.code == query.upper()]
    live = Customer.merged_into_id.is_(None)  # a merged profile lives on in its survivor
    conds += phone_conditions(Customer.phone_bidx, Customer.phone_last4_bidx, digits)
    order_count = (
        select(func.count(Order.id)).where(Order.customer_id == Customer.id).correlate(Customer).scalar_subquery()
    )
    rows = session.execute(
        select(
            Customer.id, Customer.code, Customer.name, Customer.phone, Customer.province, Customer.city,
            Customer.district, Customer.address, Customer.tier, order_count.label("orders"),
        ).where(or_(*conds), live).order_by(order_count.desc(), Customer.id).limit(limit)
    ).all()
    return pd.DataFrame(rows, columns=columns)
