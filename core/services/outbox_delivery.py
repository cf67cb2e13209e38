"""Delivering the notifications outbox (``core.notify`` writes it; the worker calls
:func:`deliver_due` every minute).

E-mails go out by SMTP (``OMS_SMTP_HOST`` …). Each pass claims the due rows in one short
transaction — ``next_attempt_at`` moves a few minutes ahead, a lease, so a second worker does
not send them too and a worker killed mid-pass lets them fall due again — then sends them over
one connection and records each outcome in its own transaction:

- taken by the server → ``sent``;
- refused for good (5xx: no such mailbox, rejected) → ``failed`` at once;
- anything else (no connection, 4xx "try later") → tried again after a backoff (1, 2, 4 …
  minutes, at most an hour), and ``failed`` after :data:`MAX_ATTEMPTS` tries.

Delivery is *at least once*: a worker killed between the server's "OK" and the commit of
``sent`` sends that message again when the lease runs out.

SMS and webhook rows need a gateway this installation does not have (webhooks come with the
open API, issue #17): they stay ``pending`` with a status reason saying so, as do e-mails while
no SMTP server is configured.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from core import config, environment, i18n, mailer
from core.backoff import Backoff
from core.db import rowcount, unit_of_work
from core.models import Notification
from core.pii import mask_email
from core.refdata import shop_profile
from core.timeutil import utcnow

log = logging.getLogger("oms.outbox")

BATCH = 200  # e-mails per pass
LEASE = dt.timedelta(minutes=5)  # a claimed row is not claimed again before this (its sender died)
MAX_ATTEMPTS = 6
RETRY = Backoff(free=0, base=dt.timedelta(minutes=1), cap=dt.timedelta(hours=1), window=dt.timedelta(days=1))
MAX_ERROR = 500
WAITING = {  # channel → why its rows stay pending on this installation
    "sms": "outbox.reason.no_sms_gateway",
    "webhook": "outbox.reason.no_webhook_sender",
}
NO_SMTP = "outbox.reason.no_smtp"
RETRYING, REFUSED, GAVE_UP = "outbox.reason.retrying", "outbox.reason.refused", "outbox.reason.gave_up"

_TABLE = Notification.__table__


@dataclass(frozen=True)
class DeliveryResult:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    waiting: int = 0  # rows newly marked as waiting for a gateway or an SMTP server


@dataclass(frozen=True)
class _Due:
    id: int
    recipient: str
    event: str
    payload: dict[str, Any]
    attempts: int


def deliver_due() -> DeliveryResult:
    """One delivery pass (see the module docstring)."""
    waiting = _mark_waiting(environment.smtp_host() is not None)
    if environment.smtp_host() is None:
        return DeliveryResult(waiting=waiting)
    due = _claim()
    if not due:
        return DeliveryResult(waiting=waiting)
    sent = retrying = failed = 0
    language = config.default_language()
    try:
        with mailer.connect() as connection:
            for row in due:
                try:
                    connection.send(compose(row.recipient, row.event, row.payload, language))
                except mailer.MailFailed as exc:
                    gave_up = _failed(row, exc)
                    failed, retrying = failed + gave_up, retrying + (not gave_up)
                else:
                    _sent(row.id)
                    sent += 1
    except mailer.MailFailed as exc:  # no connection at all: every claimed row waits for the next try
        log.warning("outbox: SMTP server unavailable: %s", exc.reply)
        for row in due[sent + retrying + failed:]:
            gave_up = _failed(row, exc)
            failed, retrying = failed + gave_up, retrying + (not gave_up)
    log.info("outbox: %d sent, %d to retry, %d failed", sent, retrying, failed)
    return DeliveryResult(sent, retrying, failed, waiting)


@unit_of_work
def _mark_waiting(session: Session, smtp: bool) -> int:
    """Say why pending rows of the channels nothing sends here wait (once per row)."""
    waiting = dict(WAITING) | ({} if smtp else {"email": NO_SMTP})
    marked = 0
    for channel, reason in waiting.items():
        marked += rowcount(session.execute(update(_TABLE).where(
            _TABLE.c.channel == channel, _TABLE.c.status == "pending",
            or_(_TABLE.c.status_reason.is_(None), _TABLE.c.status_reason != reason)).values(status_reason=reason)))
    return marked


@unit_of_work
def _claim(session: Session) -> list[_Due]:
    now = utcnow()
    due = (_TABLE.c.channel == "email", _TABLE.c.status == "pending",
           or_(_TABLE.c.next_attempt_at.is_(None), _TABLE.c.next_attempt_at <= now))
    ids = list(session.execute(select(_TABLE.c.id).where(*due).order_by(_TABLE.c.id).limit(BATCH)).scalars())
    if not ids:
        return []
    rows = session.execute(update(_TABLE).where(_TABLE.c.id.in_(ids), *due).values(
        next_attempt_at=now + LEASE, attempts=_TABLE.c.attempts + 1).returning(
        _TABLE.c.id, _TABLE.c.recipient, _TABLE.c.event, _TABLE.c.payload, _TABLE.c.attempts)).all()
    return sorted((_Due(r.id, r.recipient or "", r.event, dict(r.payload or {}), r.attempts) for r in rows),
                  key=lambda d: d.id)


@unit_of_work
def _sent(session: Session, notification_id: int) -> None:
    session.execute(update(_TABLE).where(_TABLE.c.id == notification_id, _TABLE.c.status == "pending").values(
        status="sent", sent_at=utcnow(), next_attempt_at=None, status_reason=None, last_error=None))


@unit_of_work
def _failed(session: Session, row: _Due, exc: mailer.MailFailed) -> bool:
    """Record a failed try; True when the row is given up (``failed``)."""
    gave_up = exc.permanent or row.attempts >= MAX_ATTEMPTS
    # servers echo the address they refuse ("<li@example.com>: Recipient address rejected"): the
    # recipient is encrypted, so its echo is stored masked
    reply = exc.reply.replace(row.recipient, str(mask_email(row.recipient))) if row.recipient else exc.reply
    values: dict[str, Any] = {"last_error": reply[:MAX_ERROR]}
    if gave_up:
        values |= {"status": "failed", "next_attempt_at": None, "status_reason": REFUSED if exc.permanent else GAVE_UP}
    else:
        values |= {"next_attempt_at": utcnow() + RETRY.wait(row.attempts - 1), "status_reason": RETRYING}
    session.execute(update(_TABLE).where(_TABLE.c.id == row.id, _TABLE.c.status == "pending").values(**values))
    return gave_up


def compose(recipient: str, event: str, payload: dict[str, Any], language: str) -> mailer.Mail:
    """The e-mail for one outbox row, in the shop's language: the event as the subject, the
    order's (or request's) number, status, carrier and tracking number as the body."""
    def t(key: str, **params: Any) -> str:
        return i18n.translate(key, language, **params)

    params = {k: "" if v is None else v for k, v in payload.items()}
    key = f"mail.event.{event}"
    headline = t(key, **params) if i18n.has_key(key, language) else t("mail.event.generic", event=event, **params)
    shop = str(shop_profile().get("name") or "")
    lines = [headline, ""]
    for field, line_key in (("number", "mail.line.order"), ("order", "mail.line.order"), ("rma", "mail.line.rma"),
                            ("total", "mail.line.total"), ("carrier", "mail.line.carrier"),
                            ("tracking_no", "mail.line.tracking")):
        if payload.get(field):
            lines.append(t(line_key, value=payload[field]))
    if payload.get("status") and event.startswith("order."):
        lines.append(t("mail.line.status", value=i18n.label("status", payload["status"], language)))
    lines += ["", t("mail.footer", shop=shop or t("app.title"))]
    return mailer.Mail(recipient, f"{shop} · {headline}" if shop else headline, "\n".join(lines))
