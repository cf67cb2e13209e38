"""Public order lookup: order number + last four digits of the phone → where the parcel is.

No login, so the function is built not to leak:

* it answers with the order's status, carrier, tracking number and the progress of its RMAs —
  nothing else (no name, address, lines or amounts);
* "no such order" and "wrong phone" produce the same ``None`` after the same queries;
* failed attempts back off (:mod:`core.backoff`) per client — the browser's address, so a
  reload does not start afresh (``core.clients``) — and per order number across all clients,
  counted in the ``lookup_attempts`` table, so the limits survive reloads, other server
  processes and restarts. Past a few free failures each one doubles the wait, up to a cap of
  minutes: a guesser of the four digits slows to one try per cap, while the customer of an
  attacked order waits at most the cap instead of being locked out for an hour. A success
  ends the order's backoff. Refused attempts are not recorded (waiting always works) and rows
  older than a week are purged.

Lookup attempts are not written to the audit log: they change no business data, and every
attempt would otherwise invalidate the dashboards' cache (keyed on the audit log). The
attempts table is their log.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
from dataclasses import dataclass

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from core import datakeys, refdata
from core.attempts import retry_after, take_turns
from core.backoff import Backoff
from core.db import unit_of_work
from core.errors import FieldIssue, OMSError, ValidationError
from core.models import LookupAttempt, Order, Return, RMAEvent
from core.timeutil import utcnow

SETTING_KEY = "order_lookup"  # optional settings row overriding the limits below
# free failures per client and per order number, the first wait, the longest wait
DEFAULT_LIMITS = {"client_failures": 10, "order_failures": 5, "first_wait_seconds": 10, "max_wait_minutes": 10}
WINDOW = dt.timedelta(hours=24)  # failures older than this no longer count
KEEP_DAYS = 7
MAX_NUMBER = 32
_DIGITS = re.compile(r"\D+")
_NUMBER = re.compile(r"[A-Z0-9][A-Z0-9-]*")  # document numbers: SO20261122-000123


class LookupInvalid(ValidationError):
    """The number or the four digits are malformed (nothing was looked up or counted)."""

    key = "error.lookup_invalid"


class LookupThrottled(OMSError):
    """Too many failed attempts from this client or for this order number: ``seconds`` to wait."""

    key = "sec.lookup_throttled"


@dataclass(frozen=True)
class RMAProgress:
    number: str
    kind: str
    status: str
    steps: tuple[tuple[str, dt.datetime], ...]  # (status reached, when), oldest first


@dataclass(frozen=True)
class LookupResult:
    number: str
    status: str
    carrier: str | None
    tracking_no: str | None
    rmas: tuple[RMAProgress, ...]


def _limits(session: Session) -> dict[str, int]:
    stored = refdata.snapshot(session).settings.get(SETTING_KEY, {})
    return {k: int(stored.get(k, v)) for k, v in DEFAULT_LIMITS.items()}


def _check_limits(session: Session, client: str, number: str, now: dt.datetime) -> None:
    limits = _limits(session)
    first, cap = dt.timedelta(seconds=limits["first_wait_seconds"]), dt.timedelta(minutes=limits["max_wait_minutes"])
    wait = max(retry_after(session, LookupAttempt, Backoff(limits["client_failures"], first, cap, WINDOW), now,
                           LookupAttempt.client == client),
               retry_after(session, LookupAttempt, Backoff(limits["order_failures"], first, cap, WINDOW), now,
                           LookupAttempt.order_number == number))
    if wait:
        raise LookupThrottled(f"too many failed lookups; wait {wait} seconds", seconds=wait)


def _progress(session: Session, order_id: int) -> tuple[RMAProgress, ...]:
    rmas = session.execute(select(Return.id, Return.number, Return.kind, Return.status)
                           .where(Return.order_id == order_id).order_by(Return.created_at, Return.id)).all()
    if not rmas:
        return ()
    steps: dict[int, list[tuple[str, dt.datetime]]] = {r.id: [] for r in rmas}
    for ev in session.execute(
        select(RMAEvent.return_id, RMAEvent.to_status, RMAEvent.at)
        .where(RMAEvent.return_id.in_(list(steps)), RMAEvent.event != "refunded")  # amounts stay private
        .order_by(RMAEvent.at, RMAEvent.id)
    ):
        steps[ev.return_id].append((ev.to_status, ev.at))
    return tuple(RMAProgress(r.number, r.kind, r.status, tuple(steps[r.id])) for r in rmas)


def phone_matches(stored_last4_index: str | None, last4: str) -> bool:
    """Constant-time comparison of the order's blind index of its phone's last four digits
    with the index of ``last4``: the public lookup never decrypts the phone."""
    wanted = datakeys.last4(last4)
    return stored_last4_index is not None and wanted is not None and hmac.compare_digest(stored_last4_index, wanted)


@unit_of_work
def lookup_order(session: Session, number: str, phone_last4: str, client: str) -> LookupResult | None:
    """The public view of one order, or None when the number and phone do not belong together.

    ``client`` identifies the browser (``core.clients``: its address, else its session). Raises
    LookupInvalid for malformed input (nothing counted) and LookupThrottled while this client's
    or this order number's failures are backing off (nothing counted either).
    """
    number = (number or "").strip().upper()
    last4 = (phone_last4 or "").strip()
    issues = []
    if not number:
        issues.append(FieldIssue("number", "issue.required"))
    elif len(number) > MAX_NUMBER:
        issues.append(FieldIssue("number", "issue.too_long", value=len(number), params={"n": MAX_NUMBER}))
    elif not _NUMBER.fullmatch(number):
        issues.append(FieldIssue("number", "issue.lookup_number"))
    if not re.fullmatch(r"\d{4}", last4):
        issues.append(FieldIssue("lookup_last4", "issue.lookup_last4"))
    if not client or len(client) > 64:
        issues.append(FieldIssue("lookup_client", "issue.lookup_session"))
    if issues:
        raise LookupInvalid(issues)
    take_turns(session, f"lookup-client:{client}", f"lookup-order:{number}")
    now = utcnow()
    _check_limits(session, client, number, now)
    order = session.execute(select(Order.id, Order.status, Order.carrier, Order.tracking_no,
                                   Order.ship_phone_last4_bidx).where(Order.number == number)).first()
    found = order is not None and phone_matches(order.ship_phone_last4_bidx, last4)
    session.execute(insert(LookupAttempt).values(at=now, client=client, order_number=number, success=found))
    session.execute(delete(LookupAttempt).where(LookupAttempt.at < now - dt.timedelta(days=KEEP_DAYS)))
    if not found:
        return None
    assert order is not None
    return LookupResult(number, order.status, order.carrier, order.tracking_no, _progress(session, order.id))
