"""The order state machine: which status an order may move to, who may move it, and what a
move implies — decided on plain values, so every door (the order page, the pack bench, bulk
shipping, the importer's timelines) obeys one table and the rules are testable without a
database.

A service loads the order (:class:`OrderState`), asks :func:`plan_transition` — which refuses
an illegal edge or a reviewer approving their own order — and carries out the returned
:class:`TransitionPlan`: the stock effect (reserve what is missing, release everything, ship
the reservations), the timestamp column to stamp and whether the customer is told. Checks that
need counts (units scanned at the pack bench, a line's reservation) take the counts as
arguments.

Errors are raised with the same classes and texts the services always raised, so callers and
pages see no difference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from core.domain.rulebook import STATUSES
from core.errors import FieldIssue, IllegalTransition, PackNotVerified, Refused, ValidationError
from core.permissions import Actor

TRANSITIONS: dict[str, frozenset[str]] = {
    "pending_review": frozenset({"confirmed", "on_hold", "cancelled"}),
    "confirmed": frozenset({"picking", "on_hold", "cancelled"}),
    "picking": frozenset({"packed", "confirmed", "cancelled"}),
    "packed": frozenset({"shipped", "cancelled"}),
    "shipped": frozenset({"delivered"}),
    "delivered": frozenset({"completed"}),
    "completed": frozenset(),
    "on_hold": frozenset({"pending_review", "confirmed", "cancelled"}),
    "backordered": frozenset({"confirmed", "on_hold", "cancelled"}),
    "cancelled": frozenset(),
}

# The permission each target needs. ``backordered`` is missing on purpose: only the system sets
# it (order entry without stock), nobody moves an order there by hand.
PERMISSION_FOR_TARGET: dict[str, str] = {
    "pending_review": "order.review",
    "confirmed": "order.review",
    "on_hold": "order.review",
    "picking": "order.fulfil",
    "packed": "order.fulfil",
    "shipped": "order.fulfil",
    "delivered": "order.deliver",
    "completed": "order.complete",
    "cancelled": "order.cancel",
}

# Edges whose permission is not their target's: putting an order back in the queue from picking
# (the pick came back short) is a warehouse step, not a review.
PERMISSION_FOR_EDGE: dict[tuple[str, str], str] = {("picking", "confirmed"): "order.fulfil"}

# Interceptions (拦截): an order with an open hold goes no further on the floor until released.
HOLD_REASONS = ("refund_requested", "address_changed", "customer_request", "other")
HOLD_STOPS = frozenset({"picking", "packed", "shipped"})
# an address changed once the pick has started: the parcel may already carry the old one
HOLD_ON_ADDRESS_CHANGE = frozenset({"picking", "packed"})

TIMESTAMP_FOR_TARGET: dict[str, str] = {
    "confirmed": "approved_at",
    "shipped": "shipped_at",
    "delivered": "delivered_at",
    "completed": "completed_at",
    "cancelled": "cancelled_at",
}

# Moves the customer hears about (an SMS/e-mail row in the outbox); the warehouse's own steps
# (picking, packed) and the review desk's (on_hold) are internal.
CUSTOMER_VISIBLE_STATUSES = frozenset({"confirmed", "shipped", "delivered", "cancelled"})

StockEffect = Literal["reserve_missing", "release_all", "ship_all"]
# Confirming reserves what an order still lacks (a backorder, an order put on hold before its
# stock came); cancelling before shipment gives every reservation back; shipping turns the
# reservations into ledger shipments.
STOCK_EFFECT_OF_TARGET: dict[str, StockEffect] = {
    "confirmed": "reserve_missing",
    "cancelled": "release_all",
    "shipped": "ship_all",
}

# An order that left the warehouse (or was cancelled) keeps its header as it was.
EDIT_LOCKED_STATUSES = ("shipped", "delivered", "completed", "cancelled")
EDITABLE_FIELDS = ("ship_name", "ship_phone", "ship_province", "ship_city", "ship_district", "ship_address",
                   "note", "priority", "payment_method", "delivery_method")

# The warehouse floor: an order moves to another warehouse only before picking starts, and
# the pack bench takes scans of confirmed (the first scan starts picking) or picking orders.
MOVABLE_STATUSES = ("pending_review", "confirmed", "on_hold", "backordered")
SCANNABLE_STATUSES = ("confirmed", "picking")


@dataclass(frozen=True)
class OrderState:
    """What the state machine needs to know about one order."""

    number: str
    status: str
    created_by: str | None = None


@dataclass(frozen=True)
class TransitionPlan:
    """What moving an order from ``from_status`` to ``to_status`` implies."""

    from_status: str
    to_status: str
    stock: StockEffect | None
    timestamp: str | None  # the column stamped with the time of the move
    notify_customer: bool
    needs_pack_scan: bool  # packing by hand: every unit must have been scanned (if the shop says so)
    needs_shipment: bool  # a carrier and tracking number go with the move (see shipment_fields)


def target_permission(to_status: str) -> str:
    """The permission a move to ``to_status`` needs; refuses a status nobody may set by hand."""
    if to_status not in PERMISSION_FOR_TARGET:  # unknown, or only set by the system (backordered)
        raise IllegalTransition(f"an order cannot be moved to {to_status!r}", to_status=to_status)
    return PERMISSION_FOR_TARGET[to_status]


def edge_permission(from_status: str, to_status: str) -> str:
    """The permission the move ``from_status`` → ``to_status`` needs."""
    return PERMISSION_FOR_EDGE.get((from_status, to_status)) or target_permission(to_status)


def approves_own_order(order: OrderState, to_status: str, username: str) -> bool:
    """Separation of duties: a review is a second person's look, so whoever created an order
    waiting for review may not confirm it (they may still hold or cancel it)."""
    return order.status == "pending_review" and to_status == "confirmed" and order.created_by == username


def plan_transition(order: OrderState, to_status: str, actor: Actor) -> TransitionPlan:
    """The plan for moving ``order`` to ``to_status`` as ``actor``, or the refusal.

    Refuses (IllegalTransition) a target nobody may set and an edge :data:`TRANSITIONS` does not
    have, and (Refused ``rb.own_request``) the creator approving their own order. The actor's
    permission for the edge is the service's check (:func:`edge_permission`), made as soon as
    the order's current status is known.
    """
    target_permission(to_status)
    if to_status not in TRANSITIONS[order.status]:
        raise IllegalTransition(f"order {order.number} cannot go from {order.status} to {to_status}",
                                number=order.number, from_status=order.status, to_status=to_status)
    if approves_own_order(order, to_status, actor.username):
        raise Refused("rb.own_request", reference=order.number)
    return TransitionPlan(order.status, to_status, STOCK_EFFECT_OF_TARGET.get(to_status),
                          TIMESTAMP_FOR_TARGET.get(to_status), to_status in CUSTOMER_VISIBLE_STATUSES,
                          needs_pack_scan=to_status == "packed", needs_shipment=to_status == "shipped")


def next_states(order: OrderState, actor: Actor, *, packing_by_scan: bool) -> tuple[str, ...]:
    """The statuses ``actor`` may move ``order`` to now, in :data:`STATUSES` order — what the
    order page offers. With ``packing_by_scan`` (the shop's setting) *packed* is never offered:
    only the pack bench's last good scan packs an order."""
    return tuple(s for s in STATUSES if s in TRANSITIONS[order.status] and actor.can(edge_permission(order.status, s))
                 and not (s == "packed" and packing_by_scan)
                 and not approves_own_order(order, s, actor.username))


# --- what a move needs -------------------------------------------------------------------------


def pack_verified(scanned: int, units: int) -> bool:
    """Every unit of the order has been scanned at the pack bench."""
    return scanned >= units


def check_pack_verified(number: str, scanned: int, units: int) -> None:
    """Refuse packing by hand while units are unscanned — skipping the scan is how wrong items
    leave the warehouse. The pack bench's last good scan passes this check by construction."""
    if not pack_verified(scanned, units):
        raise PackNotVerified(f"order {number}: {scanned} of {units} units verified by scan; "
                              f"scan the rest at the pack bench", number=number, scanned=scanned, units=units)


def needs_tracking(delivery_method: str | None) -> bool:
    """A parcel needs a carrier's tracking number; a customer collecting in store does not."""
    return delivery_method != "pickup"


def shipment_fields(delivery_method: str | None, carrier: str | None, tracking_no: str | None) -> dict[str, Any]:
    """The ``carrier`` and ``tracking_no`` stored with a shipment (trimmed, empty → None);
    refuses a parcel without a tracking number."""
    tracking = (tracking_no or "").strip()
    if not tracking and needs_tracking(delivery_method):
        raise ValidationError([FieldIssue("tracking_no", "issue.required")])
    return {"carrier": (carrier or "").strip() or None, "tracking_no": tracking or None}


def shipping_issues(number: str, status: str, delivery_method: str | None, carrier: str, tracking: str,
                    row: int | None) -> list[FieldIssue]:
    """What stops one order from shipping at the warehouse desk (one by one or from a carrier's
    CSV): it must be packed and, unless picked up in store, carry a carrier and a tracking
    number."""
    issues = []
    if status != "packed":
        issues.append(FieldIssue("order", "inv_issue.not_shippable", row, number, params={"number": number, "status": status}))
    if needs_tracking(delivery_method):
        if not carrier:
            issues.append(FieldIssue("carrier", "issue.required", row))
        if not tracking:
            issues.append(FieldIssue("tracking_no", "issue.required", row))
    return issues


def check_shippable(number: str, status: str) -> None:
    """The state machine's refusal to ship an order that is not packed, told the packer's way."""
    if status != "packed":
        raise IllegalTransition(f"order {number} is {status}; only packed orders can ship",
                                number=number, from_status=status, to_status="shipped")


def missing_units(qty: int, qty_reserved: int, qty_shipped: int) -> int:
    """Units of a line that confirming must still reserve (0 when it is covered)."""
    return max(qty - qty_reserved - qty_shipped, 0)


def units_to_ship(sku: str, qty: int, qty_reserved: int, qty_shipped: int) -> int:
    """The units a line ships: its whole reservation, which must cover everything not shipped yet."""
    if qty_shipped + qty_reserved != qty:
        raise IllegalTransition(f"line {sku} is not fully reserved; it cannot ship", sku=sku)
    return qty_reserved


# --- the floor and edits -------------------------------------------------------------------------


def check_movable(number: str, status: str) -> None:
    """An order (or some of its lines) may move to another warehouse only before picking."""
    if status not in MOVABLE_STATUSES:
        raise IllegalTransition(f"order {number} is {status}; only orders not yet picked can move",
                                number=number, from_status=status, to_status=status)


def check_scannable(number: str, status: str) -> None:
    """The pack bench verifies units only of orders being picked (or about to be)."""
    if status not in SCANNABLE_STATUSES:
        raise IllegalTransition(f"order {number} is {status}; only orders being picked can be packed",
                                number=number, from_status=status, to_status="packed")


def check_edit_fields(changes: Mapping[str, Any]) -> None:
    """Which header fields an edit may change at all (the values themselves pass the rulebook).

    The payment status is not editable: it changes only through payment and refund actions,
    so nobody can mark an order paid or refunded by typing it in.
    """
    if "payment_status" in changes:
        raise ValidationError([FieldIssue("payment_status", "rb.payment_status_locked",
                                          value=changes["payment_status"])])
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError([FieldIssue(f, "rb.not_editable") for f in sorted(unknown)])


def check_editable(number: str, status: str) -> None:
    """An order that has shipped or was cancelled keeps its header as it was."""
    if status in EDIT_LOCKED_STATUSES:
        raise IllegalTransition(f"order {number} is {status} and can no longer be edited", number=number)
