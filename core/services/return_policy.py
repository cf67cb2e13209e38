"""Return policy: the return window per channel and whether shipping is refunded, as configured
by the shop, and what the customer actually paid for each line of an order.

Kept apart from the RMA workflow (``core.services.aftersales``) because it is the part a shop
argues about and configures: reading the policy that applies to one order, and one service
that lets a manager edit it. The window and refund arithmetic themselves are pure rules in
:mod:`core.domain.returns`.

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
from typing import Any

import pandas as pd
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import audit, refdata
from core.db import read_only, unit_of_work
from core.domain import returns
from core.domain.returns import MAX_WINDOW_DAYS, SHIPPING_POLICIES, refund_for_units
from core.errors import FieldIssue, ValidationError
from core.models import Channel, Setting
from core.permissions import Actor, require
from core.timeutil import utcnow

# MAX_WINDOW_DAYS, SHIPPING_POLICIES and refund_for_units are the domain's, named here too for
# the policy editor and the callers that read them from this module.
__all__ = ["MAX_WINDOW_DAYS", "POLICY_COLUMNS", "POLICY_KEY", "SHIPPING_POLICIES", "ReturnPolicy", "policy_for",
           "refund_for_units", "return_policy_table", "shipping_policy", "update_return_policy"]
POLICY_KEY = "returns_policy"  # settings row: {"refund_shipping": one of SHIPPING_POLICIES}


@dataclass(frozen=True)
class ReturnPolicy:
    """The policy as it applies to one order right now."""

    window_days: int
    delivered_at: dt.datetime | None
    deadline: dt.datetime | None  # None until delivered: the window has not started
    refund_shipping: str

    def within_window(self, now: dt.datetime | None = None) -> bool:
        return returns.within_window(self.deadline, now or utcnow())


def shipping_policy(session: Session) -> str:
    """The configured shipping-refund policy (default ``seller_fault``)."""
    value = refdata.snapshot(session).setting(POLICY_KEY, "refund_shipping", returns.DEFAULT_SHIPPING_POLICY)
    return value if value in SHIPPING_POLICIES else returns.DEFAULT_SHIPPING_POLICY


def policy_for(session: Session, window_days: int, delivered_at: dt.datetime | None) -> ReturnPolicy:
    return ReturnPolicy(window_days, delivered_at, returns.return_deadline(delivered_at, window_days),
                        shipping_policy(session))




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
        issues.append(FieldIssue("rma_shipping_policy", "issue.one_of", value=refund_shipping,
                                 params={"choices": ", ".join(SHIPPING_POLICIES)}))
    for code, days in windows.items():
        if code not in current:
            issues.append(FieldIssue("channel", "issue.unknown_value", value=code, params={"value": code}))
        elif not isinstance(days, int) or isinstance(days, bool):
            issues.append(FieldIssue("rma_window_days", "issue.whole_number", value=days))
        elif not 0 <= days <= MAX_WINDOW_DAYS:
            issues.append(FieldIssue("rma_window_days", "issue.between", value=days,
                                          params={"low": 0, "high": MAX_WINDOW_DAYS}))
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
