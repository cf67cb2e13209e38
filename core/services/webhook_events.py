"""The payloads of the order and return webhooks (``core.events``), built inside the transaction
of the change and only when someone subscribed (:func:`core.events.wanted`).

What goes in, and what stays out (docs/api.md, "Events and payloads", version 1):

- An order event carries the order as the API's order resource would show it to a token with
  ``orders:read`` — number, channel and its ``external_ref``, statuses, times, amounts, the
  lines (SKU, quantities, prices, warehouse) and the destination's province and city — so a
  WMS, a 3PL or the platform can act without calling back. It carries **no personal data**: no
  name, phone, e-mail or street address. A receiver that must print a label fetches the order
  with a token holding ``customers:pii`` (``GET /orders/{number}``), where the scope is checked
  at the time of the request — a payload, once sent, cannot be taken back, and it also stays in
  the outbox the shop's managers read.
- ``order.shipped`` adds a ``shipment`` — carrier, tracking number, the lines shipped and the
  channel's ``external_ref`` — the write-back a platform needs (物流回传).
- A return event carries the RMA (number, kind, status, reason, the lines and SKUs) with its
  order's number, channel and ``external_ref``; ``return.refunded`` adds the refund.

Amounts are decimal strings with two places, times ISO 8601 UTC (``…Z``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from core import events
from core.config import env_currency
from core.models import Channel, Order, OrderLine, Product, Warehouse
from core.refdata import RefData
from core.refdata import snapshot as refdata_snapshot

_O = Order.__table__
_ORDER = (
    select(_O.c.id, _O.c.number, _O.c.channel_id, Channel.code.label("channel"), _O.c.external_ref, _O.c.status,
           _O.c.payment_status, _O.c.delivery_method, Warehouse.code.label("warehouse"), _O.c.placed_at,
           _O.c.approved_at, _O.c.shipped_at, _O.c.delivered_at, _O.c.cancelled_at, _O.c.carrier, _O.c.tracking_no,
           _O.c.subtotal, _O.c.discount, _O.c.shipping_fee, _O.c.total, _O.c.ship_province, _O.c.ship_city,
           _O.c.version)
    .join(Channel, Channel.id == _O.c.channel_id)
    .outerjoin(Warehouse, Warehouse.id == _O.c.warehouse_id)
    .where(_O.c.id == bindparam("order_id"))
)
_LINES = (
    select(OrderLine.line_no, Product.sku, OrderLine.qty, OrderLine.unit_price, OrderLine.discount,
           OrderLine.line_total, Warehouse.code.label("warehouse"), OrderLine.qty_shipped, OrderLine.qty_returned)
    .join(Product, Product.id == OrderLine.product_id)
    .join(Warehouse, Warehouse.id == OrderLine.warehouse_id)
    .where(OrderLine.order_id == bindparam("order_id"))
    .order_by(OrderLine.line_no)
)


def _currency(ref: RefData) -> str:
    return str(ref.setting("shop", "currency", None) or env_currency())


def order_record(session: Session, order_id: int, ref: RefData) -> dict[str, Any]:
    """The order as the payloads show it (no personal data; see the module docstring)."""
    conn = session.connection()
    o = conn.execute(_ORDER, {"order_id": order_id}).one()
    lines = conn.execute(_LINES, {"order_id": order_id}).all()
    return {
        "number": o.number, "channel": o.channel, "external_ref": o.external_ref, "status": o.status,
        "payment_status": o.payment_status, "delivery_method": o.delivery_method, "warehouse": o.warehouse,
        "placed_at": events.when(o.placed_at), "approved_at": events.when(o.approved_at),
        "shipped_at": events.when(o.shipped_at), "delivered_at": events.when(o.delivered_at),
        "cancelled_at": events.when(o.cancelled_at), "carrier": o.carrier, "tracking_no": o.tracking_no,
        "currency": _currency(ref), "subtotal": events.amount(o.subtotal), "discount": events.amount(o.discount),
        "shipping_fee": events.amount(o.shipping_fee), "total": events.amount(o.total),
        "ship_to": {"province": o.ship_province, "city": o.ship_city}, "version": o.version,
        "lines": [{"line_no": ln.line_no, "sku": ln.sku, "qty": ln.qty, "unit_price": events.amount(ln.unit_price),
                   "discount": events.amount(ln.discount), "line_total": events.amount(ln.line_total),
                   "warehouse": ln.warehouse, "qty_shipped": ln.qty_shipped, "qty_returned": ln.qty_returned}
                  for ln in lines],
    }


def publish_order(session: Session, event: str, order_id: int, channel_id: int, *,
                  ref: RefData | None = None) -> str | None:
    """Queue an ``order.*`` event for the order's subscribers (nothing read when there are none);
    the event id or None."""
    ref = ref or refdata_snapshot(session)
    if not events.wanted(session, event, channel_id=channel_id, ref=ref):
        return None
    order = order_record(session, order_id, ref)
    data: dict[str, Any] = {"order": order}
    if event == "order.shipped":
        data["shipment"] = {
            "channel": order["channel"], "external_ref": order["external_ref"], "carrier": order["carrier"],
            "tracking_no": order["tracking_no"], "shipped_at": order["shipped_at"],
            "lines": [{"line_no": ln["line_no"], "sku": ln["sku"], "qty": ln["qty_shipped"],
                       "warehouse": ln["warehouse"]} for ln in order["lines"] if ln["qty_shipped"]],
        }
    return events.publish(session, event, data, order_id=order_id, channel_id=channel_id, ref=ref)


def publish_return(session: Session, event: str, rma: Any, status: str, order: Any, lines: list[Any],
                   extra: dict[str, Any] | None = None) -> str | None:
    """Queue a ``return.*`` event: ``rma`` a returns row (``status`` its status after the
    change), ``order`` the order's facts (number, channel, external_ref), ``lines`` the RMA's
    lines (line_no, sku, qty)."""
    ref = refdata_snapshot(session)
    if not events.wanted(session, event, channel_id=order.channel_id, ref=ref):
        return None
    data: dict[str, Any] = {"return": {
        "number": rma.number, "kind": rma.kind, "status": status, "reason_code": rma.reason_code,
        "order": order.number, "channel": order.channel, "external_ref": order.external_ref,
        "currency": _currency(ref), "opened_at": events.when(rma.created_at),
        "lines": [{"line_no": ln.line_no, "sku": ln.sku, "qty": ln.qty} for ln in lines],
    }, **(extra or {})}
    return events.publish(session, event, data, order_id=order.id, channel_id=order.channel_id, ref=ref)
