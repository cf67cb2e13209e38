"""Delivering the webhook rows of the outbox (``core.events`` queues them; the worker calls
:func:`deliver_due` every minute, beside the e-mails of ``core.services.outbox_delivery``).

Each row is POSTed as JSON to its subscription's URL, signed (:func:`sign`, docs/api.md
"Verifying a webhook"), with a per-request timeout of :data:`TIMEOUT` seconds:

- 2xx → ``sent``;
- 408, 425, 429, any 5xx, a timeout, a refused or dropped connection → tried again after a
  backoff (1, 2, 4 … minutes, at most :data:`RETRY`'s cap), and after :data:`MAX_ATTEMPTS`
  tries ``failed`` with the reason ``webhook.reason.dead`` — the dead letters, replayable;
- any other answer (3xx — redirects are not followed —, 4xx) → ``failed`` at once
  (``webhook.reason.refused``): the receiver said the request itself is wrong, and sending the
  same bytes again cannot help; fix the receiver, then replay.

The bookkeeping is the outbox's: rows are claimed with a lease on ``next_attempt_at`` in one
short transaction; a failure is written at once (``outbox_delivery.record_failure``), deliveries
in batches of :data:`SENT_BATCH` (``record_sent``). Delivery is at least once, with a stable
event id: a worker killed after a receiver's 2xx and before that commit sends the event again.

Order: per subscription, events go out one at a time in the order they were queued. A
subscription's rows are claimed as the run of due rows from its oldest pending one, so while
that one waits for its retry nothing later of the same subscription is sent: a receiver sees
an event only after every earlier one was delivered or dead-lettered (a replay is a new,
later row). Different subscriptions are served in parallel (:data:`THREADS`) and do not wait
for each other.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import hashlib
import hmac
import http.client
import json
import logging
import ssl
import time
import urllib.parse
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from core import events
from core.backoff import Backoff
from core.db import unit_of_work
from core.models import Notification, WebhookSubscription
from core.services.outbox_delivery import LEASE, MAX_ERROR, RetryPolicy, record_failure, record_sent
from core.timeutil import utcnow

log = logging.getLogger("oms.webhooks")

TIMEOUT = 10.0  # seconds per request (connect, send, answer)
MAX_ATTEMPTS = 10
RETRY = Backoff(free=0, base=dt.timedelta(minutes=1), cap=dt.timedelta(hours=2), window=dt.timedelta(days=2))
POLICY = RetryPolicy(MAX_ATTEMPTS, RETRY, "webhooks.reason.retrying", "webhooks.reason.refused",
                     "webhooks.reason.dead")
RETRY_STATUSES = frozenset({408, 425, 429})  # 4xx answers that mean "later"
BATCH = 500  # rows per pass
PER_SUBSCRIPTION = 200  # rows of one subscription per pass
THREADS = 4  # subscriptions served at once
SENT_BATCH = 50  # delivered rows recorded per transaction
READ_LIMIT = 64 * 1024  # bytes of an answer read (the log keeps MAX_ERROR of them)
USER_AGENT = "OMS-Webhooks/1"

_TABLE = Notification.__table__
_SUBS = WebhookSubscription.__table__
_PENDING = (_TABLE.c.channel == "webhook", _TABLE.c.status == "pending")


@dataclass(frozen=True)
class WebhookResult:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


@dataclass(frozen=True)
class Delivery:
    id: int
    subscription_id: int
    url: str
    secret: str
    event_id: str
    event: str
    occurred_at: dt.datetime
    payload: dict[str, Any]
    attempts: int


@dataclass(frozen=True)
class Answer:
    """The receiver's answer: its HTTP status (None: no answer at all) and what it said."""

    status: int | None
    text: str

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def retryable(self) -> bool:
        return self.status is None or self.status >= 500 or self.status in RETRY_STATUSES


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``X-OMS-Signature``: ``v1=`` + hex HMAC-SHA256 of ``timestamp + "." + body`` keyed
    with the subscription's secret."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def body(row: Delivery) -> bytes:
    """The JSON envelope: the event's id, name, payload version and time, and its data."""
    return json.dumps({"id": row.event_id, "event": row.event, "version": events.VERSION,
                       "occurred_at": events.when(row.occurred_at), "data": row.payload},
                      ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def headers(row: Delivery, payload: bytes, now: dt.datetime) -> dict[str, str]:
    timestamp = str(int(now.replace(tzinfo=dt.UTC).timestamp()))
    return {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT,
            "X-OMS-Event-Id": row.event_id, "X-OMS-Event": row.event, "X-OMS-Timestamp": timestamp,
            "X-OMS-Delivery-Attempt": str(row.attempts), "X-OMS-Signature": sign(row.secret, timestamp, payload)}


class _Sender:
    """One subscription's connection, kept open across its rows of a pass (keep-alive)."""

    def __init__(self, url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.conn: http.client.HTTPConnection
        if parts.scheme == "https":
            self.conn = http.client.HTTPSConnection(parts.hostname or "", parts.port, timeout=TIMEOUT,
                                                    context=ssl.create_default_context())
        else:
            self.conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=TIMEOUT)

    def post(self, payload: bytes, head: dict[str, str]) -> Answer:
        try:
            self.conn.request("POST", self.path, body=payload, headers=head)
            response = self.conn.getresponse()
            text = response.read(READ_LIMIT)
            if not response.isclosed():  # more than we read: do not reuse the connection
                self.conn.close()
            return Answer(response.status, text.decode("utf-8", "replace"))
        except (OSError, http.client.HTTPException) as exc:
            self.conn.close()
            return Answer(None, f"{type(exc).__name__}: {exc}")

    def close(self) -> None:
        self.conn.close()


def deliver_due() -> WebhookResult:
    """One delivery pass (see the module docstring)."""
    claimed = _claim()
    if not claimed:
        return WebhookResult()
    deadline = time.monotonic() + LEASE.total_seconds() * 0.8 - TIMEOUT  # leave the rest before the lease ends
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(THREADS, len(claimed))) as pool:
        results = list(pool.map(lambda rows: _deliver(rows, deadline), claimed.values()))
    total = WebhookResult(*(sum(r[i] for r in results) for i in range(3)))
    log.info("webhooks: %d delivered, %d to retry, %d failed", total.sent, total.retrying, total.failed)
    return total


class _Delivered:
    """Delivered rows, recorded ``sent`` a batch at a time (one commit per :data:`SENT_BATCH`
    rather than per row; a worker killed before the commit sends those again — at least once)."""

    def __init__(self) -> None:
        self.by_status: dict[int, list[int]] = defaultdict(list)
        self.count = 0

    def add(self, row_id: int, status: int) -> None:
        self.by_status[status].append(row_id)
        self.count += 1
        if sum(map(len, self.by_status.values())) >= SENT_BATCH:
            self.flush()

    def flush(self) -> None:
        for status, ids in self.by_status.items():
            record_sent(ids, response_code=status)
        self.by_status.clear()


def _deliver(rows: Sequence[Delivery], deadline: float) -> tuple[int, int, int]:
    """Send one subscription's claimed rows in order; stop at the first that must wait."""
    retrying = failed = 0
    delivered = _Delivered()
    sender = _Sender(rows[0].url)
    try:
        for i, row in enumerate(rows):
            if time.monotonic() > deadline:
                _give_back([r.id for r in rows[i:]])
                break
            payload = body(row)
            answer = sender.post(payload, headers(row, payload, utcnow()))
            if answer.delivered and answer.status is not None:
                delivered.add(row.id, answer.status)
                continue
            reply = f"{answer.status} {answer.text}" if answer.status is not None else answer.text
            if record_failure(row.id, row.attempts, reply[:MAX_ERROR], not answer.retryable, POLICY,
                              response_code=answer.status):
                failed += 1
                continue
            retrying += 1
            _give_back([r.id for r in rows[i + 1:]])  # later events wait for this one
            break
    finally:
        sender.close()
        delivered.flush()
    return delivered.count, retrying, failed


@unit_of_work
def _claim(session: Session) -> dict[int, list[Delivery]]:
    """Lease, per subscription, the run of due rows from its oldest pending one."""
    now = utcnow()
    due = or_(_TABLE.c.next_attempt_at.is_(None), _TABLE.c.next_attempt_at <= now)
    heads = select(func.min(_TABLE.c.id)).where(*_PENDING).group_by(_TABLE.c.subscription_id)
    ready = list(session.execute(select(_TABLE.c.subscription_id).where(_TABLE.c.id.in_(heads), due)
                                 .order_by(_TABLE.c.id)).scalars())
    ids: list[int] = []
    for subscription_id in ready:
        if len(ids) >= BATCH:
            break
        run = session.execute(select(_TABLE.c.id, due.label("due")).where(
            *_PENDING, _TABLE.c.subscription_id == subscription_id).order_by(_TABLE.c.id)
            .limit(min(PER_SUBSCRIPTION, BATCH - len(ids)))).all()
        for row_id, is_due in run:
            if not is_due:
                break
            ids.append(row_id)
    if not ids:
        return {}
    claimed = session.execute(update(_TABLE).where(_TABLE.c.id.in_(ids), *_PENDING, due).values(
        next_attempt_at=now + LEASE, attempts=_TABLE.c.attempts + 1).returning(_TABLE.c.id)).scalars().all()
    rows = session.execute(
        select(_TABLE.c.id, _TABLE.c.subscription_id, _SUBS.c.url, _SUBS.c.secret, _TABLE.c.event_id, _TABLE.c.event,
               _TABLE.c.created_at, _TABLE.c.payload, _TABLE.c.attempts)
        .join(_SUBS, _SUBS.c.id == _TABLE.c.subscription_id)
        .where(_TABLE.c.id.in_(claimed)).order_by(_TABLE.c.id)).all()
    by_subscription: dict[int, list[Delivery]] = defaultdict(list)
    for r in rows:
        by_subscription[r.subscription_id].append(Delivery(
            r.id, r.subscription_id, r.url, r.secret, r.event_id or "", r.event, r.created_at, dict(r.payload or {}),
            r.attempts))
    return dict(by_subscription)


@unit_of_work
def _give_back(session: Session, ids: list[int]) -> None:
    """Rows claimed but not tried: due again, the claim's try not counted."""
    if ids:
        session.execute(update(_TABLE).where(_TABLE.c.id.in_(ids), *_PENDING).values(
            next_attempt_at=None, attempts=_TABLE.c.attempts - 1))
