"""Customer profiles by hand: edit one, and merge two profiles of the same person.

Edits use the order service's rules (:func:`core.services.customers.contact_issues`: phones as
bare digits, e-mails lower-cased, provinces by their short name), and refuse a phone or e-mail
another profile already holds — that is a merge, not an edit, and the refusal names the
profile to merge with.

A merge moves everything that points at the merged profile — its orders (and so their returns),
its channel identities, profiles merged into it earlier — to the survivor, fills the
survivor's blank contact and address fields from it, joins their tags and keeps the higher
tier. The merged row stays, marked ``merged_into_id``: its code still resolves, and a later
order typed with its old phone finds the survivor (:func:`core.services.customers.resolved`).
The moved orders get a new ``updated_at`` and ``version``, and the audit row names both
profiles, so the analytics summaries rebuild both customers (core.analytics.summary) and
the survivor counts once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import Session

from core import audit, paging
from core.db import read_only, rowcount, unit_of_work
from core.errors import FieldIssue, NotFound, Refused, ValidationError
from core.geo import normalise_province
from core.importing.fields import TIERS as TIERS  # the tiers a profile may hold (the page's choices)
from core.models import Channel, Customer, CustomerIdentity, Order
from core.models.personal import digest, with_indexes
from core.permissions import Actor, require
from core.product_rules import column_length
from core.searchbox import search_text
from core.services import customers
from core.timeutil import utcnow

MAX_TAGS = 20
MAX_TAG = 32
PROFILE_FIELDS = ("name", "phone", "email", "province", "city", "district", "address", "tier", "tags")
_FILLABLE = ("phone", "email", "province", "city", "district", "address")  # a merge fills these if blank
_TEXT_LIMITS = {name: column_length(Customer.__table__.c[column]) for name, column in (
    ("customer_name", "name"), ("email", "email"), ("province", "province"), ("city", "city"),
    ("district", "district"), ("address", "address"))}
LIST_COLUMNS = ["id", "code", "name", "phone", "email", "province", "city", "district", "address", "tier", "tags",
                "orders", "merged_into", "created_at"]


@dataclass
class CustomerEdit:
    """A profile as the editor gives it (text as typed; tags as a list or "a, b")."""

    name: str
    phone: str | None = None
    email: str | None = None
    province: str | None = None
    city: str | None = None
    district: str | None = None
    address: str | None = None
    tier: str = "normal"
    tags: Iterable[str] | str = ()


@dataclass(frozen=True)
class CustomerProfile:
    id: int
    code: str
    name: str
    phone: str | None
    email: str | None
    province: str | None
    city: str | None
    district: str | None
    address: str | None
    tier: str
    tags: tuple[str, ...]
    created_at: dt.datetime
    orders: int
    identities: tuple[tuple[str, str], ...]  # (channel code, buyer id)
    merged_into: str | None  # the survivor's code
    merged_at: dt.datetime | None


@dataclass(frozen=True)
class MergeResult:
    survivor: CustomerProfile
    merged_code: str
    orders_moved: int
    identities_moved: int


# --- reads -----------------------------------------------------------------------------------


def _order_count(session: Session, customer_id: int) -> int:
    return int(session.execute(select(func.count(Order.id)).where(Order.customer_id == customer_id)).scalar_one())


def _profile(session: Session, c: Customer) -> CustomerProfile:
    identities = tuple((r.code, r.external_id) for r in session.execute(
        select(Channel.code, CustomerIdentity.external_id).join(Channel, Channel.id == CustomerIdentity.channel_id)
        .where(CustomerIdentity.customer_id == c.id).order_by(Channel.code, CustomerIdentity.external_id)))
    merged_into = session.execute(select(Customer.code).where(Customer.id == c.merged_into_id)).scalar() \
        if c.merged_into_id is not None else None
    return CustomerProfile(c.id, c.code, c.name, c.phone, c.email, c.province, c.city, c.district, c.address, c.tier,
                           tuple(c.tags or ()), c.created_at, _order_count(session, c.id), identities, merged_into,
                           c.merged_at)


def _load(session: Session, customer_id: int, *, lock: bool = False) -> Customer:
    stmt = select(Customer).where(Customer.id == customer_id)
    customer = session.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none()
    if customer is None:
        raise NotFound(f"no customer {customer_id}", customer_id=customer_id)
    return customer


def _list_stmt(session: Session, query: str, include_merged: bool) -> Select[*tuple[Any, ...]]:
    """The one statement behind the list, its count and its full download, by code (unique)."""
    survivor = Customer.__table__.alias("survivor")
    order_count = select(Order.customer_id, func.count(Order.id).label("n")).group_by(Order.customer_id).subquery()
    stmt = (select(Customer.id, Customer.code, Customer.name, Customer.phone, Customer.email, Customer.province,
                   Customer.city, Customer.district, Customer.address, Customer.tier, Customer.tags,
                   func.coalesce(order_count.c.n, 0), survivor.c.code, Customer.created_at)
            .outerjoin(order_count, order_count.c.customer_id == Customer.id)
            .outerjoin(survivor, survivor.c.id == Customer.merged_into_id)
            .order_by(Customer.code, Customer.id))
    q = search_text(query)
    if q:
        conds = [*customers.name_conditions(q, encrypted=customers.names_encrypted(session)), Customer.code == q.upper()]
        digits = customers.normalise_phone(q)
        conds += customers.phone_conditions(Customer.phone_bidx, Customer.phone_last4_bidx, digits)
        if "@" in q:
            conds.append(Customer.email_bidx == digest("email", customers.normalise_email(q)))
        stmt = stmt.where(or_(*conds))
    if not include_merged:
        stmt = stmt.where(Customer.merged_into_id.is_(None))
    return stmt


def _listed(frame: pd.DataFrame) -> pd.DataFrame:
    frame["tags"] = [", ".join(t or []) for t in frame["tags"]]
    frame["orders"] = frame["orders"].astype(int)
    return frame


@read_only
def list_customers(session: Session, actor: Actor, query: str = "", *, include_merged: bool = False,
                   limit: int = paging.MAX_PAGE_SIZE, offset: int = 0) -> pd.DataFrame:
    """One page (``offset``, ``limit``) of customer profiles, or of those whose name contains
    ``query`` (is it, while names are encrypted), whose code is it or whose phone is it; :func:`count_customers`
    says how many match and :func:`export_customers` feeds them all (for maintenance)."""
    require(actor, "customer.view")
    return _listed(paging.page_rows(session, _list_stmt(session, query, include_merged), LIST_COLUMNS, offset, limit))


@read_only
def count_customers(session: Session, actor: Actor, query: str = "", *, include_merged: bool = False) -> int:
    """How many profiles :func:`list_customers` finds, exactly."""
    require(actor, "customer.view")
    return paging.count_rows(session, _list_stmt(session, query, include_merged))


@read_only
def export_customers(session: Session, actor: Actor, sink: Callable[[pd.DataFrame], object], query: str = "", *,
                     include_merged: bool = False, chunk_size: int = paging.EXPORT_CHUNK) -> int:
    """Every profile :func:`list_customers` finds, no cap, handed to ``sink`` in chunks from one
    snapshot; returns the number of rows."""
    require(actor, "customer.view")
    return paging.feed_chunks(session, _list_stmt(session, query, include_merged), LIST_COLUMNS,
                              lambda chunk: sink(_listed(chunk)), chunk_size)


@read_only
def customer_profile(session: Session, customer_id: int, actor: Actor) -> CustomerProfile:
    """One profile with its order count, channel identities and merge state."""
    require(actor, "customer.view")
    return _profile(session, _load(session, customer_id))


# --- checks ----------------------------------------------------------------------------------


def _tags(raw: Iterable[str] | str, issues: list[FieldIssue]) -> list[str]:
    items = str(raw).replace("，", ",").split(",") if isinstance(raw, str) else [str(t) for t in raw]
    tags: list[str] = []
    for tag in (t.strip() for t in items):
        if not tag or tag in tags:
            continue
        if len(tag) > MAX_TAG:
            issues.append(FieldIssue("tags", "issue.too_long", value=tag[:20] + "…", params={"n": MAX_TAG}))
        tags.append(tag)
    if len(tags) > MAX_TAGS:
        issues.append(FieldIssue("tags", "mdp.too_many", params={"n": MAX_TAGS}))
    return tags


def _holder(session: Session, field: str, value: str | None, own_id: int) -> Any:
    """(code, name) of another profile that ``value`` in ``field`` already leads to: a profile
    holding it, or the survivor of a merged one (lookups by phone and e-mail follow merges)."""
    if not value:
        return None
    survivor = customers.SURVIVOR
    index = Customer.__table__.c[f"{field}_bidx"]  # phone and e-mail are encrypted: their blind index
    return session.execute(customers.resolved(survivor.c.code, survivor.c.name).where(
        index == digest(field, value), survivor.c.id != own_id).order_by(Customer.__table__.c.id).limit(1)
    ).first()


def _check(session: Session, edit: CustomerEdit, current: Customer) -> dict[str, Any]:
    """The edit as column values; ValidationError naming every bad field, nothing written."""
    issues = customers.contact_issues(edit.name, edit.phone, edit.email, need_contact=False)
    raw = {"customer_name": edit.name, "email": edit.email, "province": edit.province, "city": edit.city,
           "district": edit.district, "address": edit.address}
    for name, limit in _TEXT_LIMITS.items():
        value = (raw[name] or "").strip()
        if len(value) > limit:
            issues.append(FieldIssue(name, "issue.too_long", value=value[:20] + "…", params={"n": limit}))
        elif "\x00" in value:
            issues.append(FieldIssue(name, "issue.bad_text"))
    if edit.tier not in TIERS:
        issues.append(FieldIssue("tier", "issue.one_of", value=edit.tier, params={"choices": ", ".join(TIERS)}))
    values: dict[str, Any] = {
        "name": (edit.name or "").strip(),
        "phone": customers.normalise_phone(edit.phone),
        "email": customers.normalise_email(edit.email),
        "province": normalise_province((edit.province or "").strip() or None),
        "city": (edit.city or "").strip() or None,
        "district": (edit.district or "").strip() or None,
        "address": (edit.address or "").strip() or None,
        "tier": edit.tier,
        "tags": _tags(edit.tags, issues),
    }
    for field in ("phone", "email"):
        if values[field] == getattr(current, field):
            continue  # unchanged: an old duplicate is not this edit's doing
        holder = _holder(session, field, values[field], current.id)
        if holder is not None:
            issues.append(FieldIssue(field, "mdp.contact_taken", value=values[field],
                                     params={"code": holder.code, "name": holder.name}))
    if issues:
        raise ValidationError(issues)
    return values


def _values(c: Customer) -> dict[str, Any]:
    return {k: list(c.tags or []) if k == "tags" else getattr(c, k) for k in PROFILE_FIELDS}


# --- writes ----------------------------------------------------------------------------------


@unit_of_work
def update_customer(session: Session, customer_id: int, edit: CustomerEdit, actor: Actor) -> CustomerProfile:
    """Replace the profile's fields with the edit's; the audit row holds what changed."""
    require(actor, "customer.edit")
    current = _load(session, customer_id, lock=True)
    if current.merged_into_id is not None:
        raise Refused("mdp.customer_merged", code=current.code)
    values = _check(session, edit, current)
    before = _values(current)
    changed = sorted(k for k in PROFILE_FIELDS if values[k] != before[k])
    if changed:
        session.execute(update(Customer).where(Customer.id == customer_id).values(
            **with_indexes("customers", {k: values[k] for k in changed})))
        session.expire(current)
        audit.record(session, actor, "customer.update", "customer", current.code,
                     before={k: before[k] for k in changed}, after={k: values[k] for k in changed})
    return _profile(session, _load(session, customer_id))


@unit_of_work
def merge_customers(session: Session, survivor_id: int, merged_id: int, actor: Actor) -> MergeResult:
    """Fold profile ``merged_id`` into ``survivor_id`` (see the module doc); one transaction.

    Refused for one profile merged with itself, or when either is already merged into another.
    """
    require(actor, "customer.merge")
    if survivor_id == merged_id:
        raise Refused("mdp.merge_self")
    for cid in sorted((survivor_id, merged_id)):  # lock in id order: two opposite merges cannot deadlock
        _load(session, cid, lock=True)
    survivor, merged = _load(session, survivor_id), _load(session, merged_id)
    for c in (survivor, merged):
        if c.merged_into_id is not None:
            raise Refused("mdp.customer_merged", code=c.code)
    before = {"survivor": {"code": survivor.code, **_values(survivor)}, "merged": {"code": merged.code,
                                                                                   **_values(merged)}}
    now = utcnow()
    moved_orders = list(session.execute(select(Order.number).where(Order.customer_id == merged_id)
                                        .order_by(Order.id)).scalars())
    session.execute(update(Order).where(Order.customer_id == merged_id).values(
        customer_id=survivor_id, updated_at=now, version=Order.version + 1))
    identities = rowcount(session.execute(update(CustomerIdentity).where(CustomerIdentity.customer_id == merged_id)
                                          .values(customer_id=survivor_id)))
    session.execute(update(Customer).where(Customer.merged_into_id == merged_id).values(merged_into_id=survivor_id))
    gains: dict[str, Any] = {k: getattr(merged, k) for k in _FILLABLE
                             if getattr(merged, k) and not getattr(survivor, k)}
    tags = list(survivor.tags or []) + [t for t in (merged.tags or []) if t not in (survivor.tags or [])]
    if tags != list(survivor.tags or []):
        gains["tags"] = tags
    if "vip" in (survivor.tier, merged.tier) and survivor.tier != "vip":
        gains["tier"] = "vip"
    if gains:
        session.execute(update(Customer).where(Customer.id == survivor_id).values(**with_indexes("customers", gains)))
    session.execute(update(Customer).where(Customer.id == merged_id).values(merged_into_id=survivor_id,
                                                                            merged_at=now))
    session.expire_all()
    audit.record(session, actor, "customer.merge", "customer", merged.code, before=before, after={
        "merged_into": before["survivor"]["code"], "survivor_gains": gains, "orders": moved_orders,
        "identities_moved": identities})
    return MergeResult(_profile(session, _load(session, survivor_id)), before["merged"]["code"], len(moved_orders),
                       int(identities))
