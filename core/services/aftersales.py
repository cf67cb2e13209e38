"""After-sales: RMAs (return, exchange, refund only) from request to closing, and refunds.
The read views are in ``core.services.rma_views``; loading and money in ``rma_records``; the
rules (what may be returned, the RMA state machine, refund arithmetic and ceilings, what
inspection decides) in :mod:`core.domain.returns` — this module loads, asks them and writes.

States: ``requested → approved | rejected``, ``approved → received → inspected → closed`` for
goods that come back (return, exchange), ``approved → closed`` for a refund without goods, and
``requested | approved → cancelled`` when the customer withdraws. Each public function is one
user action = one transaction (permission → checks → writes → timeline → outbox → audit).

Decisions that keep the books right:

* **Claims.** Opening an RMA adds its quantities to ``order_lines.qty_returned`` with a
  conditional UPDATE (``WHERE qty_shipped - qty_returned >= q``), the same pattern as stock
  reservation: two agents racing to return the last unit cannot both succeed. A rejected or
  cancelled RMA gives its claim back. So ``qty_returned`` counts units under an open or
  completed RMA, and "never more than shipped minus already returned" holds at all times.
* **Stock.** Goods that left in a shipment come back physically, so inspection always brings
  them into the chosen warehouse's ledger: resellable units as ``return_restock`` (and waiting
  backorders are re-reserved in the same transaction); damaged units as ``return_restock``
  immediately followed by a ``write_off`` with the damage reason. Σ movements = on_hand stays
  true, and the ledger shows where every returned unit went.
* **Refunds** are computed when the RMA is opened from what the customer paid for those units
  (``core.services.return_policy``), stored per line, and paid once per RMA — up to the
  computed amount by ``rma.refund`` roles, above it (never above what is left of the order
  total) by ``rma.override`` roles with a note. The order's payment status follows.
  Receiving goods without refunding them is allowed.
* **Exchanges** create the replacement order when the goods come back, through
  ``create_order`` in the same transaction (free of charge, allowed to backorder), so it is
  reserved, picked and shipped like any other order.
* **Locks** are taken RMA row → order row → order lines → stock rows in every function, so
  concurrent after-sales actions cannot deadlock each other or an order transition.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from core import audit, events, kits, notify, refdata, stock
from core.db import rowcount, unit_of_work
from core.domain import returns
from core.domain.returns import (
    CONDITIONS,
    EVENTS,
    KINDS,
    OPEN_STATUSES,
    PERMISSION_FOR_TARGET,
    REASON_CODES,
    RESOLUTIONS,
    STATUSES,
    ZERO,
)
from core.errors import (
    Conflict,
    FieldIssue,
    IllegalTransition,
    Message,
    OMSError,
    Refused,
    StaleVersion,
    ValidationError,
    stored,
)
from core.models import (
    Order,
    OrderEvent,
    OrderLine,
    Product,
    Refund,
    Return,
    ReturnLine,
    RMAEvent,
)
from core.numbering import next_number
from core.permissions import SYSTEM, Actor, require
from core.services import payments, webhook_events
from core.services import return_policy as policy
from core.services import rma_records as records
from core.services.orders import LineInput, OrderInput, create_order, lock_for_arrival, reserve_backorders
from core.timeutil import to_local, utcnow

# The rules' enums and tables are re-exported: pages, tests and the CLI read them from here.
__all__ = [
    "CONDITIONS", "DEFAULT_REFUND_APPROVAL", "EVENTS", "KINDS", "MAX_NOTE", "OPEN_STATUSES",
    "PERMISSION_FOR_TARGET", "REASON_CODES", "RESOLUTIONS", "STATUSES", "ZERO", "Inspection", "InspectionResult",
    "PolicyViolation", "RMALine", "RMARequest", "RMAResult", "RMAValidationError", "RefundResult",
    "TransitionResult", "decide_refund", "inspect_rma", "open_rma", "refund_rma", "transition_rma",
]
DEFAULT_REFUND_APPROVAL = "1000.00"
MAX_NOTE = 2000
# RMA timeline events an integration hears of (core.events), and their webhook names
WEBHOOK_EVENTS = {"opened": "return.opened", "received": "return.received", "refunded": "return.refunded"}


class PolicyViolation(OMSError):
    """The request breaks the return policy; a manager may override it (recorded).

    The key names what was broken (the window, the exchange value, or both) so the page can
    say it in the user's language; ``params`` carry the figures.
    """

    key = "error.rma_policy"

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message, **params)
        window, value = "deadline" in params, "replacement_value" in params
        self.key = "error.rma_policy" if window and value else "error.rma_window" if window else "error.rma_value"


class RMAValidationError(ValidationError):
    """Bad RMA input (which line, which field, why); nothing was written."""

    key = "error.rma_validation"


@dataclass(frozen=True)
class RMALine:
    """One order line to return: its line number on the order and how many units."""

    line_no: int
    qty: int
    replacement_sku: str | None = None  # exchange only; None → the same SKU


@dataclass(frozen=True)
class RMARequest:
    order_id: int
    kind: str
    reason_code: str
    lines: tuple[RMALine, ...]
    note: str | None = None
    override: bool = False  # open despite a policy breach (needs rma.override and a note)


@dataclass(frozen=True)
class Inspection:
    """The QC result of one RMA line: units fit to sell again go to ``warehouse``; the rest
    are written off there with ``damage_reason``."""

    line_no: int
    restock_qty: int
    warehouse: str
    damage_reason: str | None = None


@dataclass(frozen=True)
class RMAResult:
    id: int
    number: str
    status: str
    computed_refund: Decimal
    override: bool


@dataclass(frozen=True)
class TransitionResult:
    number: str
    status: str
    replacement_number: str | None = None


@dataclass(frozen=True)
class InspectionResult:
    number: str
    restocked: int
    written_off: int
    released_orders: tuple[str, ...]


@dataclass(frozen=True)
class RefundResult:
    number: str
    amount: Decimal
    computed: Decimal
    payment_status: str
    pending: bool = False  # stored as a request: a second person must approve it (decide_refund)


# --- writing helpers -------------------------------------------------------------------------


def _advance(session: Session, rma: Any, to_status: str, **values: Any) -> None:
    """Set the RMA's status only if it is still what the caller saw (and lock its row)."""
    result = session.execute(update(Return).where(Return.id == rma.id, Return.status == rma.status)
                             .values(status=to_status, **values))
    if rowcount(result) != 1:
        raise StaleVersion(f"RMA {rma.number} was changed by someone else; reload and try again",
                           number=rma.number)


def _touch_order(session: Session, order_id: int, **values: Any) -> None:
    """Bump the order's version (it changed: returned quantities, payment) and lock its row."""
    session.execute(update(Order).where(Order.id == order_id)
                    .values(version=Order.version + 1, updated_at=utcnow(), **values))


def _order_event(session: Session, order: Any, actor: Actor, note: Message) -> None:
    """A line on the order's timeline about one of its RMAs (a message code, core.errors.stored)."""
    session.execute(insert(OrderEvent).values(order_id=order.id, at=utcnow(), actor=actor.username,
                                              from_status=order.status, to_status=order.status,
                                              **stored("note", note)))


def _record(session: Session, rma: Any, order: Any, actor: Actor, event: str, from_status: str | None,
            to_status: str, note: str | None = None, payload: dict[str, Any] | None = None) -> None:
    """Timeline row, the customer's message (if the event is one they see), the integrations'
    webhook (opened, received, refunded) and the audit row."""
    session.execute(insert(RMAEvent).values(return_id=rma.id, at=utcnow(), actor=actor.username, event=event,
                                            from_status=from_status, to_status=to_status, note=note))
    if event in returns.CUSTOMER_EVENTS:
        notify.queue(session, event=f"rma.{event}", order_id=order.id, phone=order.ship_phone, email=order.email,
                     payload={"rma": rma.number, "order": order.number, "kind": rma.kind, "status": to_status,
                              **(payload or {})})
    if event in WEBHOOK_EVENTS:
        extra = {"refund": {"amount": events.amount((payload or {}).get("amount")),
                            "payment_status": (payload or {}).get("payment_status")}} if event == "refunded" else None
        webhook_events.publish_return(session, WEBHOOK_EVENTS[event], rma, to_status, order,
                                      records.rma_lines(session, rma.id), extra)
    audit.record(session, actor, f"rma.{event}", "rma", rma.number,
                 before=None if from_status is None else {"status": from_status},
                 after={"status": to_status, "note": note, **(payload or {})})


def _release_claims(session: Session, rma_id: int) -> None:
    """Give a rejected/cancelled RMA's quantities back to the order lines."""
    for ln in sorted(records.rma_lines(session, rma_id), key=lambda r: r.order_line_id):
        session.execute(update(OrderLine).where(OrderLine.id == ln.order_line_id)
                        .values(qty_returned=OrderLine.qty_returned - ln.qty))


def _clean_note(note: str | None, issues: list[FieldIssue], limit: int = MAX_NOTE, name: str = "note") -> str | None:
    text = (note or "").strip()
    if len(text) > limit:
        issues.append(FieldIssue(name, "issue.too_long", value=len(text), params={"n": limit}))
    return text or None


# --- open ------------------------------------------------------------------------------------


def _validate_request(session: Session, req: RMARequest, order: Any, lines: dict[int, Any],
                      issues: list[FieldIssue]) -> dict[int, Any]:
    """Load the replacements an exchange asks for and check the request; returns
    {line_no: replacement product row} for exchanges."""
    wanted = {returns.replacement_sku(ln, lines) for ln in req.lines} if req.kind == "exchange" else set()
    products = {r.sku: r for r in session.execute(
        select(Product.id, Product.sku, Product.unit_price, Product.active).where(Product.sku.in_(sorted(wanted))))}
    replacements, found = returns.request_issues(order.number, req.kind, req.reason_code, order.payment_status,
                                                 req.lines, lines, products)
    issues += found
    return replacements


def _breaches(req: RMARequest, order: Any, rule: policy.ReturnPolicy, paid_value: Decimal,
              replacements: dict[int, Any]) -> tuple[list[str], dict[str, Any]]:
    """What in this request the policy does not allow without a manager: (English reasons,
    parameters for the translated message)."""
    value = returns.exchange_value(replacements, req.lines) if req.kind == "exchange" else ZERO
    broken = returns.policy_breaches(in_window=rule.within_window(), kind=req.kind, replacement_value=value,
                                     paid=paid_value)
    found: list[str] = []
    params: dict[str, Any] = {}
    if "window" in broken:
        assert rule.delivered_at is not None and rule.deadline is not None
        deadline = to_local(rule.deadline)
        assert deadline is not None
        params.update(days=rule.window_days, deadline=f"{deadline:%Y-%m-%d}")
        found.append(f"outside the {rule.window_days}-day return window of {order.channel_name} "
                     f"(delivered {rule.delivered_at:%Y-%m-%d}, deadline {deadline:%Y-%m-%d})")
    if "value" in broken:
        params.update(replacement_value=str(value), paid=str(paid_value))
        found.append(f"the replacement is worth {value}, more than the {paid_value} paid for the returned units")
    return found, params


def _kits_as_components(session: Session, req: RMARequest) -> RMARequest:
    """A request naming a kit line (what the customer bought) returns its components: n kits →
    n × units per kit of each component line, which is what is restocked and refunded. (An
    exchange names the lines it swaps, components included, since a replacement is one SKU.)"""
    parts = kits.kit_line_parts(session, req.order_id)
    if not any(ln.line_no in parts for ln in req.lines):
        return req
    units: dict[int, RMALine] = {}
    for ln in req.lines:
        whole_kit = parts.get(ln.line_no) if ln.replacement_sku is None else None
        for line_no, per_kit in whole_kit or [(ln.line_no, 1)]:
            qty = ln.qty * per_kit
            before = units.get(line_no)
            units[line_no] = RMALine(line_no, qty + (before.qty if before else 0), ln.replacement_sku)
    return dataclasses.replace(req, lines=tuple(units.values()))


@unit_of_work
def open_rma(session: Session, req: RMARequest, actor: Actor) -> RMAResult:
    """Open an RMA for some units of a shipped order.

    Refuses (writing nothing) bad input line by line, more units than shipped minus already
    returned, and — unless ``override`` by a manager with a note — a request outside the
    channel's return window or an exchange for something worth more than what was paid.
    """
    require(actor, "rma.create")
    order = records.order_facts(session, req.order_id)
    returns.check_returnable_order(order.number, order.status)
    _touch_order(session, order.id)  # lock the order first: claims below are read after the lock
    lines = records.order_lines(session, order.id)
    req = _kits_as_components(session, req)
    issues: list[FieldIssue] = []
    note = _clean_note(req.note, issues)
    replacements = _validate_request(session, req, order, lines, issues)
    if issues:
        raise RMAValidationError(issues)
    rule = policy.policy_for(session, order.return_window_days, order.delivered_at)
    paid, shipping_paid = records.paid_by_line(order, lines)
    amounts = {ln.line_no: returns.refund_for_units(paid[lines[ln.line_no].id], lines[ln.line_no].qty,
                                                    lines[ln.line_no].qty_returned, ln.qty) for ln in req.lines}
    breaches, figures = _breaches(req, order, rule, sum(amounts.values(), ZERO), replacements)
    if breaches and not req.override:
        raise PolicyViolation("; ".join(breaches), number=order.number, **figures)
    if breaches:
        require(actor, "rma.override")
        if not note:
            raise RMAValidationError([FieldIssue("note", "issue.rma_override_note")])
    for ln in sorted(req.lines, key=lambda x: lines[x.line_no].id):
        line = lines[ln.line_no]
        claimed = session.execute(
            update(OrderLine).where(OrderLine.id == line.id, OrderLine.qty_shipped - OrderLine.qty_returned >= ln.qty)
            .values(qty_returned=OrderLine.qty_returned + ln.qty))
        if rowcount(claimed) != 1:  # only possible if the lock above did not hold (it does)
            raise RMAValidationError([FieldIssue("qty", "issue.rma_claimed", ln.line_no, ln.qty)])
    completes = returns.completes_order(lines.items(), {ln.line_no: ln.qty for ln in req.lines})
    goods_refund = returns.refunds_goods(req.kind)
    shipping = returns.shipping_refund(rule.refund_shipping, req.reason_code, req.kind, completes, shipping_paid)
    number = next_number(session, "RMA")
    now = utcnow()
    rma_id = session.execute(insert(Return).values(
        number=number, order_id=order.id, kind=req.kind, status="requested", reason_code=req.reason_code,
        resolution=None, refund_amount=ZERO, shipping_refund=shipping, note=note,
        policy_override_by=actor.username if breaches else None, replacement_order_id=None,
        created_at=now, created_by=actor.username, closed_at=None,
    ).returning(Return.id)).scalar_one()
    session.execute(insert(ReturnLine), [
        dict(return_id=rma_id, order_line_id=lines[ln.line_no].id, qty=ln.qty, condition=None, restocked_qty=0,
             warehouse_id=None, refund_amount=amounts[ln.line_no] if goods_refund else ZERO,
             replacement_product_id=replacements[ln.line_no].id if ln.line_no in replacements else None,
             damage_reason=None)
        for ln in req.lines
    ])
    computed = returns.computed_refund(req.kind, amounts.values(), shipping)
    rma = records.rma_row(session, rma_id)
    units = ", ".join(f"{lines[ln.line_no].sku}×{ln.qty}" for ln in req.lines)
    _order_event(session, order, actor, Message("note.rma_opened", {
        "rma": number, "kind": {"key": f"rma_kind.{req.kind}"}, "lines": units,
        "reason": {"key": f"rma_reason.{req.reason_code}"}}))
    override_note = f"policy override by {actor.username}: {'; '.join(breaches)}" if breaches else None
    _record(session, rma, order, actor, "opened", None, "requested",
            note="\n".join(x for x in (note, override_note) if x) or None,
            payload={"computed_refund": str(computed), "lines": units, "reason": req.reason_code,
                     "override": bool(breaches)})
    return RMAResult(rma_id, number, "requested", computed, bool(breaches))


# --- state changes ---------------------------------------------------------------------------


def _create_replacement(session: Session, rma: Any, order: Any, actor: Actor) -> Any:
    """The exchange's replacement order: same customer and address, free of charge, allowed to
    wait for stock. Created as SYSTEM (like a backorder release): the policy creates it, and a
    warehouse clerk receiving the parcel may not create orders."""
    replacement_skus = dict(session.execute(
        select(ReturnLine.id, Product.sku).join(Product, Product.id == ReturnLine.replacement_product_id)
        .where(ReturnLine.return_id == rma.id)).all())
    lines = [LineInput(sku=replacement_skus.get(ln.id, ln.sku), qty=ln.qty, unit_price=ZERO)
             for ln in records.rma_lines(session, rma.id)]
    data = OrderInput(
        channel=order.channel, lines=lines, customer_id=order.customer_id, walk_in=order.customer_id is None,
        customer_name=order.ship_name or "",
        phone=order.ship_phone, province=order.ship_province, city=order.ship_city, district=order.ship_district,
        address=order.ship_address, payment_method=order.payment_method, payment_status="paid",
        delivery_method=order.delivery_method, priority=order.priority, allow_backorder=True,
        require_address=False, note=f"exchange {rma.number} for {order.number} (received by {actor.username})",
    )
    return create_order(data, SYSTEM, session=session)


@unit_of_work
def transition_rma(session: Session, rma_id: int, to_status: str, actor: Actor, *,
                   expected_status: str | None = None, note: str | None = None) -> TransitionResult:
    """Approve, reject, cancel, receive or close an RMA (inspection has :func:`inspect_rma`).

    ``expected_status`` is the status the user was looking at: if someone else moved the RMA
    meanwhile, the change is refused (StaleVersion) instead of applied twice. Rejecting needs
    a note (the customer is told why). Whoever opened the RMA cannot approve it. Receiving an exchange creates its replacement order.
    """
    require(actor, returns.target_permission(to_status))
    rma = records.rma_row(session, rma_id)
    if expected_status is not None and expected_status != rma.status:
        raise StaleVersion(f"RMA {rma.number} was changed by someone else; reload and try again", number=rma.number)
    state = returns.RMAState(rma.number, rma.kind, rma.status, rma.created_by)
    returns.check_rma_transition(state, to_status, actor.username)
    issues: list[FieldIssue] = []
    clean = _clean_note(note, issues)
    if to_status == "rejected" and not clean:
        issues.append(FieldIssue("note", "issue.rma_reject_note"))
    if issues:
        raise RMAValidationError(issues)
    values: dict[str, Any] = {}
    refunded = to_status == "closed" and session.execute(
        select(Refund.id).where(Refund.return_id == rma.id)).first() is not None
    resolution = returns.resolution(state, to_status, refunded)
    if resolution is not None:
        values.update(resolution=resolution, closed_at=utcnow())
    _advance(session, rma, to_status, **values)
    order = records.order_facts(session, rma.order_id)
    replacement = None
    if to_status in ("rejected", "cancelled"):
        _touch_order(session, order.id)
        _release_claims(session, rma.id)
        _order_event(session, order, actor, Message("note.rma_released", {
            "rma": rma.number, "status": {"key": f"rma_status.{to_status}"}}))
    elif to_status == "received" and rma.kind == "exchange":
        replacement = _create_replacement(session, rma, order, actor)
        session.execute(update(Return).where(Return.id == rma.id).values(replacement_order_id=replacement.id))
        _order_event(session, order, actor, Message("note.rma_replacement", {
            "rma": rma.number, "order": replacement.number}))
    payload = {"replacement": replacement.number} if replacement else {}
    if "resolution" in values:
        payload["resolution"] = values["resolution"]
    _record(session, rma, order, actor, to_status, rma.status, to_status, clean, payload)
    return TransitionResult(rma.number, to_status, replacement.number if replacement else None)


@unit_of_work
def inspect_rma(session: Session, rma_id: int, results: list[Inspection], actor: Actor, *,
                expected_status: str | None = None, note: str | None = None) -> InspectionResult:
    """Record the QC result of every line of a received RMA and move the goods in the ledger.

    Resellable units: ``return_restock`` into the chosen warehouse, then waiting backorders
    there are re-reserved. Damaged units: ``return_restock`` then ``write_off`` with the
    reason (they did come back; the ledger shows them going into the bin).
    """
    require(actor, "rma.receive")
    rma = records.rma_row(session, rma_id)
    if expected_status is not None and expected_status != rma.status:
        raise StaleVersion(f"RMA {rma.number} was changed by someone else; reload and try again", number=rma.number)
    if rma.status != "received":
        raise IllegalTransition.coded("rma_refusal.not_received", number=rma.number,
                                      status={"key": f"rma_status.{rma.status}"})
    rma_lines = records.rma_lines(session, rma.id)
    warehouses = {code: wh.id for code, wh in refdata.snapshot(session).warehouses.items()}
    by_line, issues = returns.inspection_issues(rma_lines, results, warehouses)
    clean = _clean_note(note, issues)
    if issues:
        raise RMAValidationError(issues)
    _advance(session, rma, "inspected")
    moves = sorted(rma_lines, key=lambda ln: (ln.product_id, warehouses[by_line[ln.line_no].warehouse], ln.id))
    restocked_by_wh: dict[int, set[int]] = defaultdict(set)
    restocked = written_off = 0
    lock_for_arrival(session, [(ln.product_id, warehouses[by_line[ln.line_no].warehouse]) for ln in moves])
    for ln in moves:
        res = by_line[ln.line_no]
        wh_id, damaged = warehouses[res.warehouse], returns.write_off_units(ln.qty, res.restock_qty)
        reason = (res.damage_reason or "").strip() or None
        ref = {"product_id": ln.product_id, "warehouse_id": wh_id, "actor": actor.username, "ref_type": "return",
               "ref_id": rma.id}
        if res.restock_qty:
            stock.post_movement(session, qty_delta=res.restock_qty, kind="return_restock",
                                reason=f"{rma.number} resellable", **ref)
            restocked_by_wh[wh_id].add(ln.product_id)
        if damaged:
            stock.post_movement(session, qty_delta=damaged, kind="return_restock",
                                reason=f"{rma.number} damaged, written off below", **ref)
            if not stock.post_movement(session, qty_delta=-damaged, kind="write_off",
                                       reason=f"{rma.number}: {reason}"[:200], **ref):
                raise IllegalTransition.coded("rma_refusal.stock_changed", sku=ln.sku)
        session.execute(update(ReturnLine).where(ReturnLine.id == ln.id).values(
            condition=returns.condition(ln.qty, res.restock_qty), restocked_qty=res.restock_qty, warehouse_id=wh_id,
            damage_reason=reason if damaged else None, restocked_at=utcnow() if res.restock_qty else None))
        restocked += res.restock_qty
        written_off += damaged
    released: list[str] = []
    for wh_id in sorted(restocked_by_wh):
        released += reserve_backorders(session, sorted(restocked_by_wh[wh_id]), wh_id, actor)
    order = records.order_facts(session, rma.order_id)
    summary = f"restocked {restocked}, written off {written_off}"
    _record(session, rma, order, actor, "inspected", "received", "inspected",
            "\n".join(x for x in (summary, clean) if x),
            {"restocked": restocked, "written_off": written_off, "released_orders": released})
    return InspectionResult(rma.number, restocked, written_off, tuple(released))


# --- refunds ---------------------------------------------------------------------------------


def _refund_approval(session: Session, order: Any, value: Decimal) -> dict[str, Any] | None:
    """Why this refund needs a second person, or None: above the shop's
    ``refund_approval.amount`` setting, or on an order that came from outside."""
    limit = Decimal(str(refdata.snapshot(session).setting("refund_approval", "amount", DEFAULT_REFUND_APPROVAL)))
    return returns.refund_approval_reason(value, limit, order.external_ref)


def _pay(session: Session, rma: Any, order: Any, actor: Actor, value: Decimal, computed: Decimal,
         note: str | None, payload: dict[str, Any]) -> RefundResult:
    """Write the refund and its refund payment row (which derives the order's payment status),
    the RMA's amount, timeline and audit."""
    now = utcnow()
    refund_id = session.execute(insert(Refund).values(
        return_id=rma.id, order_id=order.id, amount=value, computed_amount=computed, method=order.payment_method,
        at=now, actor=actor.username, note=note).returning(Refund.id)).scalar_one()
    values: dict[str, Any] = {"refund_amount": value, "refund_request_amount": None, "refund_request_by": None,
                              "refund_request_at": None, "refund_request_note": None}
    if rma.status == "closed":
        values["resolution"] = "refunded"
    session.execute(update(Return).where(Return.id == rma.id).values(**values))
    payment_status = payments.write_row(session, order_id=order.id, kind="refund", amount=value,
                                        method=order.payment_method, at=now, created_by=actor.username,
                                        refund_id=refund_id)
    _order_event(session, order, actor, Message("note.rma_refunded", {
        "rma": rma.number, "amount": str(value), "payment_status": {"key": f"payment_status.{payment_status}"}}))
    _record(session, rma, order, actor, "refunded", rma.status, rma.status, note,
            {"amount": str(value), "computed": str(computed), "payment_status": payment_status, **payload})
    return RefundResult(rma.number, value, computed, payment_status)


def _lock_for_refund(session: Session, rma_id: int, expected_status: str | None) -> tuple[Any, Any]:
    """The RMA and its order, locked in the usual order (RMA row, then order row), refundable."""
    rma = records.rma_row(session, rma_id)
    if expected_status is not None and expected_status != rma.status:
        raise StaleVersion(f"RMA {rma.number} was changed by someone else; reload and try again", number=rma.number)
    returns.check_refundable_status(rma.number, rma.kind, rma.status)
    _advance(session, rma, rma.status)  # lock the RMA row before the order row
    _touch_order(session, rma.order_id)
    order = records.order_facts(session, rma.order_id)  # read after the lock: totals of concurrent refunds are in
    if session.execute(select(Refund.id).where(Refund.return_id == rma.id)).first() is not None:
        raise Conflict.coded("error.rma_refunded", number=rma.number)
    return rma, order


@unit_of_work
def refund_rma(session: Session, rma_id: int, actor: Actor, *, amount: Decimal | str | float | None = None,
               note: str | None = None, expected_status: str | None = None) -> RefundResult:
    """Pay back an RMA once: ``amount`` defaults to the computed refund.

    Service staff may refund up to the computed amount; a manager may go above it (with a
    note), never above what is left of the order total. The order's payment status becomes
    ``refunded`` when everything paid has been refunded, else ``partially_refunded``.

    A refund above the ``refund_approval.amount`` setting, or on an order that came from
    outside, is not paid: it is stored as a request (``pending=True`` in the result) that
    someone other than the requester approves or rejects with :func:`decide_refund`.
    """
    require(actor, "rma.refund")
    rma, order = _lock_for_refund(session, rma_id, expected_status)
    if rma.refund_request_by is not None:
        raise Refused("rb.refund_pending", number=rma.number, amount=str(rma.refund_request_amount),
                      by=rma.refund_request_by)
    computed = records.computed_refund(session, rma)
    refunded_before = records.refunded_on_order(session, order.id)
    value, issues = returns.parse_refund_amount(amount, computed)
    clean = _clean_note(note, issues)
    returns.check_refund(order.payment_status, computed, order.total - refunded_before, value, actor, clean, issues)
    if issues:
        raise RMAValidationError(issues)
    why = _refund_approval(session, order, value)
    if why is None:
        return _pay(session, rma, order, actor, value, computed, clean, {})
    session.execute(update(Return).where(Return.id == rma.id).values(
        refund_request_amount=value, refund_request_by=actor.username, refund_request_at=utcnow(),
        refund_request_note=clean))
    _record(session, rma, order, actor, "refund_requested", rma.status, rma.status, clean,
            {"amount": str(value), "computed": str(computed), "why": why["key"]})
    return RefundResult(rma.number, value, computed, order.payment_status, pending=True)


@unit_of_work
def decide_refund(session: Session, rma_id: int, approve: bool, actor: Actor, *, note: str | None = None,
                  expected_status: str | None = None) -> RefundResult:
    """Approve (pay now) or reject a refund waiting for a second person.

    The approver must not be the requester (the requester may reject, i.e. withdraw, it). The
    rules are checked again at approval — another refund may have been paid meanwhile.
    """
    require(actor, "rma.decide")
    rma, order = _lock_for_refund(session, rma_id, expected_status)
    returns.check_refund_decision(rma.number, rma.refund_request_by, approve, actor.username)
    issues: list[FieldIssue] = []
    clean = _clean_note(note, issues)
    computed = records.computed_refund(session, rma)
    refunded_before = records.refunded_on_order(session, order.id)
    value = rma.refund_request_amount
    if approve:
        returns.check_refund(order.payment_status, computed, order.total - refunded_before, value, None,
                             rma.refund_request_note, issues)
    if issues:
        raise RMAValidationError(issues)
    payload = {"requested_by": rma.refund_request_by, "approved_by": actor.username}
    if approve:
        return _pay(session, rma, order, actor, value, computed, rma.refund_request_note, payload)
    session.execute(update(Return).where(Return.id == rma.id).values(
        refund_request_amount=None, refund_request_by=None, refund_request_at=None, refund_request_note=None))
    _record(session, rma, order, actor, "refund_rejected", rma.status, rma.status, clean,
            {"amount": str(value), "requested_by": rma.refund_request_by})
    return RefundResult(rma.number, ZERO, computed, order.payment_status)
