"""The planning calendar: closures (the shop or one warehouse shut) and the shop's own
promotions, which the next forecast run takes into account (see ``forecasting.calendar``)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core import audit
from core.db import unit_of_work
from core.errors import FieldIssue, NotFound, ValidationError
from core.models import PlanningEvent, Warehouse
from core.permissions import Actor, require
from core.timeutil import utcnow

KINDS = ("closure", "promotion")
MAX_NAME = 100
MAX_DAYS = 366


@unit_of_work
def add_event(session: Session, kind: str, name: str, start: dt.date | None, end: dt.date | None, actor: Actor, *,
              warehouse: str | None = None, note: str | None = None) -> int:
    """Record a closure or promotion from ``start`` to ``end`` (inclusive); returns its id.

    ``warehouse`` (a code) limits a closure to one warehouse; promotions apply shop-wide.
    """
    require(actor, "forecast.run")
    issues: list[FieldIssue] = []
    name = (name or "").strip()
    if kind not in KINDS:
        issues.append(FieldIssue("kind", "issue.one_of", value=kind, params={"choices": ", ".join(KINDS)}))
    if not name:
        issues.append(FieldIssue("name", "issue.required"))
    elif len(name) > MAX_NAME:
        issues.append(FieldIssue("name", "issue.too_long", params={"n": MAX_NAME}))
    if not isinstance(start, dt.date) or not isinstance(end, dt.date):
        issues.append(FieldIssue("start_date", "issue.required"))
    elif end < start:
        issues.append(FieldIssue("end_date", "issue.end_before_start", value=end))
    elif (end - start).days >= MAX_DAYS:
        issues.append(FieldIssue("end_date", "issue.max_days", value=end, params={"n": MAX_DAYS}))
    warehouse_id = None
    if warehouse:
        if kind == "promotion":
            issues.append(FieldIssue("warehouse", "issue.promo_whole_shop", value=warehouse))
        warehouse_id = session.execute(select(Warehouse.id).where(Warehouse.code == warehouse)).scalar_one_or_none()
        if warehouse_id is None:
            issues.append(FieldIssue("warehouse", "issue.unknown_value", value=warehouse,
                                             params={"value": warehouse}))
    if issues:
        raise ValidationError(issues)
    event = PlanningEvent(kind=kind, name=name, start_date=start, end_date=end, warehouse_id=warehouse_id,
                          note=(note or "").strip() or None, created_at=utcnow(), created_by=actor.username)
    session.add(event)
    session.flush()
    audit.record(session, actor, f"calendar.add_{kind}", "planning_event", event.id, after={
        "name": name, "start": start, "end": end, "warehouse": warehouse})
    return event.id


@unit_of_work
def delete_event(session: Session, event_id: int, actor: Actor) -> None:
    require(actor, "forecast.run")
    event = session.execute(select(PlanningEvent).where(PlanningEvent.id == event_id)).scalar_one_or_none()
    if event is None:
        raise NotFound(f"no calendar entry {event_id}", event_id=event_id)
    before = {"kind": event.kind, "name": event.name, "start": event.start_date, "end": event.end_date}
    session.execute(delete(PlanningEvent).where(PlanningEvent.id == event_id))
    audit.record(session, actor, "calendar.delete", "planning_event", event_id, before=before)
