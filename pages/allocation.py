"""Allocation of scarce stock (managers): when one warehouse's units — plus, optionally, a
purchase order on its way there — cannot cover what every warehouse needs over the lead time,
propose a split (safety-stock floors first, then in proportion to forecast demand), explain
it, and accept it as draft transfers.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core.analytics.planning import open_purchase_orders_for
from core.errors import OMSError
from core.locales.planning import COLUMNS
from core.services.catalog import list_warehouses
from core.services.stock_allocation import AllocationProposal, accept, candidates, propose
from core.webui import (
    Notice,
    attempt,
    cached_read,
    guard_page,
    percent,
    show_chart,
    show_notice,
    show_table,
    t,
)
from pages._planning_charts import allocation_figure

actor = guard_page("allocation.decide")
state = st.session_state
TABLE_COLUMNS = ["warehouse", "demand_lead_time", "safety_stock", "available", "need", "floor", "allocated",
                 "share_of_demand", "transfer"]


def _accept(product_id: int, source: str, po_id: int | None) -> None:
    try:
        transfers = accept(product_id, source, actor, po_id=po_id)
    except OMSError as exc:
        state["al_notice"] = exc
        return
    state["al_notice"] = Notice("success", "plan.alloc_done", {"numbers": ", ".join(x.number for x in transfers)})


def _explain(proposal: AllocationProposal) -> str:
    table = proposal.table
    lines = [t("plan.alloc.pool", source=proposal.source, on_hand=proposal.on_hand_pool, incoming=proposal.incoming,
               pool=proposal.pool, need=int(table["need"].sum()), lead=proposal.lead_time_days)]
    if not proposal.scarce:
        lines.append(t("plan.alloc.enough"))
    elif proposal.pool <= int(table["floor"].sum()):
        lines.append(t("plan.alloc.floors_only", floors=int(table["floor"].sum())))
    else:
        lines.append(t("plan.alloc.floors_then_share", floors=int(table["floor"].sum()),
                       rest=proposal.pool - int(table["floor"].sum())))
    for row in table.itertuples(index=False):
        lines.append(t("plan.alloc.row", warehouse=row.warehouse, demand=f"{row.demand_lead_time:.1f}",
                       share=percent(row.share_of_demand, 0), ss=row.safety_stock, available=row.available,
                       need=row.need, floor=row.floor, allocated=row.allocated))
    return "\n".join(f"- {line}" for line in lines)


def _proposal_section(product_id: int, default_source: str, warehouses: list[str]) -> None:
    source = st.selectbox(t("plan.alloc_source"), warehouses, index=warehouses.index(default_source),
                          key=f"al_source_{product_id}")
    pos = cached_read(open_purchase_orders_for, product_id, source)
    options: dict[int | None, str] = {None: t("plan.alloc_no_po")} | {
        int(r.id): f"{r.number} · {t(f'plan.po_status.{r.status}')} · {r.open_qty}" for r in pos.itertuples()}
    po_id = st.selectbox(t("plan.alloc_incoming"), list(options), format_func=options.__getitem__,
                         key=f"al_po_{product_id}")
    proposal = attempt(propose, product_id, source, actor, po_id=po_id)
    if proposal is None:
        return
    show_table(proposal.table[TABLE_COLUMNS], f"allocation_{proposal.sku}", prefix=COLUMNS,
               percent=("share_of_demand",))
    show_chart(allocation_figure(proposal.table, {k: t(f"plan.col.{k}") for k in ("need", "floor", "allocated")}
                                      | {"units": t("plan.chart.units")}), key="al_chart")
    st.markdown(_explain(proposal))
    show_notice(state.get("al_notice"))
    if int(proposal.table["transfer"].sum()) > 0:
        st.button(t("plan.alloc_accept"), type="primary", key="al_accept", on_click=_accept,
                  args=(product_id, source, po_id))


def _pick(scarce: pd.DataFrame) -> tuple[int, str] | None:
    names: dict[int, str] = {int(r.product_id): f"{r.sku} · {r.name}" for r in scarce.itertuples()}
    picked = st.selectbox(t("plan.alloc_pick"), list(names), format_func=names.__getitem__, key="al_product")
    if picked is None:
        return None
    row: Any = scarce[scarce["product_id"] == picked].iloc[0]
    return int(picked), str(row["source"])


st.title(t("page.allocation"))
st.caption(t("plan.alloc_hint"))
scarce = attempt(candidates, actor)
if scarce is not None and scarce.empty:
    st.info(t("plan.alloc_none"))
elif scarce is not None:
    show_table(scarce.drop(columns=["product_id"]), "scarce_products", prefix=COLUMNS)
    choice = _pick(scarce)
    if choice is not None:
        _proposal_section(choice[0], choice[1], sorted(cached_read(list_warehouses)["code"]))
