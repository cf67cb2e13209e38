"""Merged orders (合单): open, unpicked orders of one customer in one shop going to one door ship
as one parcel.

A *merge group* (``merge_groups``) ties the orders together; each keeps its number, lines and
payments and moves through its own states — the group only says they travel together: pick
lists and waves take the whole group, the pack bench fills the group's orders from one scan
box, and shipping one of them ships all with one tracking number (docs/inventory.md, "Merged
orders").

Orders match on (customer, channel, warehouse, ``orders.merge_key``): the merge key is the
blind index of the normalised ship-to address (:func:`core.domain.merging.normalise_address`;
the address is encrypted at rest), so candidates are found by one GROUP BY on an index without
decrypting anything. Orders marked *do not merge*, intercepted, split over warehouses or no
longer *confirmed* are kept apart; :func:`core.domain.merging.why_not` names the reason.

Merging happens by hand (:func:`merge_orders`) or by the shop's rule (setting
``merge_orders.auto``; :func:`auto_merge` runs as the worker's periodic job and after
confirming orders from the page). A merge is undone (:func:`undo_merge`) until picking starts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.orm import Session

from core import audit, refdata
from core.db import read_only, unit_of_work
from core.domain import merging as rules
from core.errors import (
    FieldIssue,
    Message,
    NotFound,
    Refused,
    ValidationError,
    stored,
)
from core.models import Customer, MergeGroup, Order, OrderEvent, OrderHold, OrderLine
from core.models.personal import address_key
from core.numbering import next_number
from core.permissions import SYSTEM, Actor, require
from core.timeutil import utcnow

MAX_AUTO_GROUPS = 2000  # per run of the rule; the next run takes the rest
KEY_BATCH = 5000  # open orders given a merge key per run (orders placed before migration 0027)
_CHUNK = 500
CANDIDATE_COLUMNS = ["proposal", "group", "number", "customer", "channel_id", "placed_at", "total"]
GROUP_COLUMNS = ["group", "orders", "status", "customer", "how", "created_at", "created_by"]


@dataclass(frozen=True)
class Proposal:
    """Orders that may ship together: an existing group to join (``group_id``) or a new one."""

    key: tuple[int, int, int | None, str]  # customer, channel, warehouse, merge key
    group_id: int | None
    order_ids: tuple[int, ...]  # the orders not in the group yet


@dataclass(frozen=True)
class MergeResult:
    group: str
    orders: tuple[str, ...]  # every order of the group, oldest first


def auto_enabled(session: Session) -> bool:
    """The shop's ``merge_orders.auto`` setting (off until an admin turns it on)."""
    return bool(refdata.snapshot(session).setting("merge_orders", "auto", False))


# --- finding candidates ----------------------------------------------------------------------


def _eligible() -> Any:
    return and_(Order.status == rules.MERGEABLE_STATUS, Order.customer_id.is_not(None),
                Order.merge_key.is_not(None), Order.do_not_merge.is_(False))


def fill_missing_keys(session: Session, limit: int = KEY_BATCH) -> int:
    """Give open orders written before migration 0027 their merge key (the migration cannot: it
    never sees the data keys). Reads and decrypts at most ``limit`` addresses."""
    rows = session.execute(select(Order.id, Order.ship_province, Order.ship_city, Order.ship_district,
                                  Order.ship_address)
                           .where(Order.status == rules.MERGEABLE_STATUS, Order.merge_key.is_(None),
                                  Order.ship_address.is_not(None)).limit(limit)).all()
    filled = 0
    for r in rows:
        key = address_key(r.ship_province, r.ship_city, r.ship_district, r.ship_address)
        if key is not None:
            session.execute(update(Order).where(Order.id == r.id).values(merge_key=key))
            filled += 1
    return filled


def _blocked(session: Session, ids: list[int]) -> set[int]:
    """Of ``ids``, the orders held (an open interception) or split over warehouses."""
    out: set[int] = set()
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        out.update(session.execute(select(OrderHold.order_id).where(
            OrderHold.order_id.in_(chunk), OrderHold.released_at.is_(None))).scalars())
        out.update(session.execute(
            select(OrderLine.order_id).join(Order, Order.id == OrderLine.order_id)
            .where(OrderLine.order_id.in_(chunk), OrderLine.warehouse_id != Order.warehouse_id)).scalars())
    return out


def _scan(session: Session, limit: int | None) -> tuple[list[Proposal], dict[int, Any]]:
    """The proposals and the rows of their orders. One GROUP BY over the index
    ``ix_orders_merge`` finds the destinations with two or more eligible orders; one join reads
    those orders with whether each is intercepted or split (EXISTS on the holds' and lines'
    indexes) — nothing is decrypted and nothing is read order by order."""
    key_cols = (Order.customer_id, Order.channel_id, Order.warehouse_id, Order.merge_key)
    dests = (select(*key_cols).where(_eligible()).group_by(*key_cols)
             .having(func.count() > 1, func.count(Order.merge_group_id) < func.count()).subquery())
    held = select(OrderHold.id).where(OrderHold.order_id == Order.id, OrderHold.released_at.is_(None)).exists()
    split = select(OrderLine.id).where(OrderLine.order_id == Order.id, OrderLine.warehouse_id != Order.warehouse_id)
    rows = session.execute(
        select(Order.id, Order.number, Order.merge_group_id, Order.placed_at, Order.total, Customer.name,
               (held | split.exists()).label("blocked"), *key_cols)
        .join(dests, and_(Order.customer_id == dests.c.customer_id, Order.merge_key == dests.c.merge_key,
                          Order.channel_id == dests.c.channel_id,
                          Order.warehouse_id.is_not_distinct_from(dests.c.warehouse_id)))
        .outerjoin(Customer, Customer.id == Order.customer_id)
        .where(_eligible()).order_by(Order.id)).all()
    members: dict[tuple[int, int, int | None, str], list[Any]] = defaultdict(list)
    for r in rows:
        if not r.blocked or r.merge_group_id is not None:
            members[(r.customer_id, r.channel_id, r.warehouse_id, r.merge_key)].append(r)
    out: list[Proposal] = []
    for key, found in members.items():
        groups = sorted({r.merge_group_id for r in found if r.merge_group_id is not None})
        loose = tuple(r.id for r in found if r.merge_group_id is None and not r.blocked)
        if not loose or (not groups and len(loose) < 2):
            continue
        out.append(Proposal(key, groups[0] if groups else None, loose[: rules.MAX_GROUP_ORDERS]))
        if limit is not None and len(out) >= limit:
            break
    return out, {r.id: r for r in rows}


def proposals(session: Session, *, limit: int | None = None) -> list[Proposal]:
    """Merges the rule would make now: per destination, the eligible orders not yet in a group,
    joining the group already going there if there is one."""
    return _scan(session, limit)[0]


@read_only
def merge_candidates(session: Session, actor: Actor) -> pd.DataFrame:
    """What merging would do now, one row per order: the proposal it belongs to, the group it
    would join (empty for a new one), its number, customer, placed time and total."""
    require(actor, "order.view")
    found, heads = _scan(session, None)
    group_ids = [p.group_id for p in found if p.group_id is not None]
    numbers: dict[int, str] = {}
    for start in range(0, len(group_ids), _CHUNK):
        numbers.update(session.execute(select(MergeGroup.id, MergeGroup.number)
                                       .where(MergeGroup.id.in_(group_ids[start:start + _CHUNK]))).tuples())
    rows = [(n, numbers.get(p.group_id, "") if p.group_id else "", heads[oid].number, heads[oid].name,
             heads[oid].channel_id, heads[oid].placed_at, heads[oid].total)
            for n, p in enumerate(found, start=1) for oid in p.order_ids]
    return pd.DataFrame(rows, columns=CANDIDATE_COLUMNS)


# --- merging ---------------------------------------------------------------------------------


def _facts(session: Session, order_ids: list[int]) -> dict[int, Any]:
    """The orders, locked (version bumped) in id order so two merges never deadlock."""
    rows = {r.id: r for r in session.execute(
        select(Order.id, Order.number, Order.status, Order.customer_id, Order.channel_id, Order.warehouse_id,
               Order.merge_key, Order.do_not_merge, Order.merge_group_id).where(Order.id.in_(order_ids)))}
    for oid in sorted(rows):
        session.execute(update(Order).where(Order.id == oid).values(version=Order.version + 1, updated_at=utcnow()))
    return rows


def _destination(row: Any) -> rules.Destination:
    return rules.Destination(row.customer_id, row.channel_id, row.warehouse_id, row.merge_key)


def _refusal(session: Session, row: Any) -> str | None:
    blocked = _blocked(session, [row.id])
    held = session.execute(select(OrderHold.id).where(OrderHold.order_id == row.id,
                                                      OrderHold.released_at.is_(None)).limit(1)).first() is not None
    return rules.why_not(rules.MergeFacts(row.number, row.status, bool(row.do_not_merge), held,
                                          row.id in blocked and not held))


def _join(session: Session, group_id: int, group_number: str, rows: Iterable[Any], actor: Actor) -> None:
    now = utcnow()
    for r in rows:
        session.execute(update(Order).where(Order.id == r.id).values(merge_group_id=group_id))
        session.execute(insert(OrderEvent).values(order_id=r.id, at=now, actor=actor.username, from_status=r.status,
                                                  to_status=r.status,
                                                  **stored("note", Message("note.merged", {"group": group_number}))))


def _members(session: Session, group_id: int) -> list[Any]:
    return list(session.execute(select(Order.id, Order.number, Order.status).where(
        Order.merge_group_id == group_id).order_by(Order.id)))


def _apply(session: Session, key: tuple[int, int, int | None, str], group_id: int | None, rows: list[Any],
           how: str, actor: Actor) -> MergeResult:
    if group_id is None:
        number = next_number(session, "MG")
        customer_id, channel_id, warehouse_id, merge_key = key
        group_id = session.execute(insert(MergeGroup).values(
            number=number, customer_id=customer_id, channel_id=channel_id, warehouse_id=warehouse_id,
            merge_key=merge_key, how=how, created_at=utcnow(), created_by=actor.username)
            .returning(MergeGroup.id)).scalar_one()
    else:
        number = session.execute(select(MergeGroup.number).where(MergeGroup.id == group_id)).scalar_one()
    _join(session, group_id, number, rows, actor)
    members = tuple(m.number for m in _members(session, group_id))
    if len(members) > rules.MAX_GROUP_ORDERS:
        raise Refused("merge.too_many", group=number, n=rules.MAX_GROUP_ORDERS)
    audit.record(session, actor, "order.merge", "merge_group", number,
                 after={"how": how, "added": [r.number for r in rows], "orders": list(members)})
    return MergeResult(number, members)


@unit_of_work
def merge_orders(session: Session, numbers: list[str], actor: Actor) -> MergeResult:
    """Merge the orders ``numbers`` by hand into one shipment (joining the group one of them is
    already in). Refused — naming the order and why, writing nothing — when an order is not
    open and unpicked, is marked *do not merge*, is intercepted or split, belongs to another
    customer, shop, warehouse or address, or when the orders are in two different groups."""
    require(actor, "order.fulfil")
    wanted = list(dict.fromkeys(str(n or "").strip().upper() for n in numbers if str(n or "").strip()))
    if len(wanted) < 2:
        raise ValidationError([FieldIssue("orders", "merge_issue.two_orders")])
    ids = dict(session.execute(select(Order.number, Order.id).where(Order.number.in_(wanted))).all())
    missing = [n for n in wanted if n not in ids]
    if missing:
        raise NotFound.coded("merge.no_order", number=missing[0])
    rows = _facts(session, list(ids.values()))
    ordered = [rows[ids[n]] for n in wanted]
    for row in ordered:
        if (reason := _refusal(session, row)) is not None:
            raise Refused(reason, number=row.number)
    first = _destination(ordered[0])
    for row in ordered[1:]:
        if (reason := rules.why_apart(first, _destination(row))) is not None:
            raise Refused(reason, number=row.number, other=ordered[0].number)
    groups = sorted({r.merge_group_id for r in ordered if r.merge_group_id is not None})
    if len(groups) > 1:
        raise Refused("merge.two_groups", number=next(r.number for r in ordered if r.merge_group_id == groups[1]))
    if first.customer_id is None or first.address_key is None:
        raise Refused("merge.other_address", number=ordered[0].number, other=ordered[0].number)
    key = (first.customer_id, first.channel_id, first.warehouse_id, first.address_key)
    loose = [r for r in ordered if r.merge_group_id is None]
    if not loose:
        raise Refused("merge.already", number=ordered[0].number)
    return _apply(session, key, groups[0] if groups else None, loose, "manual", actor)


@unit_of_work
def auto_merge(session: Session, actor: Actor = SYSTEM, *, force: bool = False) -> tuple[MergeResult, ...]:
    """The rule: merge every candidate (at most :data:`MAX_AUTO_GROUPS` groups a run). Does
    nothing while the shop's ``merge_orders.auto`` is off, unless ``force`` (the page's
    *Merge all candidates* button)."""
    require(actor, "order.fulfil")
    if not (force or auto_enabled(session)):
        return ()
    fill_missing_keys(session)
    made: list[MergeResult] = []
    for p in proposals(session, limit=MAX_AUTO_GROUPS):
        rows = _facts(session, list(p.order_ids))
        fresh = [rows[oid] for oid in p.order_ids
                 if oid in rows and _refusal(session, rows[oid]) is None and rows[oid].merge_group_id is None]
        if (p.group_id is None and len(fresh) < 2) or not fresh:
            continue  # something changed since the proposal was read
        made.append(_apply(session, p.key, p.group_id, fresh, "auto", actor))
    return tuple(made)


# --- undoing and the do-not-merge flag ---------------------------------------------------------


def _group(session: Session, number: str, *, lock: bool = False) -> MergeGroup:
    stmt = select(MergeGroup).where(MergeGroup.number == str(number or "").strip().upper())
    group = session.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none()
    if group is None or group.undone_at is not None:
        raise NotFound.coded("merge.no_group", group=number)
    return group


def _leave(session: Session, group: MergeGroup, rows: list[Any], actor: Actor, why: str) -> None:
    """Take ``rows`` out of ``group``; a group left with fewer than two orders is undone. ``why``
    is the timeline note's code (``note.merge_*``, told with the group's number)."""
    now = utcnow()
    for r in rows:
        session.execute(update(Order).where(Order.id == r.id).values(merge_group_id=None))
        session.execute(insert(OrderEvent).values(order_id=r.id, at=now, actor=actor.username, from_status=r.status,
                                                  to_status=r.status,
                                                  **stored("note", Message(why, {"group": group.number}))))
    rest = _members(session, group.id)
    if len(rest) < 2:
        for r in rest:
            session.execute(update(Order).where(Order.id == r.id).values(merge_group_id=None))
        session.execute(update(MergeGroup).where(MergeGroup.id == group.id).values(undone_at=now,
                                                                                     undone_by=actor.username))


@unit_of_work
def undo_merge(session: Session, group: str, actor: Actor) -> tuple[str, ...]:
    """Split a group back into separate orders (before picking); the orders' numbers."""
    require(actor, "order.fulfil")
    found = _group(session, group, lock=True)
    members = _members(session, found.id)
    rows = _facts(session, [m.id for m in members])
    for m in members:
        if rows[m.id].status != rules.MERGEABLE_STATUS:
            raise Refused("merge.undo_too_late", group=found.number, number=m.number, status=rows[m.id].status)
    _leave(session, found, members, actor, "note.merge_undone")
    audit.record(session, actor, "order.unmerge", "merge_group", found.number,
                 before={"orders": [m.number for m in members]})
    return tuple(m.number for m in members)


@unit_of_work
def set_do_not_merge(session: Session, number: str, flag: bool, actor: Actor) -> bool:
    """Mark an order *do not merge* (or clear the mark). Marking an order of a group takes it out
    of the group, which is refused once picking started."""
    require(actor, "order.edit")
    oid = session.execute(select(Order.id).where(Order.number == str(number or "").strip().upper())).scalar()
    if oid is None:
        raise NotFound.coded("merge.no_order", number=number)
    row = _facts(session, [oid])[oid]
    if bool(row.do_not_merge) == flag:
        return flag
    if flag and row.merge_group_id is not None:
        if row.status != rules.MERGEABLE_STATUS:
            raise Refused("merge.undo_too_late", group=row.number, number=row.number, status=row.status)
        group = session.execute(select(MergeGroup).where(MergeGroup.id == row.merge_group_id)).scalar_one()
        _leave(session, group, [row], actor, "note.merge_do_not_merge")
    session.execute(update(Order).where(Order.id == oid).values(do_not_merge=flag))
    audit.record(session, actor, "order.do_not_merge", "order", row.number, before={"do_not_merge": row.do_not_merge},
                 after={"do_not_merge": flag})
    return flag


def leave_on_change(session: Session, order_id: int, actor: Actor, why: str) -> None:
    """Inside a caller's transaction: an order that was cancelled, sent back or re-addressed
    leaves its group (no permission check: the caller's own step is the decision)."""
    row = session.execute(select(Order.id, Order.number, Order.status, Order.merge_group_id)
                          .where(Order.id == order_id)).first()
    if row is None or row.merge_group_id is None:
        return
    group = session.execute(select(MergeGroup).where(MergeGroup.id == row.merge_group_id)).scalar_one()
    _leave(session, group, [row], actor, why)


# --- what the floor asks ---------------------------------------------------------------------


def shipment_of(session: Session, order_ids: Iterable[int]) -> list[int]:
    """``order_ids`` with every other order of their groups added (a group is one parcel)."""
    ids = list(dict.fromkeys(int(i) for i in order_ids))
    groups = {g for g in session.execute(select(Order.merge_group_id).where(
        Order.id.in_(ids), Order.merge_group_id.is_not(None))).scalars()}
    if not groups:
        return ids
    more = session.execute(select(Order.id).where(Order.merge_group_id.in_(groups)).order_by(Order.id)).scalars()
    return list(dict.fromkeys([*ids, *more]))


# the floor moves a merged shipment makes as one parcel
TOGETHER = frozenset({"picking", "shipped"})


def check_not_grouped(session: Session, order_id: int, number: str) -> None:
    """Refuse moving one order of a merged shipment on its own (an API call, a script): picking
    and shipping take the whole group."""
    found = group_of(session, order_id)
    if found is not None:
        raise Refused("merge.move_with_group", number=number, group=found[0])


def in_groups(session: Session, order_ids: list[int]) -> set[int]:
    """Those of ``order_ids`` that travel in a merged shipment."""
    out: set[int] = set()
    for start in range(0, len(order_ids), _CHUNK):
        out.update(session.execute(select(Order.id).where(Order.id.in_(order_ids[start:start + _CHUNK]),
                                                          Order.merge_group_id.is_not(None))).scalars())
    return out


def group_of(session: Session, order_id: int) -> tuple[str, list[Any]] | None:
    """The order's group number and its orders (id, number, status), None when not merged."""
    gid = session.execute(select(Order.merge_group_id).where(Order.id == order_id)).scalar()
    if gid is None:
        return None
    number = session.execute(select(MergeGroup.number).where(MergeGroup.id == gid)).scalar_one()
    return number, _members(session, gid)


@read_only
def merge_groups(session: Session, actor: Actor) -> pd.DataFrame:
    """Groups still shipping together (not undone, not all shipped), newest first."""
    require(actor, "order.view")
    rows = session.execute(
        select(MergeGroup.number, Order.number.label("order"), Order.status, Customer.name, MergeGroup.how,
               MergeGroup.created_at, MergeGroup.created_by)
        .join(Order, Order.merge_group_id == MergeGroup.id)
        .outerjoin(Customer, Customer.id == MergeGroup.customer_id)
        .where(MergeGroup.undone_at.is_(None), Order.status.in_(("confirmed", "picking", "packed")))
        .order_by(MergeGroup.id.desc(), Order.id)).all()
    by_group: dict[str, list[Any]] = defaultdict(list)
    for r in rows:
        by_group[r.number].append(r)
    return pd.DataFrame([(g, ", ".join(r.order for r in rs), ", ".join(sorted({r.status for r in rs})), rs[0].name,
                          rs[0].how, rs[0].created_at, rs[0].created_by) for g, rs in by_group.items()],
                        columns=GROUP_COLUMNS)


@read_only
def shipment_for(session: Session, number: str, actor: Actor) -> tuple[str, tuple[str, ...]] | None:
    """The merged shipment order ``number`` travels in: its number and every order in it."""
    require(actor, "order.view")
    oid = session.execute(select(Order.id).where(Order.number == str(number or "").strip().upper())).scalar()
    found = group_of(session, int(oid)) if oid is not None else None
    return None if found is None else (found[0], tuple(m.number for m in found[1]))
