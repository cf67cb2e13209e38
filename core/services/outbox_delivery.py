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
saying why (no mail server, no SMS adapter, webhooks: :data:`WAITING`), and go out once it is
configured.

**Adding a channel** (webhooks, issue #17): write a sender with the members of
``outbox_senders.Sender`` (``channel``, ``waiting_reason()``, ``open()`` yielding
``send(Due) -> Outcome``), return it from :func:`senders` and drop its entry from
:data:`WAITING`. Claiming, leases, retries, ``failed`` and the counts come with it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from core.backoff import Backoff
from core.db import rowcount, unit_of_work
from core.models import Notification
from core.services.outbox_senders import Due, EmailSender, Outcome, Sender, SmsSender, Unavailable
from core.timeutil import utcnow

log = logging.getLogger("oms.outbox")

BATCH = 200  # rows per channel per pass
LEASE = dt.timedelta(minutes=5)  # a claimed row is not claimed again before this (its sender died)
MAX_ATTEMPTS = 6
RETRY = Backoff(free=0, base=dt.timedelta(minutes=1), cap=dt.timedelta(hours=1), window=dt.timedelta(days=1))
MAX_ERROR = 500
WAITING = {  # channel without a sender here → why its rows stay pending
    "webhook": "outbox.reason.no_webhook_sender",
}
RETRYING, REFUSED, GAVE_UP = "outbox.reason.retrying", "outbox.reason.refused", "outbox.reason.gave_up"

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
    reasons, ready = dict(WAITING), []
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


@unit_of_work
def _record(session: Session, row: Due, outcome: Outcome) -> str:
    """Write one try's outcome; which count it adds to: ``sent``, ``retrying`` or ``failed``."""
    pending = (_TABLE.c.id == row.id, _TABLE.c.status == "pending")
    values: dict[str, Any]
    if outcome.error is None:
        values, result = {"status": "sent", "sent_at": utcnow(), "next_attempt_at": None, "status_reason": None,
                          "last_error": None}, "sent"
    elif outcome.permanent or row.attempts >= MAX_ATTEMPTS:
        values, result = {"status": "failed", "next_attempt_at": None, "last_error": outcome.error[:MAX_ERROR],
                          "status_reason": REFUSED if outcome.permanent else GAVE_UP}, "failed"
    else:
        values, result = {"next_attempt_at": utcnow() + RETRY.wait(row.attempts - 1), "status_reason": RETRYING,
                          "last_error": outcome.error[:MAX_ERROR]}, "retrying"
    session.execute(update(_TABLE).where(*pending).values(**values))
    return result
