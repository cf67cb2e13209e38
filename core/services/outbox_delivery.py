"""Delivering the notifications outbox (``core.notify`` writes it; the worker calls
:func:`deliver_due` every minute).

One pass goes over the senders (:func:`senders`: e-mail by SMTP, ``OMS_SMTP_*``; SMS through the
adapter ``OMS_SMS_BACKEND`` names — :mod:`core.services.outbox_senders`). For each configured
one it claims that channel's due rows in one short transaction — ``next_attempt_at`` moves a few
minutes ahead, a lease, so a second worker does not send them too and a worker killed mid-pass
lets them fall due again — then hands them to the sender and records each outcome in its own
transaction, the same way for every channel:

- taken (the mail server said OK, the SMS gateway accepted it) → ``sent``;
- refused for good (5xx: no such mailbox; an invalid number) → ``failed`` at once;
- anything else (no connection, 4xx "try later") → tried again after a backoff (1, 2, 4 …
  minutes, at most an hour), and ``failed`` after :data:`MAX_ATTEMPTS` tries.

Delivery is *at least once*: a worker killed between the other side's "OK" and the commit of
``sent`` sends that message again when the lease runs out.

Rows of a channel nothing sends on this installation stay ``pending`` with a status reason
saying why (no mail server, no SMS adapter), and go out once it is configured.

**Adding a channel**: write a sender with the members of ``outbox_senders.Sender``
(``channel``, ``waiting_reason()``, ``open()`` yielding ``send(Due) -> Outcome``) and return it
from :func:`senders`; claiming, leases, retries, ``failed`` and the counts come with it.
Webhooks are the exception, sent by :mod:`core.services.webhook_delivery` (strict per-
subscription order, batched successes, their own :class:`RetryPolicy`), which records its
outcomes with :func:`record_sent` and :func:`record_failure`, the functions used here too.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from core.backoff import Backoff
from core.db import rowcount, unit_of_work
from core.models import Notification
from core.pii import mask_email, mask_phone
from core.services.outbox_senders import Due, EmailSender, Outcome, Sender, SmsSender, Unavailable
from core.timeutil import utcnow

log = logging.getLogger("oms.outbox")

BATCH = 200  # rows per channel per pass
LEASE = dt.timedelta(minutes=5)  # a claimed row is not claimed again before this (its sender died)
MAX_ATTEMPTS = 6
RETRY = Backoff(free=0, base=dt.timedelta(minutes=1), cap=dt.timedelta(hours=1), window=dt.timedelta(days=1))
MAX_ERROR = 500
RETRYING, REFUSED, GAVE_UP = "outbox.reason.retrying", "outbox.reason.refused", "outbox.reason.gave_up"


@dataclass(frozen=True)
class RetryPolicy:
    """How a channel's failed tries are retried, and the reasons (message codes) recorded."""

    max_attempts: int
    retry: Backoff
    retrying: str
    refused: str
    gave_up: str


MESSAGES = RetryPolicy(MAX_ATTEMPTS, RETRY, RETRYING, REFUSED, GAVE_UP)  # e-mails and texts

_TABLE = Notification.__table__


@dataclass(frozen=True)
class DeliveryResult:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    waiting: int = 0  # rows newly marked as waiting for a gateway or an SMTP server


def senders() -> list[Sender]:
    """The channels that can leave the building (each says whether it is configured)."""
    return [EmailSender(), SmsSender()]


def deliver_due() -> DeliveryResult:
    """One delivery pass (see the module docstring)."""
    reasons: dict[str, str] = {}
    ready: list[Sender] = []
    for sender in senders():
        reason = sender.waiting_reason()
        if reason is None:
            ready.append(sender)
        else:
            reasons[sender.channel] = reason
    waiting = _mark_waiting(reasons)
    counts: Counter[str] = Counter()
    for sender in ready:
        counts.update(_deliver(sender))
    if counts:
        log.info("outbox: %d sent, %d to retry, %d failed", counts["sent"], counts["retrying"], counts["failed"])
    return DeliveryResult(counts["sent"], counts["retrying"], counts["failed"], waiting)


def _deliver(sender: Sender) -> Counter[str]:
    """Claim the sender's due rows, hand each over, record each outcome."""
    due = _claim(sender.channel)
    counts: Counter[str] = Counter()
    done = 0
    try:
        with sender.open() as send:
            for row in due:
                counts[_record(row, send(row))] += 1
                done += 1
    except Unavailable as exc:  # no way out at all: every claimed row left waits for the next try
        log.warning("outbox: %s unavailable: %s", sender.channel, exc.reply)
        for row in due[done:]:
            counts[_record(row, Outcome(exc.reply))] += 1
    return counts


@unit_of_work
def _mark_waiting(session: Session, reasons: dict[str, str]) -> int:
    """Say why pending rows of the channels nothing sends here wait (once per row)."""
    marked = 0
    for channel, reason in reasons.items():
        marked += rowcount(session.execute(update(_TABLE).where(
            _TABLE.c.channel == channel, _TABLE.c.status == "pending",
            or_(_TABLE.c.status_reason.is_(None), _TABLE.c.status_reason != reason)).values(status_reason=reason)))
    return marked


@unit_of_work
def _claim(session: Session, channel: str) -> list[Due]:
    now = utcnow()
    due = (_TABLE.c.channel == channel, _TABLE.c.status == "pending",
           or_(_TABLE.c.next_attempt_at.is_(None), _TABLE.c.next_attempt_at <= now))
    ids = list(session.execute(select(_TABLE.c.id).where(*due).order_by(_TABLE.c.id).limit(BATCH)).scalars())
    if not ids:
        return []
    rows = session.execute(update(_TABLE).where(_TABLE.c.id.in_(ids), *due).values(
        next_attempt_at=now + LEASE, attempts=_TABLE.c.attempts + 1).returning(
        _TABLE.c.id, _TABLE.c.recipient, _TABLE.c.event, _TABLE.c.payload, _TABLE.c.order_id,
        _TABLE.c.attempts)).all()
    return sorted((Due(r.id, channel, r.recipient or "", r.event, dict(r.payload or {}), r.order_id, r.attempts)
                   for r in rows), key=lambda d: d.id)


_MASKS = {"email": mask_email, "sms": mask_phone}


def _record(row: Due, outcome: Outcome) -> str:
    """Write one try's outcome; which count it adds to: ``sent``, ``retrying`` or ``failed``."""
    if outcome.error is None:
        record_sent([row.id])
        return "sent"
    # servers echo the address they refuse ("<li@example.com>: Recipient address rejected"): the
    # recipient is encrypted at rest, so its echo is stored masked
    error = outcome.error.replace(row.recipient, str(_MASKS[row.channel](row.recipient))) if row.recipient \
        else outcome.error
    return "failed" if record_failure(row.id, row.attempts, error, outcome.permanent, MESSAGES) else "retrying"


@unit_of_work
def record_sent(session: Session, notification_ids: Sequence[int], *, response_code: int | None = None) -> None:
    """The rows were delivered (``response_code``: a webhook receiver's HTTP status)."""
    session.execute(update(_TABLE).where(_TABLE.c.id.in_(notification_ids), _TABLE.c.status == "pending").values(
        status="sent", sent_at=utcnow(), next_attempt_at=None, status_reason=None, last_error=None,
        response_code=response_code))


@unit_of_work
def record_failure(session: Session, notification_id: int, attempts: int, reply: str, permanent: bool,
                   policy: RetryPolicy, *, response_code: int | None = None) -> bool:
    """Record try number ``attempts`` failing with ``reply``; True when the row is given up
    (``failed``: refused for good, or out of tries), else it waits for its backoff."""
    gave_up = permanent or attempts >= policy.max_attempts
    values: dict[str, Any] = {"last_error": reply[:MAX_ERROR], "response_code": response_code}
    if gave_up:
        values |= {"status": "failed", "next_attempt_at": None,
                   "status_reason": policy.refused if permanent else policy.gave_up}
    else:
        values |= {"next_attempt_at": utcnow() + policy.retry.wait(attempts - 1), "status_reason": policy.retrying}
    session.execute(update(_TABLE).where(_TABLE.c.id == notification_id, _TABLE.c.status == "pending")
                    .values(**values))
    return gave_up
