"""Carriers on the warehouse floor: price lists (province × weight band), pre-allocated
tracking-number ranges, which carrier a parcel goes with, and the checks at dispatch.

- **Choice**: an order whose carrier is already set — by a carrier rule when it was placed
  (Admin → Rules: by channel, customer tier, province …) or by hand — keeps it (*forced*);
  otherwise the cheapest active carrier whose price list serves the ship-to province at the
  parcel's expected weight (Σ qty × the products' unit weights) is taken.
- **Dispatch checks**: a typed tracking number must match the carrier's pattern; a weighed
  parcel more than the ``weighing.tolerance_pct`` setting away from the expected weight ships
  only once the packer confirms it (:func:`check_dispatch`).

Number ranges and the adapter a real carrier API would plug into live in
:mod:`core.services.tracking_numbers`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.orm import Session

from core import audit
from core import product_rules as fr
from core.db import read_only, unit_of_work
from core.domain import parcels
from core.errors import FieldIssue, NotFound, Refused, ValidationError
from core.geo import normalise_province
from core.models import ANY_PROVINCE, Carrier, CarrierRate, Order, OrderLine, Product
from core.permissions import Actor, require
from core.services import shop_settings

MAX_RATE_ROWS = 2_000
MAX_RATE_COST = Decimal("100000.00")
RATE_COLUMNS = ["carrier", "province", "max_kg", "cost"]


@dataclass(frozen=True)
class RateRow:
    province: str  # a province, or ``*`` for every province without rows of its own
    max_kg: Any  # upper end of the weight band (kg); text or Decimal as typed
    cost: Any


@dataclass(frozen=True)
class CarrierChoice:
    code: str
    name: str
    cost: Decimal | None  # None: forced carrier without a rate for this parcel
    forced: bool
    expected_kg: Decimal
    unweighed_lines: int  # lines whose product has no weight recorded (counted as 0 kg)


# --- lookups ---------------------------------------------------------------------------------


def carrier_row(session: Session, text: str | None) -> Any:
    """The carrier an order's ``carrier`` text names (its name, or its code); None if unknown."""
    value = (text or "").strip()
    if not value:
        return None
    return session.execute(
        select(Carrier.id, Carrier.code, Carrier.name, Carrier.tracking_pattern, Carrier.services, Carrier.active)
        .where(or_(Carrier.name == value, Carrier.code == value.upper()))).first()


def _carrier_by_code(session: Session, code: str) -> Any:
    row = carrier_row(session, code)
    if row is None:
        raise NotFound.coded("carrier.unknown", carrier=code)
    return row


def _rates(session: Session) -> list[parcels.Rate]:
    return [parcels.Rate(r.code, r.province, r.max_kg, r.cost) for r in session.execute(
        select(Carrier.code, CarrierRate.province, CarrierRate.max_kg, CarrierRate.cost)
        .join(Carrier, Carrier.id == CarrierRate.carrier_id).where(Carrier.active.is_(True)))]


def expected_weight(session: Session, order_id: int) -> tuple[Decimal, int]:
    """The parcel's expected weight from its products' unit weights (kg), and how many of its
    lines have no weight recorded."""
    return parcels.expected_weight((int(qty), kg) for qty, kg in session.execute(
        select(OrderLine.qty, Product.weight_kg).join(Product, Product.id == OrderLine.product_id)
        .where(OrderLine.order_id == order_id)))


def choose(session: Session, order_id: int) -> CarrierChoice:
    """The carrier an order ships with (see the module docstring); refuses when no active
    carrier serves the province at that weight."""
    order = session.execute(select(Order.number, Order.carrier, Order.ship_province)
                            .where(Order.id == order_id)).first()
    if order is None:
        raise NotFound.coded("carrier.no_order", order=order_id)
    weight, unknown = expected_weight(session, order_id)
    rates = _rates(session)
    province = normalise_province(order.ship_province)
    forced = carrier_row(session, order.carrier)
    if forced is not None:
        quoted = parcels.quote(rates, forced.code, province, weight)
        return CarrierChoice(forced.code, forced.name, quoted.cost if quoted else None, True, weight, unknown)
    if order.carrier:  # a carrier the table does not know (an import's free text): keep it
        return CarrierChoice("", order.carrier, None, True, weight, unknown)
    best = parcels.cheapest(rates, province, weight)
    if best is None:
        raise Refused("carrier.none_serves", number=order.number, province=province or "—", weight=weight)
    name = session.execute(select(Carrier.name).where(Carrier.code == best.carrier)).scalar_one()
    return CarrierChoice(best.carrier, name, best.cost, False, weight, unknown)


def cheapest_name(session: Session, order_id: int) -> str | None:
    """The carrier :func:`choose` gives, or None when none serves the order (the packer
    then names one)."""
    try:
        return choose(session, order_id).name
    except Refused:
        return None


@read_only
def suggest_carrier(session: Session, order_id: int, actor: Actor) -> CarrierChoice:
    """Which carrier the order would go with, at what cost, and the weight to expect."""
    require(actor, "order.fulfil")
    return choose(session, order_id)


# --- dispatch checks -------------------------------------------------------------------------


def tracking_issue(session: Session, number: str, carrier: str, tracking: str, row: int | None) -> FieldIssue | None:
    """A typed tracking number that does not look like the carrier's (names order, number and
    carrier); None when it does or the carrier checks nothing."""
    found = carrier_row(session, carrier)
    if found is None or not tracking or parcels.matches_pattern(found.tracking_pattern, tracking):
        return None
    return FieldIssue("tracking_no", "carrier.issue_pattern", row, tracking,
                      params={"number": number, "tracking": tracking, "carrier": found.name})


def check_dispatch(session: Session, order_id: int, number: str, weighed_kg: Decimal | None,
                   confirm_weight: bool) -> None:
    """Refuse a weighed parcel whose weight is off by more than the shop's tolerance unless
    the packer confirmed it (a missing or extra item shows on the scale)."""
    if weighed_kg is None:
        return
    if not (Decimal(0) < weighed_kg <= parcels.MAX_PARCEL_KG):
        raise ValidationError([FieldIssue("weight", "carrier.issue_weight", value=str(weighed_kg),
                                          params={"high": parcels.MAX_PARCEL_KG})])
    expected, _ = expected_weight(session, order_id)
    tolerance = int(shop_settings.current_values(session)["weighing.tolerance_pct"])
    off = parcels.weight_needs_confirming(expected, weighed_kg, tolerance)
    if off is not None and not confirm_weight:
        raise Refused("carrier.weight_off", number=number, weighed=weighed_kg, expected=expected, off=off,
                      tolerance=tolerance)


# --- price lists -----------------------------------------------------------------------------


@read_only
def list_rates(session: Session, actor: Actor, *, carrier: str | None = None) -> pd.DataFrame:
    """Every price-list row (of one carrier when given), by carrier, province, band."""
    require(actor, "masterdata.view")
    stmt = (select(Carrier.code, CarrierRate.province, CarrierRate.max_kg, CarrierRate.cost)
            .join(Carrier, Carrier.id == CarrierRate.carrier_id)
            .order_by(Carrier.code, CarrierRate.province, CarrierRate.max_kg))
    if carrier:
        stmt = stmt.where(Carrier.code == carrier.strip().upper())
    return pd.DataFrame(session.execute(stmt).all(), columns=RATE_COLUMNS)


def _rate_values(rows: list[RateRow]) -> list[dict[str, Any]]:
    issues: list[FieldIssue] = []
    if len(rows) > MAX_RATE_ROWS:
        raise ValidationError([FieldIssue("rates", "carrier.issue_too_many", params={"n": MAX_RATE_ROWS})])
    seen: dict[tuple[str, Decimal], int] = {}
    values = []
    for row_no, rate in enumerate(rows, start=1):
        mine: list[FieldIssue] = []
        raw = str(rate.province or "").strip()
        province = ANY_PROVINCE if raw == ANY_PROVINCE else normalise_province(raw) or ""
        if not province:
            mine.append(FieldIssue("province", "issue.required"))
        elif len(province) > 32:
            mine.append(FieldIssue("province", "issue.too_long", params={"n": 32}))
        max_kg = fr.decimal(rate.max_kg, "max_kg", mine, places=parcels.KG, high=parcels.MAX_PARCEL_KG, required=True)
        if max_kg is not None and max_kg <= 0:
            mine.append(FieldIssue("max_kg", "carrier.issue_band", value=str(max_kg)))
        cost = fr.decimal(rate.cost, "cost", mine, places=Decimal("0.01"), high=MAX_RATE_COST, required=True)
        if not mine and max_kg is not None:
            if (province, max_kg) in seen:
                mine.append(FieldIssue("max_kg", "carrier.issue_band_twice", value=str(max_kg),
                                       params={"row": seen[(province, max_kg)]}))
            seen[(province, max_kg)] = row_no
        issues.extend(dataclasses.replace(i, row=row_no) for i in mine)
        values.append({"province": province, "max_kg": max_kg, "cost": cost})
    if issues:
        raise ValidationError(issues)
    return values


@unit_of_work
def set_rates(session: Session, carrier: str, rows: list[RateRow], actor: Actor) -> int:
    """Replace a carrier's whole price list (all or nothing; each bad row is named). Returns
    the number of rows now on it."""
    require(actor, "masterdata.edit")
    found = _carrier_by_code(session, carrier)
    values = _rate_values(rows)
    before = session.execute(select(func.count()).select_from(CarrierRate)
                             .where(CarrierRate.carrier_id == found.id)).scalar_one()
    session.execute(delete(CarrierRate).where(CarrierRate.carrier_id == found.id))
    if values:
        session.execute(insert(CarrierRate), [{"carrier_id": found.id, **v} for v in values])
    audit.record(session, actor, "carrier.rates", "carrier", found.code, before={"rows": before},
                 after={"rows": len(values)})
    return len(values)
