"""Webhook subscriptions, their delivery log and replays (issue #17; docs/api.md "Webhooks").

A subscription names a URL (http or https only), the events it wants (``core.events.EVENTS``,
or ``*``) and optionally a sales channel (then only that channel's orders and returns — the
shipment write-back). Its signing secret is generated here and returned once; it is stored as
it is, because signing needs it (an HMAC key cannot be kept as a hash), and shown to nobody
afterwards. Subscribing to an event needs the right to read what it carries (``order.view``
for ``order.*``, ``rma.view`` for ``return.*``, ``stock.view`` for ``stock.changed``): a
token's scopes limit its webhooks as they limit its requests.

A subscription made through the API belongs to its token (``token_id``): that token lists,
deletes and replays only its own. Pages act on all of them.

Replay queues a new delivery of an event with the **same event id** for each subscription
that had it (or the one named), whatever became of the earlier ones — a receiver
de-duplicates by the id.
"""

from __future__ import annotations

import datetime as dt
import secrets
import urllib.parse
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from core import audit, events
from core.db import read_only, unit_of_work
from core.errors import Conflict, FieldIssue, NotFound, ValidationError
from core.models import Channel, Notification, Order, WebhookSubscription
from core.permissions import Actor, require
from core.timeutil import utcnow

SECRET_PREFIX = "whsec_"
MAX_NAME = 64
MAX_URL = 500
SCHEMES = ("http", "https")
# what an event carries → the action needed to read it
READ_ACTION = {"order": "order.view", "return": "rma.view", "stock": "stock.view"}
STATUSES = ("pending", "sent", "failed")
EVENTS = (events.ALL, *events.EVENTS)  # what a subscription may name
LOG_COLUMNS = ["id", "webhook_queued_at", "webhook_subscription", "webhook_url", "webhook_event", "webhook_event_id",
               "number", "webhook_status", "webhook_attempts", "webhook_next_attempt_at", "webhook_sent_at",
               "webhook_response_code", "webhook_reason", "webhook_last_response"]
UNSUBSCRIBED = "webhooks.reason.unsubscribed"
REPLAYED = "webhooks.reason.replayed"
MAX_LOG = 10_000


@dataclass(frozen=True)
class SubscriptionInfo:
    id: int
    name: str
    url: str
    events: tuple[str, ...]
    channel: str | None
    active: bool
    created_at: dt.datetime
    created_by: str
    token_id: int | None


@dataclass(frozen=True)
class NewSubscription:
    info: SubscriptionInfo
    secret: str  # shown once


@dataclass(frozen=True)
class Replay:
    event_id: str
    event: str
    queued: tuple[int, ...]  # the new outbox rows (one per subscription)


_INFO = (select(WebhookSubscription, Channel.code).outerjoin(Channel, Channel.id == WebhookSubscription.channel_id))


def _info(row: WebhookSubscription, channel: str | None) -> SubscriptionInfo:
    return SubscriptionInfo(row.id, row.name, row.url, tuple(row.events), channel, row.active, row.created_at,
                            row.created_by, row.token_id)


def url_issue(url: str) -> FieldIssue | None:
    """Why ``url`` cannot receive webhooks, or None: http(s) with a host, at most MAX_URL."""
    if not url:
        return FieldIssue("url", "issue.required")
    if len(url) > MAX_URL:
        return FieldIssue("url", "issue.at_most", value=url[:80], params={"n": MAX_URL})
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return FieldIssue("url", "webhooks.bad_url", value=url)
    if parts.scheme.lower() not in SCHEMES:
        return FieldIssue("url", "webhooks.bad_scheme", value=url, params={"scheme": parts.scheme or "—"})
    if not parts.hostname or any(c.isspace() for c in url):
        return FieldIssue("url", "webhooks.bad_url", value=url)
    return None


def _event_issues(names: list[str], actor: Actor) -> list[FieldIssue]:
    if not names:
        return [FieldIssue("events", "issue.required")]
    issues = []
    for i, name in enumerate(names):
        if name != events.ALL and name not in events.EVENTS:
            issues.append(FieldIssue("events", "webhooks.unknown_event", row=i + 1, value=name,
                                     params={"event": name, "events": ", ".join(events.EVENTS)}))
            continue
        needs = sorted({READ_ACTION[e.split(".")[0]] for e in (events.EVENTS if name == events.ALL else (name,))})
        missing = [a for a in needs if not actor.can(a)]
        if missing:
            issues.append(FieldIssue("events", "webhooks.event_not_allowed", row=i + 1, value=name,
                                     params={"event": name, "action": ", ".join(missing)}))
    return issues


@unit_of_work
def create_subscription(session: Session, url: str, event_names: list[str], actor: Actor, *, name: str = "",
                        channel: str | None = None, token_id: int | None = None) -> NewSubscription:
    """Subscribe ``url`` to ``event_names`` (optionally one channel's only); the secret is in
    the result and nowhere else it will be shown."""
    require(actor, "webhook.manage")
    url, name, channel = (url or "").strip(), (name or "").strip(), (channel or "").strip().upper() or None
    event_names = list(dict.fromkeys(e.strip() for e in event_names if e and e.strip()))
    issues = [i for i in (url_issue(url),) if i] + _event_issues(event_names, actor)
    if len(name) > MAX_NAME:
        issues.append(FieldIssue("name", "issue.at_most", value=name, params={"n": MAX_NAME}))
    channel_id = None
    if channel:
        channel_id = session.execute(select(Channel.id).where(Channel.code == channel)).scalar_one_or_none()
        if channel_id is None:
            issues.append(FieldIssue("channel", "webhooks.unknown_channel", value=channel, params={"channel": channel}))
    if issues:
        raise ValidationError(issues)
    name = name or f"webhook-{secrets.token_hex(4)}"
    if session.execute(select(WebhookSubscription.id).where(WebhookSubscription.name == name)).first():
        raise Conflict.coded("webhooks.name_taken", name=name)
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    row = WebhookSubscription(name=name, url=url, secret=secret, events=event_names, channel_id=channel_id,
                              token_id=token_id, active=True, created_at=utcnow(), created_by=actor.username)
    session.add(row)
    session.flush()  # the flush bumps the reference-data version: the next event sees it (core.refdata)
    audit.record(session, actor, "webhook.subscribe", "webhook", name,
                 after={"url": url, "events": event_names, "channel": channel})
    return NewSubscription(_info(row, channel), secret)


def _owned(session: Session, subscription_id: int, token_id: int | None) -> tuple[WebhookSubscription, str | None]:
    """The subscription, if the caller may act on it (a token: only its own)."""
    found = session.execute(_INFO.where(WebhookSubscription.id == subscription_id)).first()
    if found is None or (token_id is not None and found[0].token_id != token_id):
        raise NotFound.coded("webhooks.no_subscription", id=subscription_id)
    return found[0], found[1]


@unit_of_work
def deactivate_subscription(session: Session, subscription_id: int, actor: Actor, *,
                            token_id: int | None = None) -> SubscriptionInfo:
    """Unsubscribe: no new events; deliveries still waiting are given up (``failed``, reason
    ``webhook.reason.unsubscribed``) rather than sent to a URL that asked to stop."""
    require(actor, "webhook.manage")
    row, channel = _owned(session, subscription_id, token_id)
    if row.active:
        row.active = False
        session.flush()
        session.execute(update(Notification).where(
            Notification.subscription_id == row.id, Notification.status == "pending").values(
            status="failed", next_attempt_at=None, status_reason=UNSUBSCRIBED))
        audit.record(session, actor, "webhook.unsubscribe", "webhook", row.name)
    return _info(row, channel)


@read_only
def list_subscriptions(session: Session, actor: Actor, *, token_id: int | None = None) -> list[SubscriptionInfo]:
    """Every subscription (a token: its own), active first, then by name."""
    require(actor, "webhook.view")
    stmt = _INFO.order_by(WebhookSubscription.active.desc(), WebhookSubscription.name)
    if token_id is not None:
        stmt = stmt.where(WebhookSubscription.token_id == token_id)
    return [_info(row, channel) for row, channel in session.execute(stmt).all()]


@read_only
def list_deliveries(session: Session, actor: Actor, *, subscription_id: int | None = None,
                    statuses: list[str] | None = None, event_prefix: str = "", event_id: str = "",
                    order_number: str = "", token_id: int | None = None, limit: int = 500) -> pd.DataFrame:
    """The delivery log, newest first: status, tries, the receiver's last status code and the
    start of its answer (``webhook_last_response``)."""
    require(actor, "webhook.view")
    n = Notification
    stmt = (select(n.id, n.created_at, WebhookSubscription.name, WebhookSubscription.url, n.event, n.event_id,
                   Order.number, n.status, n.attempts, n.next_attempt_at, n.sent_at, n.response_code, n.status_reason,
                   n.last_error)
            .join(WebhookSubscription, WebhookSubscription.id == n.subscription_id)
            .outerjoin(Order, Order.id == n.order_id)
            .where(n.channel == "webhook"))
    if token_id is not None:
        stmt = stmt.where(WebhookSubscription.token_id == token_id)
    if subscription_id is not None:
        _owned(session, subscription_id, token_id)  # another token's (or none): not found
        stmt = stmt.where(n.subscription_id == subscription_id)
    if statuses:
        stmt = stmt.where(n.status.in_(statuses))
    event_prefix, event_id, order_number = (text.replace("\x00", "").strip()
                                            for text in (event_prefix, event_id, order_number))
    if event_prefix:
        stmt = stmt.where(n.event.startswith(event_prefix, autoescape=True))
    if event_id:
        stmt = stmt.where(n.event_id == event_id)
    if order_number:
        stmt = stmt.where(Order.number == order_number.upper())
    rows = session.execute(stmt.order_by(n.id.desc()).limit(max(1, min(limit, MAX_LOG)))).all()
    return pd.DataFrame(rows, columns=LOG_COLUMNS)


@unit_of_work
def replay(session: Session, event_id: str, actor: Actor, *, subscription_id: int | None = None,
           token_id: int | None = None) -> Replay:
    """Queue ``event_id`` again (same id, same payload) for each active subscription that had it
    — or only ``subscription_id`` — unless a delivery of it is still waiting there."""
    require(actor, "webhook.manage")
    event_id = (event_id or "").strip()
    n = Notification
    stmt = (select(n.id, n.subscription_id, n.order_id, n.event, n.payload, n.created_at, n.status,
                   WebhookSubscription.url, WebhookSubscription.active)
            .join(WebhookSubscription, WebhookSubscription.id == n.subscription_id)
            .where(n.channel == "webhook", n.event_id == event_id).order_by(n.id))
    if token_id is not None:
        stmt = stmt.where(WebhookSubscription.token_id == token_id)
    if subscription_id is not None:
        stmt = stmt.where(n.subscription_id == subscription_id)
    copies = session.execute(stmt).all()
    if not event_id or not copies:
        raise NotFound.coded("webhooks.no_event", event_id=event_id[:64])
    waiting = {c.subscription_id for c in copies if c.status == "pending"}
    latest = {c.subscription_id: c for c in copies}  # the newest copy per subscription
    targets = [c for sub, c in latest.items() if c.active and sub not in waiting]
    if not targets:
        raise Conflict.coded("webhooks.nothing_to_replay", event_id=event_id)
    queued = session.execute(insert(n).returning(n.id), [
        dict(created_at=c.created_at, channel="webhook", recipient=c.url, order_id=c.order_id, event=c.event,
             payload=c.payload, status="pending", sent_at=None, attempts=0, status_reason=REPLAYED,
             subscription_id=c.subscription_id, event_id=event_id) for c in targets]).scalars().all()
    audit.record(session, actor, "webhook.replay", "webhook", event_id,
                 after={"subscriptions": [c.subscription_id for c in targets]})
    return Replay(event_id, copies[0].event, tuple(queued))
