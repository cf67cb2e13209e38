"""Order lifecycle: the one transition function and header edits with optimistic locking.

The rules — allowed edges, who may move an order, what a move implies, which edits are
allowed — are :mod:`core.domain.order_flow`'s; this module loads the order, asks the domain
and writes (reservations, shipment, timeline, outbox, webhook events, audit)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from core import audit, events, notify, refdata, stock
from core.db import rowcount, unit_of_work
from core.domain import order_flow, rulebook
from core.errors import (
    IllegalTransition,
    InsufficientStock,
    Message,
    NotFound,
    Shortage,
    StaleVersion,
    ValidationError,
    stored,
)
from core.models import (
    Customer,
    Order,
    OrderEvent,
    OrderLine,
    PackScan,
    Product,
    Warehouse,
)
from core.models.personal import ADDRESS_PARTS, with_indexes
from core.permissions import Actor, require
from core.services import customers, merging, webhook_events
from core.services.orders import holds
from core.timeutil import utcnow

# --- transitions -----------------------------------------------------------------------------


def load_for_update(session: Session, order_id: int) -> Any:
    row = session.execute(
        select(Order.id, Order.number, Order.status, Order.version, Order.warehouse_id, Order.ship_phone,
               Order.created_by, Order.delivery_method, Order.channel_id, Customer.email)
        .outerjoin(Customer, Customer.id == Order.customer_id)
        .where(Order.id == order_id)
    ).first()
    if row is None:
        raise NotFound(f"no order {order_id}", order_id=order_id)
    return row


def bump_version(session: Session, order: Any, expected_version: int | None, values: dict[str, Any]) -> int:
    """Write ``values`` only if nobody changed the order since ``expected_version`` was read."""
    version = order.version if expected_version is None else expected_version
    result = session.execute(
        update(Order).where(Order.id == order.id, Order.version == version)
        .values(**with_indexes("orders", values), version=Order.version + 1, updated_at=utcnow())
    )
    if rowcount(result) != 1:
        raise StaleVersion(f"order {order.number} was changed by someone else; reload and try again",
                           number=order.number)
    return version + 1


def _lines(session: Session, order_id: int) -> list[Any]:
    return list(session.execute(
        select(OrderLine.id, OrderLine.product_id, OrderLine.warehouse_id, OrderLine.qty, OrderLine.qty_reserved,
               OrderLine.qty_shipped, Product.sku, Warehouse.code.label("warehouse"))
        .join(Product, Product.id == OrderLine.product_id)
        .join(Warehouse, Warehouse.id == OrderLine.warehouse_id)
        .where(OrderLine.order_id == order_id)
        .order_by(OrderLine.product_id, OrderLine.warehouse_id, OrderLine.id)
    ))


def _reserve_missing(session: Session, order_id: int) -> None:
    shortages = []
    for ln in _lines(session, order_id):
        missing = order_flow.missing_units(ln.qty, ln.qty_reserved, ln.qty_shipped)
        if missing == 0:
            continue
        if stock.reserve(session, ln.product_id, ln.warehouse_id, missing):
            session.execute(update(OrderLine).where(OrderLine.id == ln.id)
                            .values(qty_reserved=OrderLine.qty_reserved + missing))
        else:
            shortages.append(Shortage(ln.sku, ln.warehouse, missing,
                                      stock.available(session, ln.product_id, ln.warehouse_id)))
    if shortages:
        raise InsufficientStock(shortages)


def _release_all(session: Session, order_id: int) -> None:
    for ln in _lines(session, order_id):
        if ln.qty_reserved:
            stock.release(session, ln.product_id, ln.warehouse_id, ln.qty_reserved)
            session.execute(update(OrderLine).where(OrderLine.id == ln.id).values(qty_reserved=0))


def _ship_all(session: Session, order_id: int, number: str, actor: Actor) -> None:
    for ln in _lines(session, order_id):
        qty = order_flow.units_to_ship(ln.sku, ln.qty, ln.qty_reserved, ln.qty_shipped)
        ok = stock.post_movement(
            session, product_id=ln.product_id, warehouse_id=ln.warehouse_id, qty_delta=-qty, kind="shipment",
            actor=actor.username, reason=number, ref_type="order", ref_id=order_id, consume_reserved=True,
        )
        if not ok:
            raise IllegalTransition(f"stock for {ln.sku} in {ln.warehouse} no longer matches its reservation",
                                    sku=ln.sku)
        # the cost of goods is the product's cost now, kept on the line (a later cost change
        # leaves it); a line shipped in parts keeps the cost of its first shipment
        cost_now = select(Product.unit_cost).where(Product.id == ln.product_id).scalar_subquery()
        session.execute(update(OrderLine).where(OrderLine.id == ln.id)
                        .values(qty_shipped=OrderLine.qty_shipped + qty, qty_reserved=0,
                                unit_cost=func.coalesce(OrderLine.unit_cost, cost_now)))


def packing_requires_scan(session: Session) -> bool:
    """The shop's ``packing.require_scan`` setting (on unless an admin turned it off for a shop
    without scanners): then an order becomes *packed* only through the pack bench."""
    return bool(refdata.snapshot(session).setting("packing", "require_scan", True))


def _check_pack_verified(session: Session, order: Any) -> None:
    """Packing by hand needs every unit scanned, when the shop packs by scan."""
    if not packing_requires_scan(session):
        return
    units = session.execute(select(func.coalesce(func.sum(OrderLine.qty), 0))
                            .where(OrderLine.order_id == order.id)).scalar_one()
    scanned = session.execute(select(func.coalesce(func.sum(PackScan.qty), 0))
                              .where(PackScan.order_id == order.id)).scalar_one()
    order_flow.check_pack_verified(order.number, int(scanned), int(units))


@unit_of_work
def transition(
    session: Session,
    order_id: int,
    to_status: str,
    actor: Actor,
    *,
    expected_version: int | None = None,
    note: str | Message | None = None,
    carrier: str | None = None,
    tracking_no: str | None = None,
    with_group: bool = False,
) -> int:
    """The one door through which an order changes status. Returns the new version.

    An order of a merged shipment moves to picking or shipped only together with its group
    (``with_group``: the pick list, the wave, the pack bench and shipping move the whole group);
    alone it is refused, naming the order and the group (core.services.merging).

    Checks the edge and the role, applies the stock side effects (confirm reserves what is
    missing, cancel releases, ship turns reservations into ledger shipments), writes the
    timeline event and the audit row.
    """
    order_flow.target_permission(to_status)  # a status nobody may set by hand is refused before any read
    order = load_for_update(session, order_id)
    require(actor, order_flow.edge_permission(order.status, to_status))
    holds.check_not_held(session, order_id, order.number, to_status)
    if not with_group and to_status in merging.TOGETHER:
        merging.check_not_grouped(session, order_id, order.number)
    if expected_version is not None and expected_version != order.version:
        raise StaleVersion(f"order {order.number} was changed by someone else; reload and try again",
                           number=order.number)
    plan = order_flow.plan_transition(order_flow.OrderState(order.number, order.status, order.created_by),
                                      to_status, actor)
    if plan.needs_pack_scan:
        _check_pack_verified(session, order)
    values: dict[str, Any] = {"status": to_status}
    if plan.timestamp:
        values[plan.timestamp] = utcnow()
    if plan.needs_shipment:
        values.update(order_flow.shipment_fields(order.delivery_method, carrier, tracking_no))
    # Bump the version first: it locks the order row, so a concurrent change of the same
    # order fails here before touching stock (and stock rows are always locked after it).
    version = bump_version(session, order, order.version, values)
    if plan.stock == "reserve_missing":
        _reserve_missing(session, order_id)
    elif plan.stock == "release_all":
        _release_all(session, order_id)
    elif plan.stock == "ship_all":
        _ship_all(session, order_id, order.number, actor)
    if to_status == "cancelled" or (order.status == "picking" and to_status == "confirmed"):
        merging.leave_on_change(session, order_id, actor, "note.merge_left")  # no longer in its parcel
    session.execute(insert(OrderEvent).values(order_id=order_id, at=utcnow(), actor=actor.username,
                                              from_status=order.status, to_status=to_status, **stored("note", note)))
    if plan.notify_customer:
        notify.queue(session, event=f"order.{to_status}", order_id=order_id, phone=order.ship_phone, email=order.email,
                     payload={"number": order.number, "status": to_status, "carrier": values.get("carrier"),
                              "tracking_no": values.get("tracking_no")})
    if f"order.{to_status}" in events.EVENTS:  # confirmed, shipped (the write-back), delivered, cancelled
        webhook_events.publish_order(session, f"order.{to_status}", order_id, order.channel_id)
    audit.record(session, actor, f"order.{to_status}", "order", order.number,
                 before={"status": order.status, "version": order.version},
                 after={k: v for k, v in values.items()} | {"version": version})
    return version


@unit_of_work
def update_order(session: Session, order_id: int, changes: dict[str, Any], actor: Actor,
                 *, expected_version: int) -> int:
    """Edit header fields with optimistic locking: a stale ``expected_version`` is refused.

    Every value passes the order rulebook (enums, widths, priority range); which fields and
    which orders may be edited at all is :mod:`core.domain.order_flow`'s rule (never the
    payment status, never after shipping).
    """
    require(actor, "order.edit")
    order_flow.check_edit_fields(changes)
    current = session.execute(select(Order).where(Order.id == order_id)).scalar_one_or_none()
    if current is None:
        raise NotFound(f"no order {order_id}", order_id=order_id)
    order_flow.check_editable(current.number, current.status)
    if "ship_phone" in changes:
        changes["ship_phone"] = customers.normalise_phone(changes["ship_phone"])
    issues = rulebook.validate_header(changes, utcnow())
    if issues:
        raise ValidationError(issues)
    if "priority" in changes:  # 5.0 or Decimal("5") passed the rulebook as a whole number: store 5
        changes["priority"] = rulebook.whole_number(changes["priority"])
    before = {k: getattr(current, k) for k in changes}
    address = {part: changes.get(part, getattr(current, part)) for part in ADDRESS_PARTS
               if any(p in changes for p in ADDRESS_PARTS)}  # the merge key needs the whole address
    version = bump_version(session, current, expected_version, {**address, **changes})
    session.execute(insert(OrderEvent).values(order_id=order_id, at=utcnow(), actor=actor.username,
                                              from_status=current.status, to_status=current.status,
                                              **stored("note", Message("note.edited", {"fields": ", ".join(sorted(changes))}))))
    moved = any(k.startswith("ship_") and before[k] != changes[k] for k in changes)
    if moved and current.status == "confirmed":  # the merged parcel goes to the old address
        merging.leave_on_change(session, order_id, actor, "note.merge_left_address")
    if moved and current.status in order_flow.HOLD_ON_ADDRESS_CHANGE:  # the parcel may carry the old address
        holds.place(session, order_id, current.number, current.status, "address_changed", None, actor)
    audit.record(session, actor, "order.edit", "order", current.number, before=before, after=changes)
    return version
