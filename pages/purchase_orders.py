"""Purchase orders (buyers): draft → sent → partial → received, or cancelled.

Drafts come from accepted replenishment suggestions or are made here by hand, for any active
supplier and warehouse; the buyer adds and removes lines, edits quantities and note, sends them, follows what has arrived and cancels — or,
once part has arrived, closes an order short. Goods are received on the Receiving page
(``core.services.purchasing.receive_po``: receipt movements, backorders re-reserved, partial
receipts), the screen warehouse staff already use.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import streamlit as st

from core import config
from core.documents.purchase_order import render_purchase_order
from core.errors import OMSError
from core.locales.planning import COLUMNS, PO_STATUS
from core.searchbox import MAX_SEARCH_CHARS
from core.services import catalog
from core.services.purchasing import (
    PO_STATUSES,
    PODetail,
    POLineInput,
    add_po_line,
    cancel_po,
    create_purchase_order,
    list_purchase_orders,
    po_choices,
    po_detail,
    send_po,
    update_draft,
)
from core.webui import (
    Notice,
    attempt,
    guard_page,
    labels,
    lang,
    local_time,
    localize_times,
    money,
    pdf_download,
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


def _cost(text: str | None) -> Decimal | None:
    """The typed unit cost: empty means the product's own cost; anything that is not a number
    goes on as NaN so the service names the field."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return Decimal("NaN")


def _line_input(prefix: str) -> POLineInput | None:
    """The line typed under ``prefix`` (product, quantity, cost), or None without a product."""
    product = state.get(f"{prefix}_product")
    if product is None:
        return None
    return POLineInput(int(product), state.get(f"{prefix}_qty", 1), _cost(state.get(f"{prefix}_cost")))


def _line_fields(prefix: str) -> bool:
    """Product search and pick, quantity and cost; True once a product is picked."""
    query = st.text_input(t("plan.po_find_product"), key=f"{prefix}_q", max_chars=MAX_SEARCH_CHARS)
    found = attempt(catalog.search_products, query, actor) if query.strip() else None
    if found is None:
        return False
    if found.empty:
        st.caption(t("plan.po_no_product"))
        return False
    names = {int(r.id): f"{r.sku} · {r.name}" for r in found.itertuples()}
    product, qty, cost = st.columns([3, 1, 1])
    product.selectbox(t("plan.po_product"), list(names), format_func=names.__getitem__, key=f"{prefix}_product")
    qty.number_input(t("plan.po_qty"), min_value=1, value=1, step=1, key=f"{prefix}_qty")
    cost.text_input(t("plan.po_cost"), key=f"{prefix}_cost")
    return True


def _create(supplier_id: int, warehouse_id: int) -> None:
    line = _line_input("po_new")
    try:
        info = create_purchase_order(supplier_id, warehouse_id, [line] if line else [], actor)
    except OMSError as exc:
        _notify(exc)
        return
    state["po_pick"] = info.id  # open the new draft below, ready for more lines
    _notify(Notice("success", "plan.po_created", {"number": info.number}))


def _new_po() -> None:
    """A draft by hand: any active supplier, any active warehouse, a first line."""
    with st.expander(t("plan.po_new"), icon=":material/add:"):
        choices = attempt(po_choices, actor)
        if choices is None:
            return
        if not choices.suppliers:
            st.info(t("plan.po_no_suppliers"))
            return
        supplier_names, warehouse_names = choices.suppliers, choices.warehouses
        left, right = st.columns(2)
        supplier = left.selectbox(t("plan.po_supplier"), list(supplier_names), format_func=supplier_names.__getitem__,
                                  key="po_new_supplier")
        warehouse = right.selectbox(t("plan.po_warehouse"), list(warehouse_names),
                                    format_func=warehouse_names.__getitem__, key="po_new_warehouse")
        ready = _line_fields("po_new")
        st.button(t("plan.po_create"), type="primary", key="po_create", disabled=not ready, on_click=_create,
                  args=(supplier, warehouse))


def _add_line(po_id: int) -> None:
    line = _line_input(f"po_add_{po_id}")
    if line is not None:
        _call(add_po_line, po_id, line, actor, success="plan.po_line_added")


def _save_draft(po_id: int, line_ids: list[int]) -> None:
    quantities = {lid: int(state[f"po_qty_{lid}"]) for lid in line_ids}
    _call(update_draft, po_id, quantities, actor, note=state.get(f"po_note_{po_id}"), success="plan.po_saved")


def _cancel(po_id: int) -> None:
    _call(cancel_po, po_id, state.get(f"po_cancel_reason_{po_id}", ""), actor, success="plan.po_cancelled")


def _draft_actions(detail: PODetail) -> None:
    po_id = int(detail.header["id"])
    line_ids = [int(i) for i in detail.lines["line_id"]]
    for line in detail.lines.itertuples(index=False):
        qty, remove = st.columns([4, 1], vertical_alignment="bottom")
        qty.number_input(t("plan.po_line_qty", sku=line.sku, name=line.name), min_value=0,
                         value=int(line.qty_ordered), key=f"po_qty_{line.line_id}")
        remove.button(t("plan.po_remove_line", sku=line.sku), key=f"po_rm_{line.line_id}", icon=":material/delete:",
                      on_click=_call, args=(update_draft, po_id, {int(line.line_id): 0}, actor),
                      kwargs={"success": "plan.po_line_removed"})
    st.text_input(t("plan.col.note"), value=detail.header.get("note") or "", key=f"po_note_{po_id}")
    ready = _line_fields(f"po_add_{po_id}")
    st.button(t("plan.po_add_line"), key=f"po_add_{po_id}", disabled=not ready, on_click=_add_line, args=(po_id,),
              icon=":material/add:")
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
    head, language, currency = config.letterhead(), lang(), config.currency()
    pdf_download("doc.purchase_order", lambda: render_purchase_order(detail, head, language, currency),
                 f"{header['number']}.pdf", f"po_pdf_{po_id}")
    show_table(detail.lines.drop(columns=["line_id"]).assign(
        unit_cost=[float(v) for v in detail.lines["unit_cost"]],
        line_total=[float(v) for v in detail.lines["line_total"]]), f"po_{header['number']}", prefix=COLUMNS)
    show_notice(state.get("po_notice"), what="purchase_order")
    status = header["status"]
    if status == "draft":
        _draft_actions(detail)
    if status in ("sent", "partial"):
        _receiving_link()
    if status in ("draft", "sent", "partial"):
        _cancel_action(detail)


st.title(t("page.purchase_orders"))
_new_po()
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
