"""Reading the notifications outbox (``core.notify`` writes it): what was queued for whom.

The worker sends the e-mails and texts (``core.services.outbox_delivery``) and the webhooks
(``core.services.webhook_delivery``; their own log is the Webhooks page); SMS rows without an
adapter wait, with a status reason saying so. The admin page lists the outbox with filters so a
shop can answer "did the customer get told their parcel shipped?" (and if not, why), and the
summary shows what is still pending per event.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import pii
from core.db import read_only
from core.models import Notification, Order
from core.permissions import Actor, require

CHANNELS = ("sms", "email", "webhook")
STATUSES = ("pending", "sent", "failed")
COLUMNS = ["id", "outbox_queued_at", "outbox_channel", "outbox_recipient", "number", "outbox_event", "outbox_status",
           "outbox_sent_at", "outbox_attempts", "outbox_reason", "outbox_last_error", "outbox_payload"]
SUMMARY_COLUMNS = ["outbox_event", "outbox_channel", "outbox_status", "outbox_messages"]


# how a recipient is masked per channel (a webhook's URL is not personal data)
RECIPIENT_MASKERS = {"sms": pii.mask_phone, "email": pii.mask_email}


@read_only
def list_notifications(
    session: Session,
    actor: Actor,
    *,
    statuses: list[str] | None = None,
    channels: list[str] | None = None,
    event_prefix: str = "",
    order_number: str = "",
    date_from: dt.datetime | None = None,
    date_to: dt.datetime | None = None,
    limit: int = 500,
) -> pd.DataFrame:
    """Outbox rows, newest first, filtered; the payload as compact JSON text.

    Recipients are phone numbers and e-mail addresses: masked for roles without
    ``customer.pii``.
    """
    require(actor, "notification.view")
    stmt = (
        select(Notification.id, Notification.created_at, Notification.channel, Notification.recipient,
               Order.number, Notification.event, Notification.status, Notification.sent_at, Notification.attempts,
               Notification.status_reason, Notification.last_error, Notification.payload)
        .outerjoin(Order, Order.id == Notification.order_id)
    )
    if statuses:
        stmt = stmt.where(Notification.status.in_(statuses))
    if channels:
        stmt = stmt.where(Notification.channel.in_(channels))
    event_prefix, order_number = (text.replace("\x00", "").strip() for text in (event_prefix, order_number))
    if event_prefix:
        stmt = stmt.where(Notification.event.startswith(event_prefix, autoescape=True))
    if order_number:
        stmt = stmt.where(Order.number == order_number.upper())
    if date_from is not None:
        stmt = stmt.where(Notification.created_at >= date_from)
    if date_to is not None:
        stmt = stmt.where(Notification.created_at < date_to)
    rows = session.execute(stmt.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)).all()
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["outbox_payload"] = [json.dumps(p, ensure_ascii=False, sort_keys=True) for p in frame["outbox_payload"]]
    if pii.needs_masking(actor):
        frame["outbox_recipient"] = [
            RECIPIENT_MASKERS[c](r) if c in RECIPIENT_MASKERS else r
            for c, r in zip(frame["outbox_channel"], frame["outbox_recipient"], strict=True)]
    return frame


@read_only
def outbox_summary(session: Session, actor: Actor, *, since: dt.datetime | None = None) -> pd.DataFrame:
    """Messages per (event, channel, status), most frequent first."""
    require(actor, "notification.view")
    count = func.count(Notification.id)
    stmt = select(Notification.event, Notification.channel, Notification.status, count)
    if since is not None:
        stmt = stmt.where(Notification.created_at >= since)
    rows = session.execute(stmt.group_by(Notification.event, Notification.channel, Notification.status)
                           .order_by(count.desc(), Notification.event)).all()
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
