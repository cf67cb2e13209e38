"""Integration events for webhooks (issue #17): what happened, queued for every subscriber.

:func:`publish` runs inside the transaction of the change, like ``core.notify.queue``: it
writes one ``webhook`` row per active, matching subscription into the notifications outbox, so
an event is queued if and only if its change committed, and the worker delivers it later. All
copies of one event share one ``event_id`` (a replay reuses it too): delivery is at least once,
and receivers de-duplicate by that id.

A subscription with a sales channel receives only the events of that channel's orders — the
shipment write-back to the platform an order came from (物流回传).

Cost: the active subscriptions are part of the reference-data snapshot (``core.refdata``,
re-read only when its version changes, and every write to ``webhook_subscriptions`` bumps
it), so deciding that nobody listens costs no query when the caller passes the snapshot it
already holds (order creation does) and one indexed read of the version otherwise. Payloads
are built by the callers only when :func:`wanted` says someone listens.

Payloads (``data``) are JSON: amounts as decimal strings (:func:`amount`), times as ISO 8601
UTC with a ``Z`` (:func:`when`); docs/api.md lists them per event. The envelope around them
(event id, name, version, time) is added when a delivery is sent
(``core.services.webhook_delivery``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from core import refdata
from core.models import Notification
from core.refdata import RefData, SubscriptionRef
from core.timeutil import utcnow

EVENTS = (
    "order.created", "order.confirmed", "order.shipped", "order.delivered", "order.cancelled",
    "stock.changed", "return.opened", "return.received", "return.refunded",
)
ALL = "*"
VERSION = 1  # of the payloads: a change that could break a receiver gets a new version

_INSERT = insert(Notification.__table__)


def _targets(ref: RefData, event: str, channel_id: int | None) -> list[SubscriptionRef]:
    return [sub for sub in ref.subscriptions
            if (ALL in sub.events or event in sub.events)
            and (sub.channel_id is None or sub.channel_id == channel_id)]


def wanted(session: Session, event: str, *, channel_id: int | None = None, ref: RefData | None = None) -> bool:
    """Whether any active subscription would receive ``event`` (build its payload only then)."""
    return bool(_targets(ref or refdata.snapshot(session), event, channel_id))


def publish(session: Session, event: str, data: dict[str, Any], *, order_id: int | None = None,
            channel_id: int | None = None, ref: RefData | None = None) -> str | None:
    """Queue ``event`` with ``data`` for each matching subscription; the event id, or ``None``
    when nobody subscribed (nothing is written then). ``ref``: the caller's reference-data
    snapshot of this transaction, if it holds one (saves reading the version again)."""
    if event not in EVENTS:
        raise ValueError(f"unknown event {event!r}")  # a programming error, never user input
    targets = [(sub.id, sub.url) for sub in _targets(ref or refdata.snapshot(session), event, channel_id)]
    if not targets:
        return None
    event_id = str(uuid.uuid4())
    now = utcnow()
    session.connection().execute(_INSERT, [
        dict(created_at=now, channel="webhook", recipient=url, order_id=order_id, event=event, payload=data,
             status="pending", sent_at=None, subscription_id=sub_id, event_id=event_id)
        for sub_id, url in targets])
    return event_id


def when(moment: dt.datetime | None) -> str | None:
    """A UTC time (naive, as stored) as ISO 8601 with ``Z``, to the second."""
    return None if moment is None else moment.replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def amount(value: Decimal | int | str | None) -> str | None:
    """An amount as a decimal string with two places (never a float)."""
    return None if value is None else f"{Decimal(value):.2f}"
