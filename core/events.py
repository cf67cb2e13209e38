"""Integration events for webhooks (issue #17): what happened, queued for every subscriber.

:func:`publish` runs inside the transaction of the change, like ``core.notify.queue``: it
writes one ``webhook`` row per active, matching subscription into the notifications outbox, so
an event is queued if and only if its change committed, and the worker delivers it later. All
copies of one event share one ``event_id`` (a replay reuses it too): delivery is at least once,
and receivers de-duplicate by that id.

A subscription with a sales channel receives only the events of that channel's orders — the
shipment write-back to the platform an order came from (物流回传).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import insert, or_, select
from sqlalchemy.orm import Session

from core.models import Notification, WebhookSubscription
from core.timeutil import utcnow

EVENTS = (
    "order.created", "order.confirmed", "order.shipped", "order.delivered", "order.cancelled",
    "stock.changed", "return.opened", "return.received", "return.refunded",
)
ALL = "*"

_INSERT = insert(Notification.__table__)
_SUBS = WebhookSubscription.__table__


def publish(session: Session, event: str, data: dict[str, Any], *, order_id: int | None = None,
            channel_id: int | None = None) -> str | None:
    """Queue ``event`` with ``data`` for each matching subscription; the event id, or ``None``
    when nobody subscribed (nothing is written then)."""
    if event not in EVENTS:
        raise ValueError(f"unknown event {event!r}")  # a programming error, never user input
    channel_match = _SUBS.c.channel_id.is_(None) if channel_id is None else or_(
        _SUBS.c.channel_id.is_(None), _SUBS.c.channel_id == channel_id)
    subscribers = session.execute(select(_SUBS.c.id, _SUBS.c.url, _SUBS.c.events).where(
        _SUBS.c.active.is_(True), channel_match).order_by(_SUBS.c.id)).all()
    targets = [(sub_id, url) for sub_id, url, events in subscribers if ALL in events or event in events]
    if not targets:
        return None
    event_id = str(uuid.uuid4())
    now = utcnow()
    session.connection().execute(_INSERT, [
        dict(created_at=now, channel="webhook", recipient=url, order_id=order_id, event=event, payload=data,
             status="pending", sent_at=None, subscription_id=sub_id, event_id=event_id)
        for sub_id, url in targets])
    return event_id
