"""Interceptions (拦截): stop an order on the floor until someone releases it.

An open hold stops every move to picking, packed or shipped (``core.domain.order_flow.HOLD_STOPS``)
— the pick list, the wave, the pack bench and shipping all refuse the order, naming it and the
reason. Holds are placed by hand (a refund requested on the platform before shipping, the
customer calling) or by the system: an address edited after the pick started holds the order,
since its parcel may already carry the old address. Releasing is a review step (``order.review``);
placing one is open to whoever may edit orders. Both are audited and on the order's timeline.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from core import audit
from core.db import read_only, unit_of_work
from core.domain import order_flow
from core.errors import (
    FieldIssue,
    Message,
    NotFound,
    Refused,
    ValidationError,
    stored,
)
from core.models import Order, OrderEvent, OrderHold
from core.permissions import Actor, require
from core.timeutil import utcnow

HOLD_REASONS = order_flow.HOLD_REASONS
MAX_NOTE = 500
HOLD_COLUMNS = ["id", "number", "status", "reason", "note", "created_at", "created_by"]


@dataclass(frozen=True)
class Hold:
    number: str
    reason: str
    note: str | None


def open_hold(session: Session, order_id: int) -> str | None:
    """The reason of the order's oldest open hold, if any."""
    return session.execute(select(OrderHold.reason).where(OrderHold.order_id == order_id,
                                                          OrderHold.released_at.is_(None))
                           .order_by(OrderHold.id).limit(1)).scalar_one_or_none()


def check_not_held(session: Session, order_id: int, number: str, to_status: str) -> None:
    """Refuse a floor move of an intercepted order (see the module docstring)."""
    if to_status in order_flow.HOLD_STOPS and (reason := open_hold(session, order_id)) is not None:
        raise Refused(f"hold.stopped.{reason}", number=number)


def place(session: Session, order_id: int, number: str, status: str, reason: str, note: str | None,
          actor: Actor) -> None:
    """Write a hold inside the caller's transaction (one open hold per reason is enough)."""
    if open_hold(session, order_id) == reason:
        return
    now = utcnow()
    session.execute(insert(OrderHold).values(order_id=order_id, reason=reason, note=note, created_at=now,
                                             created_by=actor.username))
    session.execute(insert(OrderEvent).values(order_id=order_id, at=now, actor=actor.username, from_status=status,
                                              to_status=status, **stored("note", Message(
                                                  "note.intercepted", {"reason": {"key": f"hold_reason.{reason}"}}))))
    audit.record(session, actor, "order.hold", "order", number, after={"reason": reason, "note": note})


def _order(session: Session, number: str) -> tuple[int, str, str]:
    row = session.execute(select(Order.id, Order.number, Order.status).where(
        Order.number == str(number or "").strip().upper())).first()
    if row is None:
        raise NotFound.coded("hold.no_order", number=number)
    return int(row.id), str(row.number), str(row.status)


@unit_of_work
def intercept(session: Session, number: str, reason: str, actor: Actor, *, note: str | None = None) -> Hold:
    """Stop an open order on the floor until released."""
    require(actor, "order.edit")
    order_id, number, status = _order(session, number)
    note = (note or "").strip() or None
    issues: list[FieldIssue] = []
    if reason not in HOLD_REASONS:
        issues.append(FieldIssue("reason", "issue.unknown_value", value=reason, params={"value": reason}))
    if note is not None and len(note) > MAX_NOTE:
        issues.append(FieldIssue("note", "issue.too_long", value=len(note), params={"n": MAX_NOTE}))
    if issues:
        raise ValidationError(issues)
    if status not in ("pending_review", "confirmed", "on_hold", "backordered", "picking", "packed"):
        raise Refused("hold.too_late", number=number, status=status)
    session.execute(select(Order.id).where(Order.id == order_id).with_for_update())  # one writer per order
    place(session, order_id, number, status, reason, note, actor)
    return Hold(number, reason, note)


@unit_of_work
def release(session: Session, number: str, actor: Actor) -> int:
    """Release every open hold of the order; the number released."""
    require(actor, "order.review")
    order_id, number, status = _order(session, number)
    session.execute(select(Order.id).where(Order.id == order_id).with_for_update())
    reasons = list(session.execute(select(OrderHold.reason).where(
        OrderHold.order_id == order_id, OrderHold.released_at.is_(None))).scalars())
    if not reasons:
        raise Refused("hold.none_open", number=number)
    now = utcnow()
    session.execute(update(OrderHold).where(OrderHold.order_id == order_id, OrderHold.released_at.is_(None))
                    .values(released_at=now, released_by=actor.username))
    session.execute(insert(OrderEvent).values(order_id=order_id, at=now, actor=actor.username, from_status=status,
                                              to_status=status, **stored("note", Message("note.hold_released"))))
    audit.record(session, actor, "order.release_hold", "order", number, before={"holds": reasons})
    return len(reasons)


@read_only
def open_holds(session: Session, actor: Actor, *, number: str | None = None) -> pd.DataFrame:
    """Open holds, oldest first (of one order when ``number`` is given)."""
    require(actor, "order.view")
    stmt = (select(OrderHold.id, Order.number, Order.status, OrderHold.reason, OrderHold.note, OrderHold.created_at,
                   OrderHold.created_by).join(Order, Order.id == OrderHold.order_id)
            .where(OrderHold.released_at.is_(None)))
    if number:
        stmt = stmt.where(Order.number == number.strip().upper())
    return pd.DataFrame(session.execute(stmt.order_by(OrderHold.id)).all(), columns=HOLD_COLUMNS)
