"""Purchase orders (buyers): draft → sent → partial → received, or cancelled.

Drafts come from accepted replenishment suggestions (or by hand through the service); here the
buyer edits their quantities and note, sends them, follows what has arrived and cancels — or,
once part has arrived, closes an order short. Goods are received on the Receiving page
(``core.services.purchasing.receive_po``: receipt movements, backorders re-reserved, partial
receipts), the screen warehouse staff already use.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.errors import OMSError
from core.locales.planning import COLUMNS, PO_STATUS
from core.services.purchasing import (
    PO_STATUSES,
    PODetail,
    cancel_po,
    list_purchase_orders,
    po_detail,
    send_po,
    update_draft,
)
from core.webui import (
    Notice,
    attempt,
    guard_page,
    labels,
    local_time,
    localize_times,
    money,
    show_notice,
    show_table,
    t,
)

actor = guard_page("purchase.edit")
state = st.session_state
DEFAULT_STATUSES = ["draft", "sent", "partial"]


def _notify(value: Notice | OMSError) -> None:
    state["po_notice"] = value


def _call(fn: Any, *args: Any, success: str, **kwargs: Any) -> None:
    """Run one service call from a button; remember its result (or refusal) for the rerun."""
    try:
        result = fn(*args, **kwargs)
    except OMSError as exc:
        _notify(exc)
        return
    _notify(Notice("success", success, {"number": result.number, "status": t(f"plan.po_status.{result.status}")}))


def _save_draft(po_id: int, line_ids: list[int]) -> None:
    quantities = {lid: int(state[f"po_qty_{lid}"]) for lid in line_ids}
    _call(update_draft, po_id, quantities, actor, note=state.get(f"po_note_{po_id}"), success="plan.po_saved")


def _cancel(po_id: int) -> None:
    _call(cancel_po, po_id, state.get(f"po_cancel_reason_{po_id}", ""), actor, success="plan.po_cancelled")


def _draft_actions(detail: PODetail) -> None:
    po_id = int(detail.header["id"])
    line_ids = [int(i) for i in detail.lines["line_id"]]
    for line in detail.lines.itertuples(index=False):
        st.number_input(t("plan.po_line_qty", sku=line.sku, name=line.name), min_value=0,
                        value=int(line.qty_ordered), key=f"po_qty_{line.line_id}")
    st.text_input(t("plan.col.note"), value=detail.header.get("note") or "", key=f"po_note_{po_id}")
    save, send = st.columns(2)
    save.button(t("plan.po_save"), key=f"po_save_{po_id}", on_click=_save_draft, args=(po_id, line_ids))
    send.button(t("plan.po_send"), type="primary", key=f"po_send_{po_id}", on_click=_call,
                args=(send_po, po_id, actor), kwargs={"success": "plan.po_sent"})


def _receiving_link() -> None:
    """Goods are booked on the Receiving page (the warehouse's screen), not a second copy here."""
    st.caption(t("plan.po_receive_hint"))
    st.page_link("pages/receiving.py", label=t("plan.po_to_receiving"), icon=":material/move_to_inbox:")


def _cancel_action(detail: PODetail) -> None:
    po_id = int(detail.header["id"])
    reason, go = st.columns([3, 1], vertical_alignment="bottom")
    hint = "plan.po_close_short" if detail.header["status"] == "partial" else "plan.po_cancel"
    reason.text_input(t("plan.reason"), key=f"po_cancel_reason_{po_id}")
    go.button(t(hint), key=f"po_cancel_{po_id}", on_click=_cancel, args=(po_id,))


def _detail(po_id: int) -> None:
    detail = attempt(po_detail, po_id, actor)
    if detail is None:
        return
    header = detail.header
    st.subheader(t("plan.po_detail", number=header["number"]))
    st.markdown(t("plan.po_header", status=t(f"plan.po_status.{header['status']}"), supplier=header["supplier"],
                  warehouse=header["warehouse"], total=money(header["total"]),
                  expected=local_time(header["expected_at"]) or "—"))
    if header.get("note"):
        st.caption(header["note"])
    show_table(detail.lines.drop(columns=["line_id"]).assign(
        unit_cost=[float(v) for v in detail.lines["unit_cost"]],
        line_total=[float(v) for v in detail.lines["line_total"]]), f"po_{header['number']}", prefix=COLUMNS)
    show_notice(state.get("po_notice"))
    status = header["status"]
    if status == "draft":
        _draft_actions(detail)
    if status in ("sent", "partial"):
        _receiving_link()
    if status in ("draft", "sent", "partial"):
        _cancel_action(detail)


st.title(t("page.purchase_orders"))
statuses = st.multiselect(t("plan.col.status"), PO_STATUSES, default=DEFAULT_STATUSES,
                          format_func=labels(PO_STATUS, PO_STATUSES).__getitem__, key="po_statuses")
orders = attempt(list_purchase_orders, actor, statuses=statuses or None)
if orders is None:
    pass
elif orders.empty:
    st.info(t("plan.no_pos"))
else:
    shown = localize_times(orders, "created_at", "sent_at", "expected_at", "received_at").assign(
        status=[t(f"plan.po_status.{s}") for s in orders["status"]], total=[float(v) for v in orders["total"]])
    show_table(shown.drop(columns=["id"]), "purchase_orders", prefix=COLUMNS)
    names = {int(r.id): f"{r.number} · {r.supplier} · {r.warehouse}" for r in orders.itertuples()}
    picked = st.selectbox(t("plan.pick_po"), list(names), format_func=names.__getitem__, key="po_pick",
                          on_change=lambda: state.pop("po_notice", None))
    if picked is not None:
        _detail(int(picked))
