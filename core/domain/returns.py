"""After-sales rules: what may be returned, the RMA state machine, refund arithmetic and
ceilings, and what inspection decides about the goods.

The after-sales services (``core.services.aftersales``, ``rma_views``, ``return_policy``) load
the order, its lines, the RMA and the shop's settings, call these functions, and write. Nothing
here reads the clock: "now" is passed in. Money is exact (``Decimal``) and rounded to the cent
half-up; *what each line was paid* (its total minus its share of the order discount) is an
input — spreading the discount over the lines is the money module's job.

Refund arithmetic (hand-checkable, exact to the cent):

* a line's paid amount is split over its units cumulatively — units ``[a, b)`` of a line of
  ``n`` units paid ``P`` cost ``round(P·b/n) − round(P·a/n)`` — so returning a line in several
  RMAs never refunds more or less than ``P`` in total (the last unit absorbs the rounding);
* the shipping fee is refunded, per policy, with the RMA that brings the whole order back;
* a refund never exceeds what is left of the order total; above the computed amount only a
  manager (``rma.override``) refunds, with a note.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Protocol, TypeVar

from core.domain.money import from_cents, to_cents, units_share
from core.domain.quantities import check_qty
from core.domain.rulebook import MAX_AMOUNT
from core.errors import FieldIssue, IllegalTransition, Refused
from core.permissions import Actor

CENT = Decimal("0.01")
ZERO = Decimal("0.00")

KINDS = ("return", "exchange", "refund_only")
GOODS_BACK = ("return", "exchange")  # kinds whose goods are sent back and inspected
REASON_CODES = ("size", "quality", "damaged", "wrong_item", "not_as_described", "no_reason_7d", "other")
STATUSES = ("requested", "approved", "rejected", "received", "inspected", "closed", "cancelled")
OPEN_STATUSES = ("requested", "approved", "received", "inspected")
CONDITIONS = ("resellable", "damaged", "partial")
RESOLUTIONS = ("refunded", "replaced", "no_refund", "rejected", "cancelled")
RETURNABLE_ORDER_STATUSES = ("shipped", "delivered", "completed")
REFUNDABLE_PAYMENT_STATUSES = ("paid", "partially_refunded")
EDGES: dict[str, tuple[str, ...]] = {
    "requested": ("approved", "rejected", "cancelled"),
    "approved": ("received", "closed", "cancelled"),
    "received": ("inspected",),
    "inspected": ("closed",),
}
PERMISSION_FOR_TARGET = {"approved": "rma.decide", "rejected": "rma.decide", "cancelled": "rma.decide",
                         "closed": "rma.decide", "received": "rma.receive", "inspected": "rma.receive"}
REFUNDABLE_AT = {"return": ("received", "inspected", "closed"), "refund_only": ("approved", "closed"),
                 "exchange": ()}
EVENTS = ("opened", "approved", "rejected", "cancelled", "received", "inspected", "refunded", "closed",
          "refund_requested", "refund_rejected")
# events the customer is told about (inspection is the shop's internal QC step)
CUSTOMER_EVENTS = frozenset(EVENTS) - {"inspected", "refund_requested", "refund_rejected"}
MAX_DAMAGE_REASON = 200

SHIPPING_POLICIES = ("seller_fault", "always", "never")
DEFAULT_SHIPPING_POLICY = "seller_fault"
# reasons for which the shop, not the customer, is at fault (shipping is refunded for these)
SELLER_FAULT_REASONS = frozenset({"quality", "damaged", "wrong_item", "not_as_described"})
MAX_WINDOW_DAYS = 365


def cents(value: Decimal) -> Decimal:
    """``value`` rounded to the cent, half up."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


# --- what may be returned ----------------------------------------------------------------------


class ShippedLine(Protocol):
    """An order line as returns see it."""

    @property
    def sku(self) -> str: ...

    @property
    def qty(self) -> int: ...

    @property
    def qty_shipped(self) -> int: ...

    @property
    def qty_returned(self) -> int: ...


class Claim(Protocol):
    """Units of one order line a customer sends back (``core.services.aftersales.RMALine``)."""

    @property
    def line_no(self) -> int: ...

    @property
    def qty(self) -> int: ...

    @property
    def replacement_sku(self) -> str | None: ...


class Replacement(Protocol):
    """A product offered in exchange."""

    @property
    def sku(self) -> str: ...

    @property
    def active(self) -> bool: ...

    @property
    def unit_price(self) -> Decimal: ...


P = TypeVar("P", bound=Replacement)


def returnable_units(line: ShippedLine) -> int:
    """Units of a line that can still be claimed: shipped, less those under an open or
    completed RMA."""
    return line.qty_shipped - line.qty_returned


def returnable_order(status: str) -> bool:
    """Only goods that left the warehouse come back; an order not shipped yet is cancelled."""
    return status in RETURNABLE_ORDER_STATUSES


def check_returnable_order(number: str, status: str) -> None:
    if not returnable_order(status):
        raise IllegalTransition.coded("rma_refusal.order_not_shipped", number=number, status={"key": f"status.{status}"})


def replacement_sku(claim: Claim, lines: Mapping[int, ShippedLine]) -> str:
    """The SKU sent in exchange for ``claim``: the one asked for, else the returned SKU itself."""
    own = lines[claim.line_no].sku if claim.line_no in lines else ""
    return (claim.replacement_sku or own).strip()


def request_issues(
    number: str, kind: str, reason_code: str, payment_status: str, claims: Sequence[Claim],
    lines: Mapping[int, ShippedLine], products: Mapping[str, P],
) -> tuple[dict[int, P], list[FieldIssue]]:
    """``({line_no: replacement product}, issues)`` for an RMA request on order ``number``.

    Checks the kind and reason, that a refund without goods is asked only of a paid order,
    every claimed line (on the order, listed once, a quantity of at most what is
    :func:`returnable_units`) and, for an exchange, its replacement among ``products`` (the
    :func:`replacement_sku` of each claim, as loaded; unknown or discontinued is refused).
    """
    issues: list[FieldIssue] = []
    if kind not in KINDS:
        issues.append(FieldIssue("rma_kind", "issue.one_of", value=kind, params={"choices": ", ".join(KINDS)}))
    if reason_code not in REASON_CODES:
        issues.append(FieldIssue("rma_reason", "issue.one_of", value=reason_code,
                                 params={"choices": ", ".join(REASON_CODES)}))
    if kind == "refund_only" and payment_status not in REFUNDABLE_PAYMENT_STATUSES:
        issues.append(FieldIssue("rma_kind", "issue.rma_not_paid", value=kind))
    if not claims:
        issues.append(FieldIssue("lines", "issue.rma_no_lines"))
    replacements: dict[int, P] = {}
    seen: set[int] = set()
    for claim in claims:
        row = claim.line_no
        line = lines.get(row)
        if line is None:
            issues.append(FieldIssue("line_no", "issue.rma_no_such_line", row, row, params={"number": number, "line": row}))
            continue
        if row in seen:
            issues.append(FieldIssue("line_no", "issue.rma_listed_twice", row, row))
        seen.add(row)
        if bad := check_qty(claim.qty, "qty", row)[1]:
            issues += bad
        elif claim.qty > returnable_units(line):
            issues.append(FieldIssue("qty", "issue.rma_over_return", row, claim.qty, params={
                "n": returnable_units(line), "shipped": line.qty_shipped, "returned": line.qty_returned}))
        if kind != "exchange":
            if (claim.replacement_sku or "").strip():
                issues.append(FieldIssue("rma_replacement_sku", "issue.rma_replacement_only_exchange", row,
                                         claim.replacement_sku))
            continue
        sku = replacement_sku(claim, lines)
        product = products.get(sku)
        if product is None:
            issues.append(FieldIssue("rma_replacement_sku", "issue.unknown_sku", row, sku, params={"sku": sku}))
        elif not product.active:
            issues.append(FieldIssue("rma_replacement_sku", "issue.discontinued", row, sku, params={"sku": sku}))
        else:
            replacements[row] = product
    return replacements, issues


def completes_order(lines: Iterable[tuple[int, ShippedLine]], claimed: Mapping[int, int]) -> bool:
    """With ``claimed`` units (by line number) every unit of the order has come back."""
    return all(line.qty_returned + claimed.get(n, 0) >= line.qty for n, line in lines)


# --- the return policy -------------------------------------------------------------------------


def return_deadline(delivered_at: dt.datetime | None, window_days: int) -> dt.datetime | None:
    """The last moment of the return window: it starts on delivery (None until delivered)."""
    return delivered_at + dt.timedelta(days=window_days) if delivered_at else None


def within_window(deadline: dt.datetime | None, now: dt.datetime) -> bool:
    """An order not delivered yet is always within its window."""
    return deadline is None or now <= deadline


def exchange_value(replacements: Mapping[int, Replacement], claims: Iterable[Claim]) -> Decimal:
    """What the replacements of an exchange are worth at their list prices."""
    qty = {claim.line_no: claim.qty for claim in claims}
    return sum((product.unit_price * qty[n] for n, product in replacements.items()), ZERO)


def policy_breaches(*, in_window: bool, kind: str, replacement_value: Decimal, paid: Decimal) -> tuple[str, ...]:
    """What of the policy a request breaks without a manager's exception: ``"window"`` (the
    window is over) and ``"value"`` (an exchange for something worth more than was paid)."""
    found: list[str] = []
    if not in_window:
        found.append("window")
    if kind == "exchange" and replacement_value > paid:
        found.append("value")
    return tuple(found)


# --- refund arithmetic ---------------------------------------------------------------------------


def refund_for_units(paid: Decimal, qty: int, before: int, units: int) -> Decimal:
    """Refund for units ``[before, before + units)`` of a line of ``qty`` units paid ``paid``."""
    if qty <= 0 or units <= 0:
        return ZERO
    whole = to_cents(paid)  # cumulative whole cents: several RMAs of one line add up to ``paid``
    return from_cents(units_share(whole, qty, before + units) - units_share(whole, qty, before))


def shipping_refund(policy: str, reason_code: str, kind: str, completes: bool, shipping_paid: Decimal) -> Decimal:
    """The shipping part of a refund: only with the RMA that returns the last units of the
    order, never for an exchange, and depending on the policy and on whose fault it was."""
    if kind == "exchange" or not completes or shipping_paid <= 0:
        return ZERO
    if policy == "always" or (policy == "seller_fault" and reason_code in SELLER_FAULT_REASONS):
        return shipping_paid
    return ZERO


def refunds_goods(kind: str) -> bool:
    """An exchange is settled by its replacement order, not by money for the goods."""
    return kind != "exchange"


def computed_refund(kind: str, line_refunds: Iterable[Decimal], shipping: Decimal) -> Decimal:
    """What an RMA refunds when opened: its lines' paid amounts (not for an exchange) and the
    shipping part."""
    return (sum(line_refunds, ZERO) if refunds_goods(kind) else ZERO) + shipping


def refundable(kind: str, status: str, payment_status: str, already_refunded: bool) -> bool:
    """An RMA can be refunded once, at the statuses of its kind, on an order that was paid."""
    return (not already_refunded and status in REFUNDABLE_AT[kind]
            and payment_status in REFUNDABLE_PAYMENT_STATUSES)


def check_refundable_status(number: str, kind: str, status: str) -> None:
    if status not in REFUNDABLE_AT[kind]:
        raise IllegalTransition.coded("rma_refusal.exchange_not_refunded" if kind == "exchange" else "rma_refusal.not_refundable_now",
                                      number=number, status={"key": f"rma_status.{status}"})


def refund_limit(actor: Actor, computed: Decimal, remaining: Decimal) -> Decimal:
    """The most ``actor`` may refund: the computed amount, or (override) what is left of the order."""
    if actor.can("rma.override"):
        return max(remaining, ZERO)
    return max(min(computed, remaining), ZERO) if actor.can("rma.refund") else ZERO


def parse_refund_amount(value: Decimal | str | float | None, computed: Decimal) -> tuple[Decimal, list[FieldIssue]]:
    """The amount typed for a refund (default: the computed refund), to the cent and > 0."""
    if value is None:
        return computed, []
    try:
        amount = Decimal(str(value))
        if not amount.is_finite():
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        return ZERO, [FieldIssue("rma_refund_amount", "issue.not_a_number", value=value)]
    if abs(amount) > MAX_AMOUNT:  # "1e400" is finite, but no money column holds it (and cents() would raise)
        return ZERO, [FieldIssue("rma_refund_amount", "hf.amount_out_of_range", value=str(value)[:40],
                                 params={"limit": str(MAX_AMOUNT)})]
    amount = cents(amount)
    return amount, [] if amount > 0 else [FieldIssue("rma_refund_amount", "issue.positive", value=value)]


def check_refund(payment_status: str, computed: Decimal, remaining: Decimal, value: Decimal, actor: Actor | None,
                 note: str | None, issues: list[FieldIssue]) -> None:
    """Append to ``issues`` what the refund rules say about ``value``: the order is paid and has
    ``remaining`` left; above the computed amount only for ``actor`` with ``rma.override`` and a
    note (``actor`` None: an approved request, whose requester's authority was checked when it
    was made). Amount rules are judged only when ``issues`` is still empty."""
    if payment_status not in REFUNDABLE_PAYMENT_STATUSES:
        issues.append(FieldIssue("payment_status", "issue.rma_not_paid", value=payment_status))
    elif not issues:
        if value > remaining:
            issues.append(FieldIssue("rma_refund_amount", "issue.rma_refund_remaining", value=value,
                                     params={"amount": str(remaining)}))
        elif value > computed and actor is not None and not actor.can("rma.override"):
            issues.append(FieldIssue("rma_refund_amount", "issue.rma_refund_limit", value=value,
                                     params={"amount": str(computed)}))
        elif value > computed and not note:
            issues.append(FieldIssue("note", "issue.rma_refund_note"))


def refund_approval_reason(value: Decimal, limit: Decimal, external_ref: str | None) -> dict[str, Any] | None:
    """Why a refund needs a second person (params for ``rb.refund_needs_approval``), or None.

    Above the shop's ``refund_approval.amount`` (``limit``), and on any order that came from
    outside (an import or a channel: it carries an external reference, and its payment was not
    taken here) — the case where one person could import a "paid" order and refund it alone.
    """
    if value > limit:
        return {"key": "rb.why_amount", "limit": str(limit)}
    if external_ref is not None:
        return {"key": "rb.why_imported"}
    return None


def check_refund_decision(number: str, requested_by: str | None, approve: bool, username: str) -> None:
    """A waiting refund is decided by someone other than its requester (who may withdraw it)."""
    if requested_by is None:
        raise Refused("rb.refund_no_request", number=number)
    if approve and requested_by == username:
        raise Refused("rb.own_request", reference=number)


# --- the RMA state machine -----------------------------------------------------------------------


def next_statuses(kind: str, status: str) -> tuple[str, ...]:
    """The statuses an RMA of ``kind`` can move to from ``status``: goods are received only
    when some come back, and such an RMA closes only after inspection."""
    return tuple(s for s in EDGES.get(status, ()) if not (
        (s == "received" and kind not in GOODS_BACK)
        or (s == "closed" and status == "approved" and kind in GOODS_BACK)))


def target_permission(to_status: str) -> str:
    """The permission a move to ``to_status`` needs; refuses a status that does not exist."""
    if to_status not in PERMISSION_FOR_TARGET:
        raise IllegalTransition.coded("rma_refusal.unknown_status", to_status=to_status)
    return PERMISSION_FOR_TARGET[to_status]


@dataclass(frozen=True)
class RMAState:
    """What the RMA state machine needs to know about one RMA."""

    number: str
    kind: str
    status: str
    created_by: str | None = None


def approves_own_request(rma: RMAState, to_status: str, username: str) -> bool:
    """Separation of duties: whoever opened an RMA does not approve it."""
    return to_status == "approved" and rma.created_by == username


def check_rma_transition(rma: RMAState, to_status: str, username: str) -> None:
    """Refuse a move the RMA state machine does not allow (inspection has its own door, with a
    result per line) and the opener approving their own request."""
    if to_status == "inspected":
        raise IllegalTransition.coded("rma_refusal.inspect_by_line", number=rma.number)
    if to_status not in next_statuses(rma.kind, rma.status):
        raise IllegalTransition.coded("rma_refusal.bad_move", number=rma.number, kind={"key": f"rma_kind.{rma.kind}"},
                                      from_status={"key": f"rma_status.{rma.status}"},
                                      to_status={"key": f"rma_status.{to_status}"})
    if approves_own_request(rma, to_status, username):
        raise Refused("rb.own_request", reference=rma.number)


def resolution(rma: RMAState, to_status: str, refunded: bool) -> str | None:
    """How an RMA ends when it moves to ``to_status`` (None: it does not end there)."""
    if to_status in ("rejected", "cancelled"):
        return to_status
    if to_status == "closed":
        return "replaced" if rma.kind == "exchange" else "refunded" if refunded else "no_refund"
    return None


def rma_actions(rma: RMAState, actor: Actor, *, can_refund: bool, requested_by: str | None) -> tuple[str, ...]:
    """What ``actor`` may do with an RMA now: its next statuses (not approving their own
    request), ``refund`` (when :func:`refundable` and nobody asked yet), and deciding a waiting
    refund — the requester may only withdraw it (``refund_reject``)."""
    actions = tuple(s for s in next_statuses(rma.kind, rma.status) if actor.can(PERMISSION_FOR_TARGET[s])
                    and not approves_own_request(rma, s, actor.username))
    if can_refund and requested_by is None and actor.can("rma.refund"):
        actions += ("refund",)
    if can_refund and requested_by is not None and actor.can("rma.decide"):
        actions += ("refund_reject",) if requested_by == actor.username else ("refund_approve", "refund_reject")
    return actions


# --- inspection ----------------------------------------------------------------------------------


class ReturnedLine(Protocol):
    """An RMA line waiting for its inspection result."""

    @property
    def line_no(self) -> int: ...

    @property
    def qty(self) -> int: ...


class Result(Protocol):
    """One line's QC result (``core.services.aftersales.Inspection``)."""

    @property
    def line_no(self) -> int: ...

    @property
    def restock_qty(self) -> int: ...

    @property
    def warehouse(self) -> str: ...

    @property
    def damage_reason(self) -> str | None: ...


R = TypeVar("R", bound=Result)


def inspection_issues(returned: Iterable[ReturnedLine], results: Iterable[R],
                      warehouses: Iterable[str]) -> tuple[dict[int, R], list[FieldIssue]]:
    """``({line_no: result}, issues)``: every returned line needs exactly one result, restocking
    between 0 and its units into a known warehouse; units not restocked are written off and
    need a damage reason."""
    issues: list[FieldIssue] = []
    known = set(warehouses)
    by_line: dict[int, R] = {}
    expected = {ln.line_no: ln for ln in returned}
    for res in results:
        row = res.line_no
        line = expected.get(row)
        if line is None:
            issues.append(FieldIssue("line_no", "issue.rma_not_on_rma", row, row))
            continue
        if row in by_line:
            issues.append(FieldIssue("line_no", "issue.rma_listed_twice", row, row))
            continue
        by_line[row] = res
        if not isinstance(res.restock_qty, int) or isinstance(res.restock_qty, bool):
            issues.append(FieldIssue("rma_restocked", "issue.whole_number", row, res.restock_qty))
            continue
        if not 0 <= res.restock_qty <= line.qty:
            issues.append(FieldIssue("rma_restocked", "issue.rma_between", row, res.restock_qty,
                                     params={"low": 0, "high": line.qty}))
        if res.warehouse not in known:
            issues.append(FieldIssue("warehouse", "issue.unknown_value", row, res.warehouse,
                                     params={"value": res.warehouse}))
        reason = (res.damage_reason or "").strip()
        if res.restock_qty < line.qty and not reason:
            issues.append(FieldIssue("rma_damage_reason", "issue.rma_damage_reason", row))
        if len(reason) > MAX_DAMAGE_REASON:
            issues.append(FieldIssue("rma_damage_reason", "issue.too_long", row, len(reason),
                                     params={"n": MAX_DAMAGE_REASON}))
    for row in sorted(set(expected) - set(by_line)):
        issues.append(FieldIssue("rma_restocked", "issue.rma_inspect_all", row))
    return by_line, issues


def condition(qty: int, restock_qty: int) -> str:
    """A returned line's condition: all units resellable, all damaged, or partly each."""
    damaged = qty - restock_qty
    return "resellable" if not damaged else "damaged" if not restock_qty else "partial"


def write_off_units(qty: int, restock_qty: int) -> int:
    """Units that came back but cannot be sold again: booked in, then written off."""
    return qty - restock_qty
