"""Operational alerts: late orders, parcels not delivered, stock under safety level, orders that
could not get stock — raised by a scan, acknowledged by people, resolved when the cause clears.

Why a scan rather than triggers in every service: most of these conditions are about time
passing (an order that *has not* shipped in 24 h), which no write can notice. ``oms alerts scan``
(cron) or the Alerts page's button runs :func:`scan_alerts`; one indexed query per kind finds
what is wrong now. An alert is raised once per (kind, entity) while its condition lasts —
acknowledging it says "someone is on it" and keeps it from being raised again; when the
condition clears the scan stamps ``resolved_at``, and a later recurrence is a new alert.

Thresholds come from settings: ``fulfilment_sla`` {"hours": 24} (confirmed → shipped),
``delivery_overdue`` {"days": 7} (shipped → delivered) and ``due_soon`` {"hours": 6} (warning
before ``orders.due_by``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from core import audit, refdata
from core.db import read_only, rowcount, unit_of_work
from core.errors import FieldIssue, Message, ValidationError, stored
from core.models import Alert, Order, Product, StockLevel, Warehouse
from core.permissions import Actor, require
from core.timeutil import utcnow

SCANNED_KINDS = ("sla_breach", "due_soon", "delivery_overdue", "below_safety", "backorder")
UNSHIPPED = ("pending_review", "confirmed", "picking", "packed", "on_hold", "backordered")
IN_WAREHOUSE = ("confirmed", "picking", "packed")


@dataclass(frozen=True)
class ScanSummary:
    raised: dict[str, int]
    resolved: int


@dataclass(frozen=True)
class _Finding:
    kind: str
    entity: str
    entity_id: str
    message: Message
    severity: str


def _order_findings(session: Session, now: dt.datetime) -> list[_Finding]:
    ref = refdata.snapshot(session)
    sla_hours = int(ref.setting("fulfilment_sla", "hours", 24))
    overdue_days = int(ref.setting("delivery_overdue", "days", 7))
    soon_hours = int(ref.setting("due_soon", "hours", 6))
    found: list[_Finding] = []
    for number, approved in session.execute(
        select(Order.number, Order.approved_at).where(
            Order.status.in_(IN_WAREHOUSE), Order.approved_at < now - dt.timedelta(hours=sla_hours))
    ):
        assert approved is not None  # NULL never passes the WHERE's comparison
        hours = int((now - approved).total_seconds() // 3600)
        found.append(_Finding("sla_breach", "order", number, Message("alert_msg.sla_breach", {
            "number": number, "hours": hours, "sla": sla_hours}), "warning"))
    for number, due, status in session.execute(
        select(Order.number, Order.due_by, Order.status).where(
            Order.status.in_(UNSHIPPED), Order.due_by < now + dt.timedelta(hours=soon_hours))
    ):
        assert due is not None  # as above
        late = due < now
        label = {"key": f"status.{status}"}
        text = (Message("alert_msg.overdue", {"number": number, "hours": int((now - due).total_seconds() // 3600),
                                              "status": label}) if late
                else Message("alert_msg.due_soon", {"number": number, "hours": soon_hours, "status": label}))
        found.append(_Finding("due_soon", "order", number, text, "critical" if late else "warning"))
    for number, shipped, carrier, tracking in session.execute(
        select(Order.number, Order.shipped_at, Order.carrier, Order.tracking_no).where(
            Order.status == "shipped", Order.shipped_at < now - dt.timedelta(days=overdue_days))
    ):
        assert shipped is not None  # as above
        days = (now - shipped).days
        found.append(_Finding("delivery_overdue", "order", number, Message("alert_msg.delivery_overdue", {
            "number": number, "days": days, "carrier": (carrier or "?") + " " + (tracking or ""),
            "limit": overdue_days}), "warning"))
    for (number,) in session.execute(select(Order.number).where(Order.status == "backordered")):
        found.append(_Finding("backorder", "order", number, Message("alert_msg.backorder", {"number": number}),
                              "warning"))
    return found


def _stock_findings(session: Session) -> list[_Finding]:
    available = StockLevel.on_hand - StockLevel.reserved
    return [
        _Finding("below_safety", "stock", f"{sku}@{code}", Message("alert_msg.below_safety", {
            "sku": sku, "warehouse": code, "available": int(avail), "safety": int(safety)}), "warning")
        for sku, code, avail, safety in session.execute(
            select(Product.sku, Warehouse.code, available, StockLevel.safety_stock)
            .join(Product, Product.id == StockLevel.product_id)
            .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
            .where(Warehouse.active.is_(True), Product.active.is_(True), StockLevel.safety_stock > 0,
                   available < StockLevel.safety_stock))
    ]


@unit_of_work
def scan_alerts(session: Session, actor: Actor, now: dt.datetime | None = None) -> ScanSummary:
    """Raise an alert for every condition newly found, resolve those whose condition cleared."""
    require(actor, "alert.view")
    now = now or utcnow()
    findings = _order_findings(session, now) + _stock_findings(session)
    current = {(f.kind, f.entity_id): f for f in findings}
    unresolved = {(kind, eid): aid for aid, kind, eid in session.execute(
        select(Alert.id, Alert.kind, Alert.entity_id).where(Alert.kind.in_(SCANNED_KINDS),
                                                            Alert.resolved_at.is_(None)))}
    new = [f for key, f in current.items() if key not in unresolved]
    if new:
        session.execute(insert(Alert), [
            dict(kind=f.kind, severity=f.severity, entity=f.entity, entity_id=f.entity_id,
                 **stored("message", f.message), created_at=now, acknowledged_by=None, acknowledged_at=None, resolved_at=None) for f in new])
    cleared = [aid for key, aid in unresolved.items() if key not in current]
    if cleared:
        session.execute(update(Alert).where(Alert.id.in_(cleared)).values(resolved_at=now))
    raised = {kind: sum(1 for f in new if f.kind == kind) for kind in SCANNED_KINDS}
    audit.record(session, actor, "alert.scan", "alert", None, after={"raised": raised, "resolved": len(cleared)})
    return ScanSummary(raised, len(cleared))


ALERT_COLUMNS = ["id", "created_at", "kind", "severity", "entity", "entity_id", "message", "message_codes",
                 "acknowledged_by", "acknowledged_at", "resolved_at"]


@read_only
def list_alerts(session: Session, actor: Actor, *, kinds: list[str] | None = None,
                include_acknowledged: bool = False, include_resolved: bool = False,
                limit: int = 1000) -> pd.DataFrame:
    """Alerts newest first; by default only those needing attention (open, not acknowledged)."""
    require(actor, "alert.view")
    stmt = select(*(getattr(Alert, c) for c in ALERT_COLUMNS)).order_by(Alert.created_at.desc(), Alert.id.desc())
    if kinds:
        stmt = stmt.where(Alert.kind.in_(kinds))
    if not include_acknowledged:
        stmt = stmt.where(Alert.acknowledged_at.is_(None))
    if not include_resolved:
        stmt = stmt.where(Alert.resolved_at.is_(None))
    return pd.DataFrame(session.execute(stmt.limit(limit)).all(), columns=ALERT_COLUMNS)


@read_only
def open_alert_counts(session: Session, actor: Actor) -> dict[str, int]:
    """Open, unacknowledged alerts per kind (for the panel's headline)."""
    require(actor, "alert.view")
    return dict(session.execute(
        select(Alert.kind, func.count()).where(Alert.acknowledged_at.is_(None), Alert.resolved_at.is_(None))
        .group_by(Alert.kind)).all())


@unit_of_work
def acknowledge(session: Session, alert_ids: list[int], actor: Actor) -> int:
    """Mark alerts as seen by ``actor``; already acknowledged ones are left as they were."""
    require(actor, "alert.ack")
    ids = sorted({int(i) for i in alert_ids})
    if not ids:
        raise ValidationError([FieldIssue("alerts", "inv_issue.pick_alerts")])
    known = set(session.execute(select(Alert.id).where(Alert.id.in_(ids))).scalars())
    missing = [i for i in ids if i not in known]
    if missing:
        raise ValidationError([FieldIssue("alerts", "issue.no_alert", value=i, params={"id": i}) for i in missing])
    done = rowcount(session.execute(update(Alert).where(Alert.id.in_(ids), Alert.acknowledged_at.is_(None))
                                    .values(acknowledged_by=actor.username, acknowledged_at=utcnow())))
    audit.record(session, actor, "alert.ack", "alert", None, after={"ids": ids, "acknowledged": done})
    return int(done)
