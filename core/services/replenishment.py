"""Replenishment suggestions: compute from the forecast run covering the as-of date (default
today), then accept / edit / dismiss, and turn the accepted ones into draft purchase orders
grouped by supplier and warehouse. Demand counts from the as-of date; the stock position is
always the current one. No covering run is refused with the reason, and a computation that
suggests nothing says why.

Generating suggestions reads the stock position and writes the suggestions in *one*
transaction (and, on PostgreSQL, under an advisory lock), and it nets out everything already
in the pipeline: open PO lines not yet received (drafts included), transfers on their way,
and suggestions a buyer accepted that are not on a PO yet. Open suggestions of an earlier
computation are superseded, never left next to the new ones — so pressing the button twice,
or two buyers pressing it at once, never suggests the same units twice.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from core import audit
from core.asof import check_as_of
from core.db import rowcount, unit_of_work
from core.errors import FieldIssue, Refused, ValidationError
from core.jobs import kinds
from core.models import (
    Forecast,
    ForecastRun,
    ForecastSeries,
    Order,
    OrderLine,
    POLine,
    Product,
    PurchaseOrder,
    ReplenishmentSuggestion,
    StockLevel,
    Supplier,
    Transfer,
    TransferLine,
)
from core.permissions import Actor, require
from core.services import jobs
from core.services.purchasing import OPEN_PO_STATUSES, POInfo, POLineInput, create_purchase_order
from core.timeutil import local_today, utcnow
from forecasting.replenishment import Plan, Policy, Position, plan

DEFAULT_LEAD_TIME = 7
PENDING_STATUSES = ("accepted", "edited")  # decided, not yet on a purchase order
IN_TRANSIT_STATUSES = ("shipped", "partial")
SUGGEST_LOCK = 7_002  # PostgreSQL advisory lock: one computation at a time
MAX_REASON = 500


@dataclass(frozen=True)
class SuggestionSummary:
    """What a computation did. ``reason`` (a message code, or None) says why it made no
    suggestion although it planned ``checked`` series from ``as_of`` on."""

    run_id: int
    suggestions: int
    units: int
    value: Decimal  # of the suggestions whose product cost is known
    superseded: int
    as_of: dt.date | None = None
    checked: int = 0
    reason: str | None = None
    cost_unknown: int = 0  # suggestions left out of the value: the product's cost is unknown


@dataclass(frozen=True)
class PlanRun:
    """The forecast run a computation plans from, and the days it forecasts."""

    id: int
    first_day: dt.date
    last_day: dt.date


def _sum_by_key(rows: Iterable[Sequence[Any]]) -> dict[tuple[int, int], int]:
    out: dict[tuple[int, int], int] = defaultdict(int)
    for product_id, warehouse_id, qty in rows:
        out[(int(product_id), int(warehouse_id))] += int(qty or 0)
    return out


def pipeline_quantities(session: Session) -> dict[str, dict[tuple[int, int], int]]:
    """Everything already promised or on its way, per (product, warehouse)."""
    backordered = session.execute(
        select(OrderLine.product_id, func.coalesce(OrderLine.warehouse_id, Order.warehouse_id),
               func.sum(OrderLine.qty - OrderLine.qty_reserved))
        .join(Order, Order.id == OrderLine.order_id).where(Order.status == "backordered")
        .group_by(OrderLine.product_id, func.coalesce(OrderLine.warehouse_id, Order.warehouse_id))).all()
    on_order = session.execute(
        select(POLine.product_id, PurchaseOrder.warehouse_id, func.sum(POLine.qty_ordered - POLine.qty_received))
        .join(PurchaseOrder, PurchaseOrder.id == POLine.po_id).where(PurchaseOrder.status.in_(OPEN_PO_STATUSES))
        .group_by(POLine.product_id, PurchaseOrder.warehouse_id)).all()
    in_transit = session.execute(
        select(TransferLine.product_id, Transfer.to_warehouse_id,
               func.sum(TransferLine.qty_shipped - TransferLine.qty_received))
        .join(Transfer, Transfer.id == TransferLine.transfer_id).where(Transfer.status.in_(IN_TRANSIT_STATUSES))
        .group_by(TransferLine.product_id, Transfer.to_warehouse_id)).all()
    pending = session.execute(
        select(ReplenishmentSuggestion.product_id, ReplenishmentSuggestion.warehouse_id,
               func.sum(func.coalesce(ReplenishmentSuggestion.final_qty, ReplenishmentSuggestion.suggested_qty)))
        .where(ReplenishmentSuggestion.status.in_(PENDING_STATUSES))
        .group_by(ReplenishmentSuggestion.product_id, ReplenishmentSuggestion.warehouse_id)).all()
    return {"backordered": _sum_by_key([r for r in backordered if r[1] is not None]),
            "on_order": _sum_by_key(on_order), "in_transit": _sum_by_key(in_transit), "pending": _sum_by_key(pending)}


def daily_forecasts(session: Session, run_id: int, product_ids: list[int] | None = None,
                    from_day: dt.date | None = None) -> dict[tuple[int, int], np.ndarray]:
    """The run's forecast per series from ``from_day`` (default today) on: a run from days ago
    loses its past days."""
    stmt = (select(Forecast.product_id, Forecast.warehouse_id, Forecast.yhat)
            .where(Forecast.run_id == run_id, Forecast.ds >= (from_day or local_today()))
            .order_by(Forecast.product_id, Forecast.warehouse_id, Forecast.ds))
    if product_ids is not None:
        stmt = stmt.where(Forecast.product_id.in_(product_ids))
    rows = session.execute(stmt).all()
    grouped: dict[tuple[int, int], list[float]] = defaultdict(list)
    for product_id, warehouse_id, yhat in rows:
        grouped[(product_id, warehouse_id)].append(float(yhat))
    return {key: np.array(values) for key, values in grouped.items()}


def _forecast_days(session: Session, run_id: int) -> tuple[dt.date, dt.date] | None:
    """First and last forecast day of a run (two seeks on the run's index); None if it has none."""
    first, last = session.execute(select(func.min(Forecast.ds), func.max(Forecast.ds))
                                  .where(Forecast.run_id == run_id)).one()
    return None if first is None else (first, last)


def plan_run(session: Session, as_of: dt.date, run_id: int | None = None) -> PlanRun:
    """The forecast run to plan from as of ``as_of``: ``run_id``, else the newest succeeded run
    whose forecast starts on or before ``as_of`` and still covers it. Refuses with the reason
    when there is none: no run at all, only runs as of later days, or a run whose horizon
    ended before ``as_of``."""
    query = select(ForecastRun.id).where(ForecastRun.status == "succeeded")
    if run_id is not None:
        query = query.where(ForecastRun.id == run_id)
    runs = session.execute(query.order_by(ForecastRun.id.desc())).scalars().all()
    if not runs:
        raise Refused("asof.no_run") if run_id is None else Refused("asof.no_such_run", run=run_id)
    later = None
    for rid in runs:
        days = _forecast_days(session, rid)
        if days is None:
            continue
        if days[0] > as_of:
            later = later or (rid, days)
            continue
        if days[1] < as_of:
            raise Refused("asof.run_too_old", run=rid, first=days[0].isoformat(), last=days[1].isoformat(),
                          as_of=as_of.isoformat())
        return PlanRun(rid, days[0], days[1])
    if later is None:
        raise Refused("asof.run_empty", run=runs[0])
    raise Refused("asof.run_after_as_of", run=later[0], first=later[1][0].isoformat(), as_of=as_of.isoformat())


def _checked(service_level: object, review_days: object, as_of: dt.date | None) -> dt.date:
    """The as-of date (default today) once the inputs of a computation are acceptable."""
    issues = []
    if not isinstance(service_level, int | float) or not 0.5 <= service_level <= 0.999:
        issues.append(FieldIssue("service_level", "issue.between", value=service_level,
                                 params={"low": 0.5, "high": 0.999}))
    if not isinstance(review_days, int) or isinstance(review_days, bool) or not 0 <= review_days <= 90:
        issues.append(FieldIssue("review_days", "issue.whole_between", value=review_days,
                                 params={"low": 0, "high": 90}))
    try:
        day = check_as_of(as_of)
    except ValidationError as exc:
        issues += exc.issues
    if issues:
        raise ValidationError(issues)
    return day


def start_suggestions(actor: Actor, *, service_level: float = 0.95, review_days: int = 7, run_id: int | None = None,
                      as_of: dt.date | None = None) -> int:
    """Queue a computation of suggestions for the worker (the Replenishment page's button);
    returns the job's id. The inputs are checked now; the worker calls
    :func:`generate_suggestions` with them."""
    require(actor, "replenish.decide")
    day = _checked(service_level, review_days, as_of)
    return jobs.submit(kinds.REPLENISH, {"service_level": float(service_level), "review_days": review_days,
                                         "run_id": run_id, "as_of": day.isoformat()}, actor, "replenish.decide")


@unit_of_work
def generate_suggestions(session: Session, actor: Actor, *, service_level: float = 0.95, review_days: int = 7,
                         run_id: int | None = None, as_of: dt.date | None = None) -> SuggestionSummary:
    """Compute suggestions as of ``as_of`` (default today) from forecast run ``run_id``
    (default: the newest succeeded run covering ``as_of``, see :func:`plan_run`).

    Demand over the lead time is the run's forecast from ``as_of`` on; the stock position is
    always the current one (on hand, reserved and on order *now*): a past as-of date plans the
    shop's stock against the demand forecast from that date."""
    require(actor, "replenish.decide")
    as_of = _checked(service_level, review_days, as_of)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SUGGEST_LOCK})
    planned = plan_run(session, as_of, run_id)
    run = planned.id
    series = session.execute(select(ForecastSeries.product_id, ForecastSeries.warehouse_id,
                                    ForecastSeries.sigma_lead_time, ForecastSeries.lead_time_days)
                             .where(ForecastSeries.run_id == run)).all()
    products = {r.id: r for r in session.execute(
        select(Product.id, Product.supplier_id, Product.pack_size, Product.unit_cost, Product.active,
               func.coalesce(Product.lead_time_days, Supplier.lead_time_days, DEFAULT_LEAD_TIME).label("lead"),
               func.coalesce(Supplier.moq, 1).label("moq"))
        .outerjoin(Supplier, Supplier.id == Product.supplier_id))}
    levels = {(r.product_id, r.warehouse_id): (r.on_hand, r.reserved) for r in session.execute(
        select(StockLevel.product_id, StockLevel.warehouse_id, StockLevel.on_hand, StockLevel.reserved))}
    pipeline = pipeline_quantities(session)
    daily = daily_forecasts(session, run, from_day=as_of)
    superseded = rowcount(session.execute(update(ReplenishmentSuggestion).where(ReplenishmentSuggestion.status == "open")
                                          .values(status="superseded")))
    now = utcnow()
    rows, checked = [], 0
    for product_id, warehouse_id, sigma_run, lead_run in series:
        product = products.get(product_id)
        if product is None or not product.active:
            continue
        checked += 1
        key = (product_id, warehouse_id)
        on_hand, reserved = levels.get(key, (0, 0))
        position = Position(on_hand, reserved, pipeline["backordered"].get(key, 0), pipeline["on_order"].get(key, 0),
                            pipeline["in_transit"].get(key, 0), pipeline["pending"].get(key, 0))
        lead = int(product.lead)
        # σ_L was estimated for the lead time of the run; rescale if the lead time changed since
        sigma = float(sigma_run) * math.sqrt(lead / lead_run) if lead_run else float(sigma_run)
        policy = Policy(lead, review_days, float(service_level), int(product.pack_size or 1), int(product.moq))
        result = plan(daily.get(key, np.zeros(0)), sigma, position, policy)
        if result.suggested_qty > 0:
            rows.append(_row(run, key, result, position, policy, product, now))
    if rows:
        session.execute(ReplenishmentSuggestion.__table__.insert(), rows)
    units = sum(r["suggested_qty"] for r in rows)
    # products whose cost is unknown add nothing to the value; the summary says how many
    value = sum((r["unit_cost"] * r["suggested_qty"] for r in rows if r["unit_cost"] is not None), Decimal("0"))
    cost_unknown = sum(r["unit_cost"] is None for r in rows)
    reason = None if rows else ("asof.nothing_below_reorder" if checked else "asof.no_active_series")
    audit.record(session, actor, "replenish.suggest", "forecast_run", run, after={
        "suggestions": len(rows), "units": units, "value": value, "cost_unknown": cost_unknown,
        "superseded": superseded, "service_level": service_level, "review_days": review_days,
        "as_of": as_of.isoformat(), "checked": checked, **({"reason": reason} if reason else {})})
    return SuggestionSummary(run, len(rows), units, value, superseded, as_of, checked, reason, cost_unknown)


def _row(run_id: int, key: tuple[int, int], result: Plan, position: Position, policy: Policy, product: Any,
         now: dt.datetime) -> dict[str, Any]:
    """The suggestion row: the result and every input the buyer needs to check the arithmetic."""
    return {
        "run_id": run_id, "created_at": now, "product_id": key[0], "warehouse_id": key[1],
        "demand_lead_time": round(result.demand_lead_time, 3), "demand_sigma": round(result.sigma_lead_time, 3),
        "safety_stock": result.safety_stock, "reorder_point": result.reorder_point,
        "order_up_to": result.order_up_to, "on_hand": position.on_hand, "reserved": position.reserved,
        "on_order": position.on_order, "suggested_qty": result.suggested_qty, "status": "open",
        "supplier_id": product.supplier_id, "lead_time_days": policy.lead_time_days,
        "review_days": policy.review_days, "service_level": policy.service_level,
        "backordered": position.backordered, "pending_qty": position.pending, "in_transit": position.in_transit,
        "daily_demand": round(result.daily_demand, 4), "days_to_stockout": result.days_to_stockout,
        "unit_cost": product.unit_cost, "pack_size": policy.pack_size, "moq": policy.moq,
    }


def _open_suggestions(session: Session, ids: list[int]) -> dict[int, ReplenishmentSuggestion]:
    found = {s.id: s for s in session.execute(
        select(ReplenishmentSuggestion).where(ReplenishmentSuggestion.id.in_(ids))).scalars()}
    issues = []
    for row, sid in enumerate(ids, start=1):
        if sid not in found:
            issues.append(FieldIssue("suggestion", "rp.issue_no_suggestion", row, sid, params={"id": sid}))
        elif found[sid].status != "open":
            issues.append(FieldIssue("suggestion", "rp.issue_not_open", row, sid,
                                     params={"id": sid, "status": found[sid].status}))
    if issues:
        raise ValidationError(issues)
    return found


@unit_of_work
def accept_suggestions(session: Session, decisions: dict[int, int | None], actor: Actor) -> int:
    """Accept open suggestions ``{id: qty}``; a qty other than suggested (``None`` = as
    suggested) records the buyer's edit. Returns how many were accepted."""
    require(actor, "replenish.decide")
    if not decisions:
        raise ValidationError([FieldIssue("suggestion", "rp.issue_select")])
    ids = sorted(decisions)
    found = _open_suggestions(session, ids)
    issues = [FieldIssue("qty", "rp.issue_qty", row, qty)
              for row, (_, qty) in enumerate(sorted(decisions.items()), start=1)
              if qty is not None and (not isinstance(qty, int) or qty <= 0)]
    if issues:
        raise ValidationError(issues)
    now = utcnow()
    for sid in ids:
        suggestion = found[sid]
        qty = decisions[sid] if decisions[sid] is not None else suggestion.suggested_qty
        suggestion.status = "accepted" if qty == suggestion.suggested_qty else "edited"
        suggestion.final_qty, suggestion.decided_by, suggestion.decided_at = qty, actor.username, now
        audit.record(session, actor, f"replenish.{suggestion.status}", "replenishment_suggestion", sid,
                     before={"status": "open", "suggested_qty": suggestion.suggested_qty},
                     after={"status": suggestion.status, "final_qty": qty})
    return len(ids)


@unit_of_work
def dismiss_suggestions(session: Session, ids: list[int], reason: str, actor: Actor) -> int:
    """Dismiss open suggestions with the buyer's reason (required: the next buyer must know why)."""
    require(actor, "replenish.decide")
    reason = (reason or "").strip()
    issues = []
    if not ids:
        issues.append(FieldIssue("suggestion", "rp.issue_select"))
    if not reason:
        issues.append(FieldIssue("reason", "issue.required"))
    elif len(reason) > MAX_REASON:
        issues.append(FieldIssue("reason", "issue.too_long", params={"n": MAX_REASON}))
    if issues:
        raise ValidationError(issues)
    found = _open_suggestions(session, sorted(ids))
    now = utcnow()
    for sid, suggestion in sorted(found.items()):
        suggestion.status, suggestion.reason = "dismissed", reason
        suggestion.decided_by, suggestion.decided_at = actor.username, now
        audit.record(session, actor, "replenish.dismiss", "replenishment_suggestion", sid,
                     before={"status": "open"}, after={"status": "dismissed", "reason": reason})
    return len(found)


@unit_of_work
def create_draft_pos(session: Session, actor: Actor, suggestion_ids: list[int] | None = None) -> list[POInfo]:
    """Turn accepted suggestions (all of them, or ``suggestion_ids``) into draft POs, one per
    supplier × receiving warehouse; the suggestions become ``ordered``."""
    require(actor, "purchase.edit")
    stmt = select(ReplenishmentSuggestion).where(ReplenishmentSuggestion.status.in_(PENDING_STATUSES))
    if suggestion_ids is not None:
        stmt = stmt.where(ReplenishmentSuggestion.id.in_(suggestion_ids))
    accepted = list(session.execute(stmt.order_by(ReplenishmentSuggestion.id)).scalars())
    if suggestion_ids is not None and len(accepted) != len(set(suggestion_ids)):
        missing = sorted(set(suggestion_ids) - {s.id for s in accepted})
        raise ValidationError([FieldIssue("suggestion", "rp.issue_not_accepted", row, sid, params={"id": sid})
                               for row, sid in enumerate(missing, start=1)])
    if not accepted:
        raise ValidationError([FieldIssue("suggestion", "rp.issue_none_accepted")])
    supplier_of = {pid: sup for pid, sup in session.execute(select(Product.id, Product.supplier_id).where(
        Product.id.in_([s.product_id for s in accepted]))) if sup is not None}
    skus = dict(session.execute(select(Product.id, Product.sku).where(
        Product.id.in_([s.product_id for s in accepted]))).all())
    issues = [FieldIssue("supplier", "rp.issue_no_supplier", row, skus[s.product_id],
                         params={"sku": skus[s.product_id]})
              for row, s in enumerate(accepted, start=1) if supplier_of.get(s.product_id) is None]
    if issues:
        raise ValidationError(issues)
    groups: dict[tuple[int, int], list[ReplenishmentSuggestion]] = defaultdict(list)
    for s in accepted:
        groups[(supplier_of[s.product_id], s.warehouse_id)].append(s)
    created = []
    for (supplier_id, warehouse_id), items in sorted(groups.items()):
        # two accepted suggestions for one SKU (a second computation topped up the first) make
        # one line: the PO line keeps the first suggestion's id, both become "ordered"
        merged: dict[int, POLineInput] = {}
        for s in items:
            qty = int(s.final_qty or s.suggested_qty)
            prior = merged.get(s.product_id)
            merged[s.product_id] = POLineInput(s.product_id, qty + (prior.qty if prior else 0), s.unit_cost,
                                               prior.suggestion_id if prior else s.id)
            s.status = "ordered"
        created.append(create_purchase_order(supplier_id, warehouse_id, list(merged.values()), actor,
                                             note="from replenishment suggestions", session=session))
    session.flush()
    audit.record(session, actor, "replenish.order", "replenishment_suggestion", None,
                 after={"purchase_orders": [po.number for po in created],
                        "suggestions": [s.id for s in accepted]})
    return created
