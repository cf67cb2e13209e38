"""Shipping labels (电子面单): what goes on each parcel's 100 × 150 mm label, with the carrier
chosen and a tracking number taken the first time a label is printed.

A label can be printed for an order that is being picked (a wave's labels are often printed
before sorting), packed, or already shipped (a reprint shows the same number). Printing one:

- keeps the order's carrier, or chooses one (:func:`core.services.carriers.choose`);
- keeps the order's tracking number, or takes the carrier's next one
  (:func:`core.services.tracking_numbers.allocate`), and stores both on the order (version
  bumped: someone editing the order meanwhile gets "changed by someone else");
- masks the receiver's name and phone as the platforms do (the address stays: the courier
  needs it).

All labels of one call are taken in one transaction: a batch for a wave is all or nothing.
When a carrier has no numbers left the call is refused and an alert raised.
The PDF itself is drawn by :mod:`core.documents.shipping_label`.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, refdata
from core.db import read_only, unit_of_work
from core.domain import order_flow, parcels
from core.errors import NotFound, Refused
from core.models import Order, PickList, PickListOrder, Warehouse
from core.permissions import Actor, require
from core.pii import mask_phone
from core.services import carriers, tracking_numbers
from core.services.orders import holds, lifecycle

Label = parcels.Label  # what a page hands to core.documents.shipping_label.render_labels

LABEL_STATUSES = ("picking", "packed", "shipped")
MAX_LABELS = 2_000


def _label(session: Session, order_id: int, actor: Actor) -> parcels.Label:
    order = session.execute(
        select(Order.id, Order.number, Order.status, Order.version, Order.delivery_method, Order.carrier,
               Order.tracking_no, Order.ship_name, Order.ship_phone, Order.ship_province, Order.ship_city,
               Order.ship_district, Order.ship_address, Order.parcel_weight_kg, Order.warehouse_id)
        .where(Order.id == order_id)).first()
    if order is None:
        raise NotFound.coded("carrier.no_order", order=order_id)
    if order.status not in LABEL_STATUSES or not order_flow.needs_tracking(order.delivery_method):
        raise Refused("label.not_ready", number=order.number, status=order.status)
    if order.status != "shipped":
        holds.check_not_held(session, order.id, order.number, order.status)
    carrier_name, tracking = order.carrier, order.tracking_no
    if not carrier_name or not tracking:
        choice = carriers.choose(session, order.id)
        carrier_name = choice.name
        if not tracking:
            found = carriers.carrier_row(session, carrier_name)
            if found is None:
                raise Refused("label.carrier_unknown", number=order.number, carrier=carrier_name)
            tracking = tracking_numbers.allocate(session, found.id, found.code, found.name)
            if tracking is None:
                raise Refused("label.no_numbers", number=order.number, carrier=found.name)
        lifecycle.bump_version(session, order, order.version, {"carrier": carrier_name, "tracking_no": tracking})
        audit.record(session, actor, "label.number", "order", order.number,
                     after={"carrier": carrier_name, "tracking_no": tracking})
    known = carriers.carrier_row(session, carrier_name)
    code = known.code if known is not None else carrier_name
    service = (known.services or "").split(",")[0].strip() if known is not None else ""
    warehouse = session.execute(select(Warehouse.name, Warehouse.province, Warehouse.city, Warehouse.address)
                                .where(Warehouse.id == order.warehouse_id)).first()
    ref = refdata.snapshot(session)
    shop = str(ref.setting(refdata.SHOP_KEY, "name", "") or "")
    sender_address = " ".join(str(p) for p in (warehouse.province, warehouse.city, warehouse.address or "")
                              if p) if warehouse is not None else ""
    receiver = " ".join(str(p) for p in (order.ship_province, order.ship_city, order.ship_district,
                                         order.ship_address) if p)
    return parcels.Label(
        tracking_no=str(tracking), carrier=str(carrier_name), service=service,
        sender_name=" · ".join(p for p in (shop, warehouse.name if warehouse is not None else "") if p),
        sender_address=sender_address, sender_phone=str(ref.setting(refdata.SHOP_KEY, "phone", "") or ""),
        receiver_name=parcels.mask_name(order.ship_name),
        receiver_phone=str(mask_phone(order.ship_phone or "")), receiver_address=receiver,
        orders=(order.number,), weight_kg=order.parcel_weight_kg,
        qr_data=f"{code}|{tracking}|{order.number}")


def _labels(session: Session, order_ids: list[int], actor: Actor) -> tuple[parcels.Label, ...]:
    if len(order_ids) > MAX_LABELS:
        raise Refused("label.too_many", n=MAX_LABELS)
    return tuple(_label(session, oid, actor) for oid in order_ids)


@tracking_numbers.alert_when_exhausted
@unit_of_work
def print_labels(session: Session, order_ids: list[int], actor: Actor) -> tuple[parcels.Label, ...]:
    """Labels for these orders, in this order (numbers taken where missing; all or none).
    A carrier out of numbers is refused, and an alert raised once the refusal rolled back."""
    require(actor, "order.fulfil")
    return _labels(session, list(dict.fromkeys(int(i) for i in order_ids)), actor)


@read_only
def wave_orders(session: Session, wave_id: int, actor: Actor) -> list[int]:
    """A wave's orders still on it (not sent back by a short pick), by slot."""
    require(actor, "order.view")
    if session.get(PickList, wave_id) is None:
        raise NotFound.coded("wave.not_found", wave=wave_id)
    return list(session.execute(
        select(PickListOrder.order_id).where(PickListOrder.pick_list_id == wave_id,
                                             PickListOrder.sent_back.is_(None))
        .order_by(PickListOrder.slot, PickListOrder.order_id)).scalars())


@tracking_numbers.alert_when_exhausted
@unit_of_work
def print_wave_labels(session: Session, wave_id: int, actor: Actor) -> tuple[parcels.Label, ...]:
    """One label per order of a wave, by slot (for one PDF, one page per parcel)."""
    require(actor, "order.fulfil")
    return _labels(session, wave_orders(wave_id, actor, session=session), actor)

