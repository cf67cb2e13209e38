"""Waves (波次): confirmed orders chosen by a rule, one consolidated pick list in walking order,
sort-to-order at the pack bench, and short picks sent back to the queue.

The rules are in :mod:`core.domain.waves`; this module reads the candidates, writes the wave and
its slots, and keeps the sorting honest:

- A wave is a pick list (``kind = 'wave'``) of one warehouse, printed like any pick list (bins,
  walking order: ``core.services.fulfillment.pick_list``). Only orders whose every line ships
  from that warehouse are candidates — a split order goes on per-warehouse pick lists — and an
  intercepted order (``core.services.orders.holds``) is left out.
- **Sort**: each scanned unit goes to the most urgent slot still waiting for that product; the
  screen shows the slot in large type. A code no product has, a product not on the wave, or a
  unit more than the wave needs is refused and nothing is recorded. The wave row is locked for
  each scan, so two sorters never give the last unit to two slots.
- **Short pick**: the picker reports how many units of a SKU were not on the shelf and why; the
  least urgent orders waiting for them go back to the queue (``confirmed``, their reservations
  kept), the units already sorted for them go back to the shelf, and an alert asks for a count.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

import pandas as pd
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from core import audit, barcodes
from core.db import read_only, unit_of_work
from core.domain import waves as rules
from core.domain.waves import WaveRule as WaveRule  # the page builds rules through this service
from core.errors import (
    FieldIssue,
    Message,
    NotFound,
    Refused,
    ValidationError,
    stored,
)
from core.models import (
    Alert,
    Bin,
    Order,
    OrderHold,
    OrderLine,
    PickList,
    PickListOrder,
    Product,
    ProductBin,
    SortScan,
    Warehouse,
)
from core.numbering import next_number
from core.permissions import Actor, require
from core.services import bins, orders
from core.services.fulfillment import ScanRefused
from core.timeutil import utcnow

# for the page, which reaches the rules through this service
MAX_ORDERS, MAX_LINES, SHORT_REASONS = rules.MAX_WAVE_ORDERS, rules.MAX_WAVE_LINES, rules.SHORT_REASONS
SLOT_COLUMNS = ["slot", "number", "status", "units", "sorted", "sent_back"]


@dataclass(frozen=True)
class WaveInfo:
    id: int
    number: str
    warehouse: str
    orders: tuple[str, ...]
    lines: int
    units: int


@dataclass(frozen=True)
class SortResult:
    slot: int
    number: str
    sku: str
    name: str
    sorted_units: int  # of this order, after this scan
    order_units: int
    order_done: bool
    wave_left: int  # units of the whole wave still to sort


@dataclass(frozen=True)
class ShortResult:
    sku: str
    missing: int
    sent_back: tuple[str, ...]


def _warehouse(session: Session, code: str) -> tuple[int, str]:
    row = session.execute(select(Warehouse.id, Warehouse.code).where(
        Warehouse.code == str(code or "").strip().upper())).first()
    if row is None:
        raise NotFound.coded("bin.no_warehouse", warehouse=code)
    return int(row.id), str(row.code)


def _check(rule: WaveRule) -> None:
    issues = [FieldIssue(field, code, params=params) for field, code, params in rules.rule_issues(rule)]
    if issues:
        raise ValidationError(issues)


def _candidates(session: Session, warehouse_id: int, rule: WaveRule) -> tuple[list[rules.Candidate], dict[int, list[int]]]:
    """Confirmed orders every line of which ships from the warehouse (SQL narrows by carrier and
    due time; the domain applies the rest), and the parcels: a merged shipment is one candidate
    under its oldest order's id, taken whole or not at all (``parcels``: that id → its orders)."""
    elsewhere = select(OrderLine.id).where(OrderLine.order_id == Order.id, OrderLine.warehouse_id != warehouse_id)
    here = select(OrderLine.id).where(OrderLine.order_id == Order.id, OrderLine.warehouse_id == warehouse_id)
    held = select(OrderHold.id).where(OrderHold.order_id == Order.id, OrderHold.released_at.is_(None))
    stmt = select(Order.id, Order.priority, Order.due_by, Order.placed_at, Order.carrier, Order.merge_group_id).where(
        Order.status == "confirmed", here.exists(), ~elsewhere.exists(), ~held.exists())
    if rule.carrier is not None:
        stmt = stmt.where(Order.carrier == rule.carrier)
    if rule.due_before is not None:
        stmt = stmt.where(Order.due_by <= rule.due_before)
    heads = {r.id: r for r in session.execute(stmt)}
    if not heads:
        return [], {}
    units: dict[int, int] = dict.fromkeys(heads, 0)
    lines: dict[int, int] = dict.fromkeys(heads, 0)
    zones: dict[int, set[str]] = {oid: set() for oid in heads}
    ids = list(heads)
    for start in range(0, len(ids), 500):
        for oid, qty, zone in session.execute(
            select(OrderLine.order_id, OrderLine.qty, func.coalesce(Bin.zone, ""))
            .outerjoin(ProductBin, (ProductBin.product_id == OrderLine.product_id)
                       & (ProductBin.warehouse_id == warehouse_id))
            .outerjoin(Bin, Bin.id == ProductBin.bin_id)
            .where(OrderLine.order_id.in_(ids[start:start + 500]))):
            units[oid] += int(qty)
            lines[oid] += 1
            zones[oid].add(zone)
    parcels: dict[int, list[int]] = {oid: [oid] for oid, h in heads.items() if h.merge_group_id is None}
    groups = {h.merge_group_id for h in heads.values() if h.merge_group_id is not None}
    for gid in sorted(groups):
        members = sorted(session.execute(select(Order.id).where(Order.merge_group_id == gid)).scalars())
        if all(m in heads for m in members):  # a group one of whose orders the rule leaves out waits
            parcels[members[0]] = members
    out = []
    for lead, members in parcels.items():
        hs = [heads[m] for m in members]
        out.append(rules.Candidate(
            lead, max(int(h.priority or 0) for h in hs), min((h.due_by for h in hs if h.due_by), default=None),
            min(h.placed_at for h in hs), heads[lead].carrier, sum(units[m] for m in members),
            sum(lines[m] for m in members), frozenset().union(*(zones[m] for m in members))))
    return out, parcels


@read_only
def preview_wave(session: Session, warehouse: str, rule: WaveRule, actor: Actor) -> pd.DataFrame:
    """The orders a wave with ``rule`` would take now, in slot order (number, units, lines)."""
    require(actor, "order.fulfil")
    _check(rule)
    wh_id, _ = _warehouse(session, warehouse)
    found, parcels = _candidates(session, wh_id, rule)
    candidates = {c.order_id: c for c in found}
    chosen = rules.choose(rule, found)
    ids = [m for oid in chosen for m in parcels[oid]]
    numbers = dict(session.execute(select(Order.id, Order.number).where(Order.id.in_(ids))).all()) if ids else {}
    return pd.DataFrame([(slot, " + ".join(numbers[m] for m in parcels[oid]), candidates[oid].units,
                          candidates[oid].lines)
                         for slot, oid in enumerate(chosen, start=1)], columns=["slot", "number", "units", "lines"])


@unit_of_work
def create_wave(session: Session, warehouse: str, rule: WaveRule, actor: Actor) -> WaveInfo:
    """Take the orders the rule chooses now, move them to ``picking`` and give each a slot."""
    require(actor, "order.fulfil")
    _check(rule)
    wh_id, wh_code = _warehouse(session, warehouse)
    found, parcels = _candidates(session, wh_id, rule)
    candidates = {c.order_id: c for c in found}
    chosen = rules.choose(rule, found)
    if not chosen:
        raise Refused("wave.empty", warehouse=wh_code)
    slots = {m: slot for slot, oid in enumerate(chosen, start=1) for m in parcels[oid]}  # a merged parcel: one slot
    issues = bins.missing_home_bins(session, wh_id, wh_code, list(slots))
    if issues:
        raise ValidationError(issues)
    number = next_number(session, "WV")
    for oid in slots:  # the order's version guards against a change racing the wave
        orders.transition(oid, "picking", actor, note=Message("note.wave", {"wave": number}), with_group=True,
                          session=session)
    rule_json = {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in asdict(rule).items()}
    wave_id = session.execute(insert(PickList).values(
        number=number, warehouse_id=wh_id, created_at=utcnow(), created_by=actor.username, kind="wave",
        rule=rule_json).returning(PickList.id)).scalar_one()
    session.execute(insert(PickListOrder), [{"pick_list_id": wave_id, "order_id": oid, "slot": slot}
                                            for oid, slot in slots.items()])
    numbers = dict(session.execute(select(Order.id, Order.number).where(Order.id.in_(list(slots)))).all())
    info = WaveInfo(wave_id, number, wh_code, tuple(numbers[o] for o in slots),
                    sum(candidates[o].lines for o in chosen), sum(candidates[o].units for o in chosen))
    audit.record(session, actor, "wave.create", "pick_list", number,
                 after={"warehouse": wh_code, "rule": rule_json, "orders": list(info.orders), "units": info.units})
    return info


def _wave(session: Session, wave_id: int, *, lock: bool = False) -> PickList:
    stmt = select(PickList).where(PickList.id == wave_id, PickList.kind == "wave")
    wave = session.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none()
    if wave is None:
        raise NotFound.coded("wave.not_found", wave=wave_id)
    return wave


def _wave_lines(session: Session, wave: PickList) -> list[tuple[int, int, str, int, int, int, int]]:
    """(slot, order id, order number, line id, product id, qty, sorted) of the orders still on
    the wave and being picked, most urgent slot first."""
    sorted_ = (select(func.coalesce(func.sum(SortScan.qty), 0)).where(
        SortScan.pick_list_id == wave.id, SortScan.order_line_id == OrderLine.id).scalar_subquery())
    rows = session.execute(
        select(PickListOrder.slot, Order.id, Order.number, OrderLine.id, OrderLine.product_id, OrderLine.qty, sorted_)
        .join(Order, Order.id == PickListOrder.order_id).join(OrderLine, OrderLine.order_id == Order.id)
        .where(PickListOrder.pick_list_id == wave.id, PickListOrder.sent_back.is_(None),
               Order.status == "picking", OrderLine.warehouse_id == wave.warehouse_id)
        .order_by(PickListOrder.slot, OrderLine.line_no)).all()
    return [(int(a), int(b), str(c), int(d), int(e), int(f), int(g)) for a, b, c, d, e, f, g in rows]


@read_only
def wave_slots(session: Session, wave_id: int, actor: Actor) -> pd.DataFrame:
    """The sorting wall: each slot's order, its status, units and units sorted so far."""
    require(actor, "order.view")
    wave = _wave(session, wave_id)
    sorted_ = (select(func.coalesce(func.sum(SortScan.qty), 0)).join(OrderLine, OrderLine.id == SortScan.order_line_id)
               .where(SortScan.pick_list_id == wave.id, OrderLine.order_id == Order.id).scalar_subquery())
    units = select(func.coalesce(func.sum(OrderLine.qty), 0)).where(
        OrderLine.order_id == Order.id, OrderLine.warehouse_id == wave.warehouse_id).scalar_subquery()
    rows = session.execute(
        select(PickListOrder.slot, Order.number, Order.status, units, sorted_, PickListOrder.sent_back)
        .join(Order, Order.id == PickListOrder.order_id)
        .where(PickListOrder.pick_list_id == wave.id).order_by(PickListOrder.slot)).all()
    frame = pd.DataFrame(rows, columns=SLOT_COLUMNS)
    frame["sent_back"] = frame["sent_back"].fillna("")
    return frame


@unit_of_work
def sort_scan(session: Session, wave_id: int, code: str, actor: Actor) -> SortResult:
    """Sort one scanned unit of the wave into the most urgent slot still waiting for it."""
    require(actor, "order.fulfil")
    wave = _wave(session, wave_id, lock=True)
    code = (code or "").strip()
    product = barcodes.product_by_code(session, code)
    if product is None:
        raise ScanRefused("pack.unknown_barcode", f"barcode {code!r} belongs to no product", barcode=code)
    lines = _wave_lines(session, wave)
    mine = [ln for ln in lines if ln[4] == product.id]
    if not mine:
        raise ScanRefused("sort.not_in_wave", f"{product.sku} is not on wave {wave.number}", sku=product.sku,
                          name=product.name, wave=wave.number)
    target = next((ln for ln in mine if ln[6] < ln[5]), None)
    if target is None:
        raise ScanRefused("sort.extra_unit", f"extra unit: wave {wave.number} needs {sum(ln[5] for ln in mine)} × "
                                             f"{product.sku}, all already sorted", sku=product.sku,
                          qty=sum(ln[5] for ln in mine), wave=wave.number)
    slot, order_id, number, line_id = target[0], target[1], target[2], target[3]
    session.execute(insert(SortScan).values(pick_list_id=wave.id, order_line_id=line_id, qty=1, at=utcnow(),
                                            actor=actor.username))
    order_lines = [ln for ln in lines if ln[1] == order_id]
    sorted_units = sum(ln[6] for ln in order_lines) + 1
    order_units = sum(ln[5] for ln in order_lines)
    left = sum(ln[5] - ln[6] for ln in lines) - 1
    return SortResult(slot, number, product.sku, product.name, sorted_units, order_units, sorted_units == order_units,
                      left)


@unit_of_work
def report_short(session: Session, wave_id: int, sku: str, missing: int, reason: str, actor: Actor) -> ShortResult:
    """``missing`` units of ``sku`` were not on the shelf: send the least urgent orders waiting
    for them back to the queue with ``reason``, and raise an alert (see the module docstring)."""
    require(actor, "order.fulfil")
    wave = _wave(session, wave_id, lock=True)
    sku = str(sku or "").strip()
    lines = _wave_lines(session, wave)
    product_id = session.execute(select(Product.id).where(Product.sku == sku)).scalar_one_or_none()
    mine = [ln for ln in lines if ln[4] == product_id]
    waiting = sum(ln[5] - ln[6] for ln in mine)
    issues: list[FieldIssue] = []
    if not mine:
        issues.append(FieldIssue("sku", "wave_issue.not_on_wave", value=sku, params={"sku": sku, "wave": wave.number}))
    elif isinstance(missing, bool) or not isinstance(missing, int) or not 1 <= missing <= waiting:
        issues.append(FieldIssue("qty", "wave_issue.short_qty", value=missing, params={"n": waiting, "sku": sku}))
    if reason not in rules.SHORT_REASONS:
        issues.append(FieldIssue("reason", "issue.unknown_value", value=reason, params={"value": reason}))
    if issues:
        raise ValidationError(issues)
    per_slot: dict[int, int] = {}
    for ln in mine:
        per_slot[ln[0]] = per_slot.get(ln[0], 0) + ln[5] - ln[6]
    slots = rules.short_orders(missing, sorted(per_slot.items()))
    back = {ln[1]: ln[2] for ln in lines if ln[0] in slots}  # a merged parcel's orders share a slot
    for order_id in back:
        orders.transition(order_id, "confirmed", actor, note=Message("note.short_pick", {
            "wave": wave.number, "sku": sku, "reason": {"key": f"short_reason.{reason}"}}),
                          session=session)
        session.execute(update(PickListOrder).where(PickListOrder.pick_list_id == wave.id,
                                                    PickListOrder.order_id == order_id).values(sent_back=reason))
        session.execute(delete(SortScan).where(SortScan.pick_list_id == wave.id, SortScan.order_line_id.in_(
            select(OrderLine.id).where(OrderLine.order_id == order_id))))
    numbers = tuple(back.values())
    session.execute(insert(Alert).values(
        kind="pick_short", severity="warning", entity="pick_list", entity_id=wave.number, created_at=utcnow(),
        **stored("message", Message("alert_msg.pick_short", {
            "sku": sku, "missing": missing, "wave": wave.number, "reason": {"key": f"short_reason.{reason}"},
            "orders": ", ".join(numbers)}))))
    audit.record(session, actor, "wave.short", "pick_list", wave.number,
                 after={"sku": sku, "missing": missing, "reason": reason, "sent_back": list(numbers)})
    return ShortResult(sku, missing, numbers)
