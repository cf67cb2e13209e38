"""The fulfilment page's *Merged orders* tab (合单): what could ship together now, merging it
(all, or chosen orders by hand), and the open merged shipments with *Undo*. Each button is one
call into ``core.services.merging``."""

from __future__ import annotations

import streamlit as st

from core.errors import OMSError
from core.permissions import Actor
from core.services import merging
from core.services.fulfillment import fulfilment_queue
from core.webui import Notice, attempt, localize_times, show_notice, show_table, t

NOTICE = "fl_merge_notice"


def _merge_all(actor: Actor) -> None:
    try:
        made = merging.auto_merge(actor, force=True)
    except OMSError as exc:
        st.session_state[NOTICE] = exc
        return
    st.session_state[NOTICE] = Notice("success", "merge.merged_n", {"n": len(made)})


def _merge_chosen(actor: Actor) -> None:
    try:
        made = merging.merge_orders(st.session_state.get("fl_merge_orders") or [], actor)
    except OMSError as exc:
        st.session_state[NOTICE] = exc
        return
    st.session_state["fl_merge_orders"] = []
    st.session_state[NOTICE] = Notice("success", "merge.merged", {"group": made.group, "orders": ", ".join(made.orders)})


def _undo(actor: Actor) -> None:
    try:
        numbers = merging.undo_merge(str(st.session_state.get("fl_merge_group") or ""), actor)
    except OMSError as exc:
        st.session_state[NOTICE] = exc
        return
    st.session_state[NOTICE] = Notice("success", "merge.undone", {"orders": ", ".join(numbers)})


def merge_tab(actor: Actor) -> None:
    """Render the tab for ``actor`` (a warehouse user: ``order.fulfil``)."""
    st.caption(t("merge.intro"))
    show_notice(st.session_state.pop(NOTICE, None), what="merged_shipment")
    st.subheader(t("merge.candidates"))
    # one GROUP BY over every open order: asked for, not run on each rerun of the page's tabs
    candidates = attempt(merging.merge_candidates, actor) if st.toggle(t("merge.find"), key="fl_merge_find") else None
    if candidates is not None and candidates.empty:
        st.info(t("merge.no_candidates"))
    elif candidates is not None:
        show_table(localize_times(candidates.drop(columns=["channel_id"]), "placed_at"), "merge_candidates",
                   prefix="merge_col")
        st.button(t("merge.merge_all"), key="fl_merge_all", type="primary", on_click=_merge_all, args=(actor,))
    confirmed = attempt(fulfilment_queue, actor, statuses=["confirmed"])
    if confirmed is not None and not confirmed.empty:
        options = {str(r.number): f"{r.number} · {r.customer or ''}" for r in confirmed.itertuples()}
        st.multiselect(t("merge.pick_orders"), list(options), format_func=options.__getitem__, key="fl_merge_orders",
                       placeholder=t("fl.pick_order"))
        st.button(t("merge.merge_selected"), key="fl_merge_chosen", on_click=_merge_chosen, args=(actor,))
    st.subheader(t("merge.groups"))
    groups = attempt(merging.merge_groups, actor)
    if groups is not None and groups.empty:
        st.info(t("merge.no_groups"))
    elif groups is not None:
        show_table(localize_times(groups, "created_at"), "merged_shipments", prefix="merge_col")
        st.selectbox(t("merge_col.group"), list(groups["group"]), key="fl_merge_group")
        st.button(t("merge.undo"), key="fl_merge_undo", on_click=_undo, args=(actor,))
