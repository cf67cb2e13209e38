"""Return policy: the return window per channel, whether shipping is refunded, and the refund
arithmetic — what the customer actually paid for some units of an order.

Kept apart from the RMA workflow (``core.services.aftersales``) because it is the part a shop
argues about and configures: the functions here are pure or read-only, plus one service that
lets a manager edit the policy.

Refund arithmetic (hand-checkable, exact to the cent):

* what a line was paid is its line total less its share of the order discount, the share
  order entry stored with the line (``order_lines.discount_share``, split in whole cents by
  :mod:`core.domain.totals`) — the same figure the sales reports count;
* a line's paid amount is split over its units cumulatively — units ``[a, b)`` of a line of
  ``n`` units paid ``P`` cost ``round(P·b/n) − round(P·a/n)`` (:func:`core.domain.money.units_share`)
  — so returning a line in several RMAs never refunds more or less than ``P`` in total (the
  last unit absorbs the rounding), and the reports' returned sales equal the refunds of goods;
* the shipping fee is refunded, per policy, with the RMA that brings the whole order back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import audit, refdata
from core.db import read_only, unit_of_work
from core.domain.money import from_cents, to_cents, units_share
from core.errors import FieldIssue, ValidationError
from core.models import Channel, Setting
from core.permissions import Actor, require
from core.timeutil import utcnow

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
POLICY_KEY = "returns_policy"  # settings row: {"refund_shipping": one of SHIPPING_POLICIES}
SHIPPING_POLICIES = ("seller_fault", "always", "never")
DEFAULT_SHIPPING_POLICY = "seller_fault"
# reasons for which the shop, not the customer, is at fault (shipping is refunded for these)
SELLER_FAULT_REASONS = frozenset({"quality", "damaged", "wrong_item", "not_as_described"})
MAX_WINDOW_DAYS = 365


@dataclass(frozen=True)
class ReturnPolicy:
    """The policy as it applies to one order right now."""

    window_days: int
    delivered_at: dt.datetime | None
    deadline: dt.datetime | None  # None until delivered: the window has not started
    refund_shipping: str

    def within_window(self, now: dt.datetime | None = None) -> bool:
        return self.deadline is None or (now or utcnow()) <= self.deadline


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def shipping_policy(session: Session) -> str:
    """The configured shipping-refund policy (default ``seller_fault``)."""
    value = refdata.snapshot(session).setting(POLICY_KEY, "refund_shipping", DEFAULT_SHIPPING_POLICY)
    return value if value in SHIPPING_POLICIES else DEFAULT_SHIPPING_POLICY


def policy_for(session: Session, window_days: int, delivered_at: dt.datetime | None) -> ReturnPolicy:
    deadline = delivered_at + dt.timedelta(days=window_days) if delivered_at else None
    return ReturnPolicy(window_days, delivered_at, deadline, shipping_policy(session))


def refund_for_units(paid: Decimal, qty: int, before: int, units: int) -> Decimal:
    """Refund for units ``[before, before + units)`` of a line of ``qty`` units paid ``paid``."""
    if qty <= 0 or units <= 0:
        return ZERO
    whole = to_cents(paid)
    return from_cents(units_share(whole, qty, before + units) - units_share(whole, qty, before))


def shipping_refund(policy: str, reason_code: str, kind: str, completes_order: bool, shipping_paid: Decimal) -> Decimal:
    """The shipping part of a refund: only with the RMA that returns the last units of the
    order, never for an exchange, and depending on the policy and on whose fault it was."""
    if kind == "exchange" or not completes_order or shipping_paid <= 0:
        return ZERO
    if policy == "always" or (policy == "seller_fault" and reason_code in SELLER_FAULT_REASONS):
        return shipping_paid
    return ZERO


# --- configuration ---------------------------------------------------------------------------

POLICY_COLUMNS = ["channel", "channel_name", "return_window_days"]


@read_only
def return_policy_table(session: Session, actor: Actor) -> tuple[pd.DataFrame, str]:
    """(return window per active channel, shipping-refund policy) for the policy editor."""
    require(actor, "rma.view")
    rows = session.execute(
        select(Channel.code, Channel.name, Channel.return_window_days).where(Channel.active.is_(True))
        .order_by(Channel.id)
    ).all()
    return pd.DataFrame(rows, columns=POLICY_COLUMNS), shipping_policy(session)


@unit_of_work
def update_return_policy(session: Session, windows: dict[str, int], refund_shipping: str, actor: Actor) -> None:
    """Set the return window (days) of channels and the shipping-refund policy, all or nothing."""
    require(actor, "rules.edit")
    current = {r.code: r.return_window_days for r in session.execute(
        select(Channel.code, Channel.return_window_days).where(Channel.active.is_(True)))}
    issues: list[FieldIssue] = []
    if refund_shipping not in SHIPPING_POLICIES:
        issues.append(FieldIssue("rma_shipping_policy", f"must be one of {', '.join(SHIPPING_POLICIES)}",
                                 value=refund_shipping))
    for code, days in windows.items():
        if code not in current:
            issues.append(FieldIssue("channel", f"unknown channel {code}", value=code))
        elif not isinstance(days, int) or isinstance(days, bool):
            issues.append(FieldIssue("rma_window_days", "must be a whole number", value=days))
        elif not 0 <= days <= MAX_WINDOW_DAYS:
            issues.append(FieldIssue("rma_window_days", f"must be between 0 and {MAX_WINDOW_DAYS}", value=days))
    if issues:
        raise ValidationError(issues)
    changed = {code: days for code, days in windows.items() if current[code] != days}
    for code, days in sorted(changed.items()):
        session.execute(update(Channel).where(Channel.code == code).values(return_window_days=days))
    old_shipping = shipping_policy(session)
    setting = session.get(Setting, POLICY_KEY)
    value: dict[str, Any] = {"refund_shipping": refund_shipping}
    if setting is None:
        session.add(Setting(key=POLICY_KEY, value=value, updated_at=utcnow(), updated_by=actor.username))
    elif setting.value != value:
        setting.value, setting.updated_at, setting.updated_by = value, utcnow(), actor.username
    session.flush()
    refdata.bump(session)
    audit.record(session, actor, "rma.policy", "settings", POLICY_KEY,
                 before={"windows": {c: current[c] for c in changed}, "refund_shipping": old_shipping},
                 after={"windows": changed, "refund_shipping": refund_shipping})
