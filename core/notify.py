"""Notifications outbox: every customer-visible change queues a message row.

Nothing is sent from here: the worker sends the e-mail and SMS rows after the commit
(``core.services.outbox_delivery``; docs/notifications.md).
Writing the row in the same transaction as the change means a message is queued if and only if
the change committed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from core.models import Notification
from core.timeutil import utcnow

_INSERT = insert(Notification.__table__)


def queue(
    session: Session,
    *,
    event: str,
    order_id: int | None,
    phone: str | None,
    email: str | None = None,
    payload: dict[str, Any],
) -> None:
    """Queue an SMS to ``phone`` (and an e-mail when known); no recipient → nothing queued."""
    queued = rows(event=event, order_id=order_id, phone=phone, email=email, payload=payload)
    if queued:
        session.connection().execute(_INSERT, queued)


def rows(*, event: str, order_id: int | None, phone: str | None, email: str | None,
         payload: dict[str, Any], now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The outbox rows :func:`queue` writes (a bulk writer inserts many orders' at once, all
    created ``now``)."""
    now = now or utcnow()
    return [dict(created_at=now, channel=channel, recipient=recipient, order_id=order_id, event=event,
                 payload=payload, status="pending", sent_at=None)
            for channel, recipient in (("sms", phone), ("email", email)) if recipient]
