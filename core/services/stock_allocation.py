"""Allocation of scarce stock: propose how one warehouse's units (plus, optionally, an incoming
purchase order) should be shared among the warehouses, and accept the proposal as transfers.

The split itself is :func:`forecasting.allocation.allocate` (safety-stock floors, then in
proportion to forecast demand over the lead time); this module feeds it from the latest
forecast run and the stock position, and accepting recomputes the proposal inside the write
transaction — the transfers follow the stock as it is at that moment, not as it was when the
page was drawn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit
from core.db import read_only, unit_of_work
from core.errors import (
    FieldIssue,
    NotFound,
    ValidationError,
)
from core.models import ForecastSeries, POLine, Product, PurchaseOrder, StockLevel, Supplier, Warehouse
from core.permissions import Actor, require
from core.services.purchasing import RECEIVABLE_STATUSES
from core.services.replenishment import DEFAULT_LEAD_TIME, daily_forecasts, pipeline_quantities, plan_run
from core.services.transfers import TransferResult, create_transfer
from core.timeutil import local_today
from forecasting.allocation import allocate, is_scarce
from forecasting.replenishment import demand_over

DEFAULT_SERVICE_LEVEL = 0.95
CANDIDATE_COLUMNS = ["product_id", "sku", "name", "available", "need", "shortage", "source"]


@dataclass(frozen=True)
class AllocationProposal:
    product_id: int
    sku: str
    source: str  # warehouse code whose units are shared
    on_hand_pool: int  # available at the source now
    incoming: int  # still to arrive on the chosen purchase order
    lead_time_days: int
    scarce: bool
    table: pd.DataFrame  # forecasting.allocation.OUTPUT_COLUMNS + "transfer"

    @property
    def pool(self) -> int:
        return self.on_hand_pool + self.incoming


def _needs(session: Session, product_ids: list[int], service_level: float) -> pd.DataFrame:
    """Per product × active warehouse: demand over the lead time, safety stock, available."""
    run = plan_run(session, local_today()).id  # refuses with the reason when no run covers today
    lead = dict(session.execute(
        select(Product.id, func.coalesce(Product.lead_time_days, Supplier.lead_time_days, DEFAULT_LEAD_TIME))
        .outerjoin(Supplier, Supplier.id == Product.supplier_id).where(Product.id.in_(product_ids))).all())
    sigma = {(r.product_id, r.warehouse_id): (r.sigma_lead_time, r.lead_time_days) for r in session.execute(
        select(ForecastSeries.product_id, ForecastSeries.warehouse_id, ForecastSeries.sigma_lead_time,
               ForecastSeries.lead_time_days)
        .where(ForecastSeries.run_id == run, ForecastSeries.product_id.in_(product_ids)))}
    daily = daily_forecasts(session, run, product_ids)
    levels = {(r.product_id, r.warehouse_id): r.on_hand - r.reserved for r in session.execute(
        select(StockLevel.product_id, StockLevel.warehouse_id, StockLevel.on_hand, StockLevel.reserved)
        .where(StockLevel.product_id.in_(product_ids)))}
    pipeline = pipeline_quantities(session)
    warehouses = session.execute(select(Warehouse.id, Warehouse.code).where(Warehouse.active.is_(True))
                                 .order_by(Warehouse.code)).all()
    z = NormalDist().inv_cdf(service_level)
    rows = []
    for pid in product_ids:
        days = int(lead.get(pid, DEFAULT_LEAD_TIME))
        for wid, code in warehouses:
            key = (pid, wid)
            s, run_lead = sigma.get(key, (0.0, days))
            sigma_l = s * math.sqrt(days / run_lead) if run_lead else s
            available = levels.get(key, 0) - pipeline["backordered"].get(key, 0) + pipeline["in_transit"].get(key, 0)
            rows.append((pid, wid, code, days, demand_over(daily.get(key, np.zeros(0)), days),
                         math.ceil(round(z * sigma_l, 6)), available))
    return pd.DataFrame(rows, columns=["product_id", "warehouse_id", "warehouse", "lead_time_days",
                                       "demand_lead_time", "safety_stock", "available"])


def _proposal(session: Session, product_id: int, source: str, po_id: int | None,
              service_level: float) -> AllocationProposal:
    sku = session.execute(select(Product.sku).where(Product.id == product_id)).scalar_one_or_none()
    if sku is None:
        raise NotFound(f"no product {product_id}", product_id=product_id)
    needs = _needs(session, [product_id], service_level)
    if source not in set(needs["warehouse"]):
        raise ValidationError([FieldIssue("from_warehouse", "issue.unknown_value", value=source,
                                          params={"value": source})])
    at_source = needs["warehouse"] == source
    on_hand_pool = max(int(needs.loc[at_source, "available"].iloc[0]), 0)
    incoming = 0
    if po_id is not None:
        po = session.execute(select(PurchaseOrder.warehouse_id, PurchaseOrder.status, Warehouse.code)
                             .join(Warehouse, Warehouse.id == PurchaseOrder.warehouse_id)
                             .where(PurchaseOrder.id == po_id)).one_or_none()
        if po is None or po.status not in ("draft", *RECEIVABLE_STATUSES) or po.code != source:
            raise ValidationError([FieldIssue("purchase_order", "plan.issue_po_not_open", value=po_id,
                                              params={"id": po_id, "warehouse": source})])
        incoming = int(session.execute(select(func.coalesce(func.sum(POLine.qty_ordered - POLine.qty_received), 0))
                                       .where(POLine.po_id == po_id, POLine.product_id == product_id)).scalar_one())
    # the source's own units are the pool: it takes part in the split with nothing "available"
    frame = needs.assign(available=needs["available"].where(~at_source, 0))
    table = allocate(on_hand_pool + incoming, frame)
    table["transfer"] = table["allocated"].where(table["warehouse"] != source, 0)
    return AllocationProposal(product_id, sku, source, on_hand_pool, incoming,
                              int(needs["lead_time_days"].iloc[0]), is_scarce(on_hand_pool + incoming, table), table)


@read_only
def propose(session: Session, product_id: int, source: str, actor: Actor, *, po_id: int | None = None,
            service_level: float = DEFAULT_SERVICE_LEVEL) -> AllocationProposal:
    """How ``source``'s available units of a product (+ an incoming PO's) should be shared."""
    require(actor, "forecast.view")
    return _proposal(session, product_id, source, po_id, service_level)


@read_only
def candidates(session: Session, actor: Actor, *, service_level: float = DEFAULT_SERVICE_LEVEL) -> pd.DataFrame:
    """Products whose warehouses together need more than is available anywhere (the scarce ones):
    ``CANDIDATE_COLUMNS``, biggest shortage first; ``source`` = the warehouse holding the most."""
    require(actor, "forecast.view")
    run = plan_run(session, local_today()).id  # refuses with the reason when no run covers today
    product_ids = sorted(set(session.execute(select(ForecastSeries.product_id)
                                             .where(ForecastSeries.run_id == run)).scalars()))
    if not product_ids:
        return pd.DataFrame(columns=CANDIDATE_COLUMNS)
    needs = _needs(session, product_ids, service_level)
    table_rows = []
    for pid, group in needs.groupby("product_id", sort=True):
        split = allocate(0, group)
        available = int(group["available"].clip(lower=0).sum())
        need = int(split["need"].sum())
        if need > available and need > 0 and available > 0:
            source = group.loc[group["available"].idxmax(), "warehouse"]
            table_rows.append((int(pid), need - available, need, available, source))
    skus = dict(session.execute(select(Product.id, Product.sku)).all())
    names = dict(session.execute(select(Product.id, Product.name)).all())
    rows = [(pid, skus[pid], names[pid], available, need, shortage, source)
            for pid, shortage, need, available, source in table_rows]
    return pd.DataFrame(rows, columns=CANDIDATE_COLUMNS).sort_values("shortage", ascending=False, ignore_index=True)


@unit_of_work
def accept(session: Session, product_id: int, source: str, actor: Actor, *, po_id: int | None = None,
           service_level: float = DEFAULT_SERVICE_LEVEL) -> list[TransferResult]:
    """Recompute the proposal now and draft one transfer per receiving warehouse."""
    require(actor, "allocation.decide")
    proposal = _proposal(session, product_id, source, po_id, service_level)
    moves = proposal.table[proposal.table["transfer"] > 0]
    if moves.empty:
        raise ValidationError([FieldIssue("allocated", "plan.issue_nothing_to_move")])
    transfers = [
        create_transfer(source, row.warehouse, [(proposal.sku, int(row.transfer))], actor,
                        note=f"allocation of scarce stock ({proposal.sku})", session=session)
        for row in moves.itertuples(index=False)
    ]
    audit.record(session, actor, "allocation.accept", "product", proposal.sku, after={
        "source": source, "pool": proposal.pool, "incoming": proposal.incoming,
        "split": dict(zip(proposal.table["warehouse"], proposal.table["allocated"].astype(int), strict=True)),
        "transfers": [t.number for t in transfers]})
    return transfers
