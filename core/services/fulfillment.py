"""Fulfilment: the queue, moving orders between warehouses, batch pick lists, barcode-verified
packing, shipping (one by one or from a carrier's CSV) and delivery.

Every status change goes through :func:`core.services.orders.transition` — this module adds the
warehouse floor's checks around it (which orders may move, be scanned or ship: the rules of
:mod:`core.domain.order_flow`), never a second state machine. ``order_lines.warehouse_id``
is the single source of truth for where a line is reserved, picked and shipped from: pick lists
are cut per warehouse from it, re-allocation moves it together with the reservation, and
``transition(..., "shipped")`` posts each line's shipment in that warehouse.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import and_, bindparam, case, delete, func, insert, select, update
from sqlalchemy.orm import Session

from core import audit, barcodes, refdata, stock
from core.db import read_only, unit_of_work
from core.domain import order_flow
from core.errors import (
    FieldIssue,
    InsufficientStock,
    Message,
    NotFound,
    OMSError,
    Refused,
    Shortage,
    StaleVersion,
    ValidationError,
    stored,
)
from core.models import (
    Bin,
    Order,
    OrderEvent,
    OrderLine,
    PackScan,
    PickList,
    PickListOrder,
    Product,
    ProductBin,
    Warehouse,
)
from core.numbering import next_number
from core.permissions import Actor, require
from core.services import bins, carriers, merging, orders, tracking_numbers
from core.services.orders import holds, lifecycle
from core.timeutil import utcnow

QUEUE_STATUSES = ("confirmed", "picking", "packed")
MAX_BULK_ROWS = 5000
# accepted CSV headers (lower-cased) for the bulk tracking upload
ORDER_HEADERS = ("order", "order_no", "order_number", "number", "订单号")
CARRIER_HEADERS = ("carrier", "承运商", "快递公司")
TRACKING_HEADERS = ("tracking", "tracking_no", "tracking_number", "运单号", "快递单号")


class ScanRefused(OMSError):
    """A scan at the pack bench that does not belong in the parcel (wrong item, extra unit,
    unknown barcode). ``key`` names the reason so the page can say it in the packer's language."""

    def __init__(self, key: str, message: str, **params: Any) -> None:
        super().__init__(message, **params)
        self.key = key


@dataclass(frozen=True)
class MoveResult:
    number: str
    version: int
    moved: tuple[str, ...]  # SKUs now served by the target warehouse
    warehouse: str


@dataclass(frozen=True)
class PickListInfo:
    id: int
    number: str
    warehouse: str
    orders: tuple[str, ...]
    units: int


PICK_ITEM_COLUMNS = ["bin", "sku", "barcode", "name", "qty", "orders"]
WALK_LAST = 10**9  # products without a bin come after every bin


@dataclass(frozen=True)
class PickListDoc:
    """A pick list ready to print: items grouped by SKU, and which order gets what."""

    number: str
    warehouse: str
    warehouse_name: str
    created_at: dt.datetime
    created_by: str
    items: pd.DataFrame  # bin, sku, barcode, name, qty, orders — in walking order
    orders: pd.DataFrame  # number, bin, sku, name, qty


@dataclass(frozen=True)
class ScanResult:
    number: str
    sku: str
    name: str
    line_scanned: int
    line_qty: int
    scanned: int
    units: int
    packed: bool  # the last unit was scanned: the order is now ``packed``


@dataclass(frozen=True)
class BulkShipResult:
    shipped: tuple[str, ...]


# --- queue -----------------------------------------------------------------------------------

QUEUE_COLUMNS = ["id", "number", "status", "priority", "due_by", "overdue", "placed_at", "warehouses", "lines",
                 "units", "scanned", "customer", "province", "city", "delivery_method", "carrier", "tracking_no",
                 "version"]


@read_only
def fulfilment_queue(session: Session, actor: Actor, *, statuses: list[str] | None = None,
                     warehouse: str | None = None, now: dt.datetime | None = None,
                     limit: int = 500) -> pd.DataFrame:
    """Orders waiting for the warehouse, most urgent first: priority, then due time, then age.

    ``warehouses`` lists every warehouse the order's lines ship from (a split order has
    several); ``warehouse`` keeps orders with at least one line there. ``scanned`` counts units
    verified at the pack bench so far.
    """
    require(actor, "order.view")
    now = now or utcnow()
    line_totals = (
        select(OrderLine.order_id, func.count().label("lines"), func.sum(OrderLine.qty).label("units"))
        .group_by(OrderLine.order_id).subquery()
    )
    scans = select(PackScan.order_id, func.sum(PackScan.qty).label("scanned")).group_by(PackScan.order_id).subquery()
    stmt = (
        select(Order.id, Order.number, Order.status, Order.priority, Order.due_by, Order.placed_at,
               line_totals.c.lines, line_totals.c.units, func.coalesce(scans.c.scanned, 0), Order.ship_name,
               Order.ship_province, Order.ship_city, Order.delivery_method, Order.carrier, Order.tracking_no,
               Order.version)
        .join(line_totals, line_totals.c.order_id == Order.id)
        .outerjoin(scans, scans.c.order_id == Order.id)
        .where(Order.status.in_(statuses or QUEUE_STATUSES))
        .order_by(Order.priority.desc(), Order.due_by, Order.placed_at, Order.id)
        .limit(limit)
    )
    if warehouse:
        stmt = stmt.where(Order.id.in_(
            select(OrderLine.order_id).join(Warehouse, Warehouse.id == OrderLine.warehouse_id)
            .where(Warehouse.code == warehouse)))
    rows = session.execute(stmt).all()
    frame = pd.DataFrame(rows, columns=["id", "number", "status", "priority", "due_by", "placed_at", "lines",
                                        "units", "scanned", "customer", "province", "city", "delivery_method",
                                        "carrier", "tracking_no", "version"])
    where: dict[int, list[str]] = defaultdict(list)
    if not frame.empty:
        for oid, code in session.execute(
            select(OrderLine.order_id, Warehouse.code).distinct()
            .join(Warehouse, Warehouse.id == OrderLine.warehouse_id)
            .where(OrderLine.order_id.in_([int(i) for i in frame["id"]])).order_by(Warehouse.code)
        ):
            where[oid].append(code)
    frame["warehouses"] = ["+".join(where[int(i)]) for i in frame["id"]]
    frame["overdue"] = [bool(d is not None and not pd.isna(d) and d < now) for d in frame["due_by"]]
    for col in ("lines", "units", "scanned"):
        frame[col] = frame[col].astype(int)
    return frame[QUEUE_COLUMNS]


# --- re-allocation ---------------------------------------------------------------------------


@unit_of_work
def move_to_warehouse(session: Session, order_id: int, to_warehouse: str, actor: Actor, *,
                      line_nos: list[int] | None = None, expected_version: int | None = None) -> MoveResult:
    """Serve an order (or some of its lines) from another warehouse, reservations included.

    Each moved line's reservation is released where it was and taken again in the target with
    the same conditional update as at order time; if the target lacks any of it,
    InsufficientStock names each SKU and nothing moves. Only orders not yet being picked can
    move (send a picking order back to ``confirmed`` first).
    """
    require(actor, "order.fulfil")
    order = lifecycle.load_for_update(session, order_id)
    if expected_version is not None and expected_version != order.version:
        raise StaleVersion(f"order {order.number} was changed by someone else; reload and try again",
                                  number=order.number)
    order_flow.check_movable(order.number, order.status)
    target = refdata.snapshot(session).warehouses.get((to_warehouse or "").strip())
    if target is None:
        raise ValidationError([FieldIssue("warehouse", "issue.unknown_value", value=to_warehouse,
                                          params={"value": to_warehouse})])
    lines = session.execute(
        select(OrderLine.id, OrderLine.line_no, OrderLine.product_id, OrderLine.warehouse_id,
               OrderLine.qty_reserved, Product.sku, Warehouse.code)
        .join(Product, Product.id == OrderLine.product_id)
        .join(Warehouse, Warehouse.id == OrderLine.warehouse_id)
        .where(OrderLine.order_id == order_id)
    ).all()
    known = {ln.line_no for ln in lines}
    wanted = set(line_nos) if line_nos else known
    issues = [FieldIssue("line_no", "inv_issue.no_such_line", n, n, params={"number": order.number, "line": n}) for n in sorted(wanted - known)]
    moving = [ln for ln in lines if ln.line_no in wanted and ln.warehouse_id != target.id]
    if not issues and not moving:
        issues.append(FieldIssue("warehouse", "inv_issue.already_there", value=target.code,
                                    params={"warehouse": target.code}))
    if issues:
        raise ValidationError(issues)
    all_lines_there = len(moving) + sum(1 for ln in lines if ln.warehouse_id == target.id) == len(lines)
    version = lifecycle.bump_version(session, order, order.version,
                           {"warehouse_id": target.id} if all_lines_there else {})
    # Stock rows in (product, warehouse) order, as everywhere, so movers cannot deadlock.
    steps = sorted([(ln.product_id, ln.warehouse_id, -ln.qty_reserved, ln) for ln in moving if ln.qty_reserved]
                   + [(ln.product_id, target.id, ln.qty_reserved, ln) for ln in moving if ln.qty_reserved],
                   key=lambda s: (s[0], s[1]))
    shortages: list[Shortage] = []
    for product_id, warehouse_id, qty, ln in steps:
        if qty < 0:
            stock.release(session, product_id, warehouse_id, -qty)
        elif not stock.reserve(session, product_id, warehouse_id, qty):
            shortages.append(Shortage(ln.sku, target.code, qty, stock.available(session, product_id, warehouse_id)))
    if shortages:
        raise InsufficientStock(shortages)
    moved_ids = [ln.id for ln in moving]
    session.execute(update(OrderLine).where(OrderLine.id.in_(moved_ids)).values(warehouse_id=target.id))
    session.execute(delete(PackScan).where(PackScan.order_line_id.in_(moved_ids)))  # packed elsewhere now
    moved = tuple(ln.sku for ln in sorted(moving, key=lambda x: x.line_no))
    note = Message("note.moved", {"warehouse": target.code,
                                  "lines": ", ".join(f"{ln.sku} ({ln.code})" for ln in moving)})
    session.execute(insert(OrderEvent).values(order_id=order_id, at=utcnow(), actor=actor.username,
                                              from_status=order.status, to_status=order.status,
                                              **stored("note", note)))
    audit.record(session, actor, "order.reallocate", "order", order.number,
                 before={ln.sku: ln.code for ln in moving}, after={"warehouse": target.code, "lines": list(moved)})
    return MoveResult(order.number, version, moved, target.code)


# --- pick lists ------------------------------------------------------------------------------


def _orders_by_id(session: Session, order_ids: list[int]) -> dict[int, Any]:
    return {r.id: r for r in session.execute(
        select(Order.id, Order.number, Order.status).where(Order.id.in_(order_ids)))}


def _batch_in_status(session: Session, order_ids: list[int], status: str, verb: str) -> tuple[list[int], dict[int, Any]]:
    """De-duplicated ids and their rows, refusing the whole batch (naming each bad row,
    ``inv_issue.not_<verb>``) unless every order exists and is in ``status`` — batch actions are
    all or none."""
    ids = list(dict.fromkeys(int(i) for i in order_ids))
    if not ids:
        raise ValidationError([FieldIssue("orders", "inv_issue.pick_orders")])
    found = _orders_by_id(session, ids)
    issues = []
    for row, oid in enumerate(ids, start=1):
        o = found.get(oid)
        if o is None:
            issues.append(FieldIssue("order", "inv_issue.no_order", row, oid, params={"number": oid}))
        elif o.status != status:
            issues.append(FieldIssue("order", f"inv_issue.not_{verb}", row, o.number,
                                     params={"number": o.number, "status": o.status}))
    if issues:
        raise ValidationError(issues)
    return ids, found


@unit_of_work
def create_pick_lists(session: Session, order_ids: list[int], actor: Actor) -> tuple[PickListInfo, ...]:
    """Batch confirmed orders into pick lists, one per warehouse their lines ship from, and move
    each order to ``picking``. A split order appears on the list of every warehouse involved; an
    order of a merged shipment brings the group's other orders along (one parcel, one pick)."""
    require(actor, "order.fulfil")
    ids, found = _batch_in_status(session, merging.shipment_of(session, order_ids), "confirmed", "pickable")
    for oid in sorted(ids):
        orders.transition(oid, "picking", actor, note=Message("note.pick_list"), with_group=True, session=session)
    units: dict[int, int] = defaultdict(int)
    members: dict[int, list[int]] = defaultdict(list)
    for oid, wh_id, qty in session.execute(
        select(OrderLine.order_id, OrderLine.warehouse_id, func.sum(OrderLine.qty))
        .where(OrderLine.order_id.in_(ids)).group_by(OrderLine.order_id, OrderLine.warehouse_id)
        .order_by(OrderLine.warehouse_id, OrderLine.order_id)
    ):
        assert wh_id is not None, f"order {oid} has a line without a warehouse"  # entry and imports set one
        members[wh_id].append(oid)
        units[wh_id] += int(qty)
    codes = dict(session.execute(select(Warehouse.id, Warehouse.code).where(Warehouse.id.in_(members))).all())
    issues = [i for wh_id in sorted(members, key=lambda w: codes[w])
              for i in bins.missing_home_bins(session, wh_id, codes[wh_id], ids)]
    if issues:  # in a warehouse that uses bins a picker is told where each product is
        raise ValidationError(issues)
    now = utcnow()
    made: list[PickListInfo] = []
    for wh_id in sorted(members, key=lambda w: codes[w]):
        number = next_number(session, "PL")
        pl_id = session.execute(insert(PickList).values(number=number, warehouse_id=wh_id, created_at=now,
                                                        created_by=actor.username).returning(PickList.id)).scalar_one()
        session.execute(insert(PickListOrder), [{"pick_list_id": pl_id, "order_id": oid} for oid in members[wh_id]])
        made.append(PickListInfo(pl_id, number, codes[wh_id], tuple(found[o].number for o in members[wh_id]),
                                 units[wh_id]))
        audit.record(session, actor, "picklist.create", "pick_list", number,
                     after={"warehouse": codes[wh_id], "orders": list(made[-1].orders), "units": units[wh_id]})
    return tuple(made)


PICK_LIST_COLUMNS = ["id", "number", "warehouse", "created_at", "created_by", "orders", "open_orders"]


@read_only
def list_pick_lists(session: Session, actor: Actor, *, limit: int = 100, kind: str | None = None) -> pd.DataFrame:
    """Recent pick lists (of one ``kind``: ``list`` or ``wave``, when given) with how many of
    their orders are still being picked."""
    require(actor, "order.view")
    open_ = func.sum(case((Order.status == "picking", 1), else_=0))
    stmt = (
        select(PickList.id, PickList.number, Warehouse.code, PickList.created_at, PickList.created_by,
               func.count(PickListOrder.id), open_)
        .join(Warehouse, Warehouse.id == PickList.warehouse_id)
        .join(PickListOrder, PickListOrder.pick_list_id == PickList.id)
        .join(Order, Order.id == PickListOrder.order_id)
    )
    if kind is not None:
        stmt = stmt.where(PickList.kind == kind)
    rows = session.execute(
        stmt.group_by(PickList.id, PickList.number, Warehouse.code, PickList.created_at, PickList.created_by)
        .order_by(PickList.created_at.desc(), PickList.id.desc()).limit(limit)
    ).all()
    frame = pd.DataFrame(rows, columns=PICK_LIST_COLUMNS)
    frame["open_orders"] = frame["open_orders"].astype(int)
    return frame


@read_only
def pick_list(session: Session, pick_list_id: int, actor: Actor) -> PickListDoc:
    """What to take off the shelves in the list's warehouse, summed per SKU, and per order."""
    require(actor, "order.view")
    head = session.execute(
        select(PickList.number, PickList.warehouse_id, Warehouse.code, Warehouse.name, PickList.created_at,
               PickList.created_by)
        .join(Warehouse, Warehouse.id == PickList.warehouse_id).where(PickList.id == pick_list_id)
    ).first()
    if head is None:
        raise NotFound(f"no pick list {pick_list_id}", pick_list_id=pick_list_id)
    rows = session.execute(
        select(Order.number, Product.sku, Product.barcode, Product.name, OrderLine.qty,
               func.coalesce(Bin.code, ""), func.coalesce(Bin.walk_order, WALK_LAST))
        .join(PickListOrder, PickListOrder.order_id == Order.id)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .join(Product, Product.id == OrderLine.product_id)
        .outerjoin(ProductBin, and_(ProductBin.product_id == Product.id, ProductBin.warehouse_id == head.warehouse_id))
        .outerjoin(Bin, Bin.id == ProductBin.bin_id)
        .where(PickListOrder.pick_list_id == pick_list_id, OrderLine.warehouse_id == head.warehouse_id)
        .order_by(Product.sku, Order.number)
    ).all()
    per_order = pd.DataFrame(rows, columns=["number", "sku", "barcode", "name", "qty", "bin", "walk_order"])
    walk = ["walk_order", "bin", "sku"]  # the picker's route: bins in walking order, then code
    items = (per_order.groupby(["walk_order", "bin", "sku", "barcode", "name"], sort=False, dropna=False)
             .agg(qty=("qty", "sum"), orders=("number", lambda s: ", ".join(sorted(set(s)))))
             .reset_index().sort_values(walk)[PICK_ITEM_COLUMNS].reset_index(drop=True)
             ) if not per_order.empty else pd.DataFrame(columns=PICK_ITEM_COLUMNS)
    return PickListDoc(head.number, head.code, head.name, head.created_at, head.created_by, items,
                       per_order.sort_values(["number", *walk])[["number", "bin", "sku", "name", "qty"]]
                       .reset_index(drop=True))


# --- packing ---------------------------------------------------------------------------------

PACK_COLUMNS = ["line_no", "sku", "barcode", "name", "warehouse", "qty", "scanned"]

# The pack bench runs one transaction per scanned unit, so its statements are built once (as in
# create_order): the order row, and its lines with what has been scanned so far, in two reads.
_OL, _PS, _PR = OrderLine.__table__, PackScan.__table__, Product.__table__
_SCANNED = (select(func.coalesce(func.sum(_PS.c.qty), 0))
            .where(_PS.c.order_id == bindparam("oid"), _PS.c.order_line_id == _OL.c.id).scalar_subquery())
_PACK_LINES = (
    select(_OL.c.id, _OL.c.line_no, _OL.c.product_id, _OL.c.qty, _PR.c.sku, _PR.c.barcode, _PR.c.name,
           Warehouse.__table__.c.code, _SCANNED.label("scanned"))
    .join(_PR, _PR.c.id == _OL.c.product_id)
    .join(Warehouse.__table__, Warehouse.__table__.c.id == _OL.c.warehouse_id)
    .where(_OL.c.order_id == bindparam("oid")).order_by(_OL.c.line_no)
)
_INSERT_SCAN = insert(PackScan.__table__)


def _pack_lines(session: Session, order_id: int) -> list[Any]:
    return list(session.connection().execute(_PACK_LINES, {"oid": order_id}))


@read_only
def pack_progress(session: Session, order_id: int, actor: Actor) -> pd.DataFrame:
    """The order's lines with how many units have been verified by scan."""
    require(actor, "order.view")
    return pd.DataFrame([(r.line_no, r.sku, r.barcode, r.name, r.code, r.qty, int(r.scanned))
                         for r in _pack_lines(session, order_id)], columns=PACK_COLUMNS)


def _order_needing(session: Session, order_id: int, code: str) -> int:
    """The order of ``order_id``'s merged shipment that still needs a unit of the product
    ``code`` names (``order_id`` itself first): the pack bench fills a group from one scan box."""
    group = merging.group_of(session, order_id)
    product = barcodes.product_by_code(session, code) if code and group else None
    if group is None or product is None:
        return order_id
    for member in sorted(group[1], key=lambda m: m.id != order_id):
        if member.status in ("confirmed", "picking") and any(
                ln.product_id == product.id and ln.scanned < ln.qty for ln in _pack_lines(session, member.id)):
            return int(member.id)
    return order_id


@unit_of_work
def scan_item(session: Session, order_id: int, barcode: str, actor: Actor) -> ScanResult:
    """Verify one scanned unit (its barcode, or its SKU typed when a label is unreadable) against
    the order; the last one packs the order.

    Refused with :class:`ScanRefused` — nothing recorded — for a code no product has, an item
    that is not on this order, or a unit more than the order asks for. A confirmed order starts
    picking with its first good scan (small shops pack straight from the queue).
    """
    require(actor, "order.fulfil")
    code = (barcode or "").strip()
    order_id = _order_needing(session, order_id, code)
    order = lifecycle.load_for_update(session, order_id)
    order_flow.check_scannable(order.number, order.status)
    holds.check_not_held(session, order_id, order.number, "packed")  # not one unit into an intercepted parcel
    lines = _pack_lines(session, order_id)
    product = barcodes.product_by_code(session, code)
    if product is None:
        raise ScanRefused("pack.unknown_barcode", f"barcode {code!r} belongs to no product", barcode=code)
    mine = [ln for ln in lines if ln.product_id == product.id]
    if not mine:
        raise ScanRefused("pack.wrong_item", f"wrong item: {product.sku} ({product.name}) is not on order "
                                             f"{order.number}", sku=product.sku, name=product.name,
                          number=order.number)
    open_line = next((ln for ln in mine if ln.scanned < ln.qty), None)
    if open_line is None:
        need = sum(ln.qty for ln in mine)
        raise ScanRefused("pack.extra_unit", f"extra unit: order {order.number} needs {need} × {mine[0].sku}, "
                                             f"all already scanned", sku=mine[0].sku, qty=need, number=order.number)
    if order.status == "confirmed":  # a merged shipment starts picking as a whole
        group = merging.group_of(session, order_id)
        for oid in [m.id for m in group[1] if m.status == "confirmed"] if group else [order_id]:
            orders.transition(oid, "picking", actor, note=Message("note.packing_started"), with_group=True, session=session)
    session.connection().execute(_INSERT_SCAN, dict(order_id=order_id, order_line_id=open_line.id, barcode=code,
                                                    qty=1, at=utcnow(), actor=actor.username))
    scanned = sum(int(ln.scanned) for ln in lines) + 1
    units = sum(ln.qty for ln in lines)
    packed = order_flow.pack_verified(scanned, units)
    if packed:
        orders.transition(order_id, "packed", actor, note=Message("note.scan_verified"), session=session)
    return ScanResult(order.number, open_line.sku, open_line.name, int(open_line.scanned) + 1, open_line.qty,
                      scanned, units, packed)


# --- shipping and delivery -------------------------------------------------------------------


def _load_for_shipping(session: Session, where: Any) -> list[Any]:
    return list(session.execute(select(Order.id, Order.number, Order.status, Order.delivery_method,
                                       Order.carrier, Order.tracking_no).where(where)))


@tracking_numbers.alert_when_exhausted
@unit_of_work
def ship_order(session: Session, order_id: int, carrier: str | None, tracking_no: str | None, actor: Actor,
               *, expected_version: int | None = None, weighed_kg: Decimal | None = None,
               confirm_weight: bool = False) -> int:
    """Ship a packed order with its carrier and tracking number (each line leaves the warehouse
    it was reserved in). Returns the new version.

    The carrier defaults to the order's (its rule's, or the cheapest: core.services.carriers);
    the tracking number to the one its label was printed with, else the carrier's next
    pre-allocated number. A typed number must match the carrier's pattern. ``weighed_kg`` (the
    scale at the desk) further than the shop's tolerance from the expected weight is refused
    until ``confirm_weight``; it is kept on the order."""
    require(actor, "order.fulfil")
    found = _load_for_shipping(session, Order.id == order_id)
    if not found:
        raise NotFound(f"no order {order_id}", order_id=order_id)
    order = found[0]
    typed = (tracking_no or "").strip()
    order_flow.check_shippable(order.number, order.status)  # the state machine's refusal, with the packing hint
    carrier = (carrier or order.carrier or "").strip()
    if not carrier and order_flow.needs_tracking(order.delivery_method):
        carrier = carriers.cheapest_name(session, order_id) or ""
    tracking = typed or (order.tracking_no or "")
    if typed and (issue := carriers.tracking_issue(session, order.number, carrier, typed, None)):
        raise ValidationError([issue])
    carriers.check_dispatch(session, order_id, order.number, weighed_kg, confirm_weight)
    if not tracking and order_flow.needs_tracking(order.delivery_method) \
            and (known := carriers.carrier_row(session, carrier)) is not None:
        tracking = tracking_numbers.allocate(session, known.id, known.code, known.name) or ""
    issues = order_flow.shipping_issues(order.number, order.status, order.delivery_method, carrier, tracking, None)
    if issues:
        raise ValidationError(issues)
    if weighed_kg is not None:
        session.execute(update(Order).where(Order.id == order_id).values(parcel_weight_kg=weighed_kg))
    group = merging.group_of(session, order_id)
    if group is None:
        return orders.transition(order_id, "shipped", actor, expected_version=expected_version, carrier=carrier,
                                 tracking_no=tracking, session=session)
    return _ship_group(session, order_id, group, carrier, tracking, actor, expected_version)


def _ship_group(session: Session, order_id: int, group: tuple[str, list[Any]], carrier: str, tracking: str,
                actor: Actor, expected_version: int | None) -> int:
    """Ship every order of a merged shipment with one carrier and tracking number; each order
    moves (and tells its channel) on its own. Refused, naming the order, while one is not packed."""
    number, members = group
    for m in members:
        if m.status != "packed":
            raise Refused("merge.ship_not_packed", group=number, number=m.number, status=m.status)
    orders.lock_orders_and_stock(session, [m.id for m in members])
    version = 0
    for m in members:
        v = orders.transition(m.id, "shipped", actor, expected_version=expected_version if m.id == order_id else None,
                              carrier=carrier, tracking_no=tracking, note=Message("note.merged_shipment", {"group": number}),
                              with_group=True,
                              session=session)
        version = v if m.id == order_id else version
    return version


def _read_tracking_csv(data: bytes) -> pd.DataFrame:
    """The upload as text columns ``order, carrier, tracking`` plus its file line numbers."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, encoding=encoding)
            break
        except UnicodeDecodeError:
            continue
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise ValidationError([FieldIssue("file", "inv_issue.bad_csv", params={"reason": str(exc)})]) from exc
    else:
        raise ValidationError([FieldIssue("file", "inv_issue.bad_encoding")])
    columns = {str(c).strip().lower(): c for c in frame.columns}
    picked: dict[str, str] = {}
    issues = []
    for name, accepted in (("order", ORDER_HEADERS), ("carrier", CARRIER_HEADERS), ("tracking", TRACKING_HEADERS)):
        match = next((columns[h] for h in accepted if h in columns), None)
        if match is None:
            issues.append(FieldIssue("file", "inv_issue.missing_column", params={"name": name, "accepted": ", ".join(accepted)}))
        else:
            picked[name] = match
    if issues:
        raise ValidationError(issues)
    if len(frame) > MAX_BULK_ROWS:
        raise ValidationError([FieldIssue("file", "inv_issue.too_many_rows", params={"n": MAX_BULK_ROWS})])
    out = pd.DataFrame({name: frame[col].astype(str).str.strip() for name, col in picked.items()})
    out["row"] = range(2, len(out) + 2)  # line 1 is the header
    return out[out[["order", "carrier", "tracking"]].ne("").any(axis=1)]


@unit_of_work
def ship_bulk(session: Session, data: bytes, actor: Actor) -> BulkShipResult:
    """Ship every order of a carrier's CSV (order number, carrier, tracking number) — all or none.

    Each bad row is reported with its file line (unknown order, not packed yet, missing carrier
    or tracking, an order or tracking number twice in the file) and nothing ships.
    """
    require(actor, "order.fulfil")
    rows = _read_tracking_csv(data)
    if rows.empty:
        raise ValidationError([FieldIssue("file", "inv_issue.no_rows")])
    numbers = [n.upper() for n in rows["order"]]
    known = {o.number: o for o in _load_for_shipping(session, Order.number.in_(set(numbers)))}
    issues: list[FieldIssue] = []
    seen_orders: dict[str, int] = {}
    seen_tracking: dict[str, int] = {}
    todo: list[tuple[int, str, str]] = []
    for number, carrier, tracking, row in zip(numbers, rows["carrier"], rows["tracking"], rows["row"], strict=True):
        order = known.get(number)
        if order is None:
            issues.append(FieldIssue("order", "inv_issue.no_order" if number else "issue.required", row, number,
                                     params={"number": number}))
            continue
        if number in seen_orders:
            issues.append(FieldIssue("order", "inv_issue.duplicate_in_file", row, number,
                                     params={"value": number, "line": seen_orders[number]}))
            continue
        seen_orders[number] = row
        if tracking and tracking in seen_tracking:
            issues.append(FieldIssue("tracking_no", "inv_issue.duplicate_in_file", row, tracking,
                                     params={"value": tracking, "line": seen_tracking[tracking]}))
            continue
        seen_tracking[tracking] = row
        row_issues = order_flow.shipping_issues(order.number, order.status, order.delivery_method, carrier,
                                                tracking, row)
        if not row_issues and (bad := carriers.tracking_issue(session, order.number, carrier, tracking, row)):
            row_issues.append(bad)
        issues.extend(row_issues)
        if not row_issues:
            todo.append((order.id, carrier, tracking))
    if issues:
        raise ValidationError(issues)
    todo = _with_groups(session, todo, known)
    orders.lock_orders_and_stock(session, [order_id for order_id, _, _ in todo])  # one lock order for all
    for order_id, carrier, tracking in sorted(todo):
        orders.transition(order_id, "shipped", actor, carrier=carrier, tracking_no=tracking, note=Message("note.bulk_upload"),
                          with_group=True,
                          session=session)
    shipped = tuple(known[n].number for n in numbers)
    audit.record(session, actor, "order.ship_bulk", "order", None, after={"orders": list(shipped)})
    return BulkShipResult(shipped)


def _with_groups(session: Session, todo: list[tuple[int, str, str]], known: dict[str, Any]) -> list[tuple[int, str, str]]:
    """A carrier file's rows plus the other orders of their merged shipments (same carrier and
    tracking number); refused, naming the order, when one of those is not packed or is on the
    file with another tracking number."""
    listed = {oid: tracking for oid, _, tracking in todo}
    grouped = merging.in_groups(session, list(listed))  # one query when nothing is merged
    out = list(todo)
    for oid, carrier, tracking in todo if grouped else ():
        group = merging.group_of(session, oid)
        if group is None:
            continue
        for m in group[1]:
            if m.id == oid:
                continue
            if m.status != "packed":
                raise Refused("merge.ship_not_packed", group=group[0], number=m.number, status=m.status)
            if m.id in listed and listed[m.id] != tracking:
                raise Refused("merge.bulk_two_tracking", group=group[0], number=m.number)
            if m.id not in listed:
                listed[m.id] = tracking
                out.append((m.id, carrier, tracking))
    return out


@unit_of_work
def mark_delivered(session: Session, order_ids: list[int], actor: Actor) -> tuple[str, ...]:
    """Record delivery of shipped orders (all or none); returns their numbers."""
    require(actor, "order.deliver")
    ids, found = _batch_in_status(session, order_ids, "shipped", "deliverable")
    for oid in sorted(ids):
        orders.transition(oid, "delivered", actor, session=session)
    return tuple(found[oid].number for oid in ids)
