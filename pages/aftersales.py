"""After-sales desk: find the order, open a return / exchange / refund-only RMA for some lines,
and move RMAs through approve → receive → inspect → refund → close; the queue of open RMAs;
a customer's RMA history; the return policy (window per channel, shipping refunds).

Every button is one service call (``core.services.aftersales``) with the RMA status the user
was looking at, so two agents cannot act on the same RMA twice. Refusals are shown with the
line and field they concern; a policy breach explains itself and, for managers, offers the
recorded override.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pandas as pd
import streamlit as st

from core import config
from core.documents.rma_label import render_rma_label
from core.errors import OMSError
from core.searchbox import MAX_SEARCH_CHARS
from core.services import aftersales, catalog, customers, return_policy, rma_views
from core.services.aftersales import Inspection, RMALine, RMARequest
from core.services.orders import search_orders
from core.services.rma_views import OrderAfterSales, RMADetail
from core.webui import (
    EMPTY_CELL,
    Notice,
    attempt,
    cached_read,
    cell_qty,
    guard_page,
    label,
    labels,
    lang,
    local_time,
    localize_times,
    money,
    pdf_download,
    qty_column,
    show_notice,
    show_table,
    show_tabs,
    t,
    translate_values,
)

actor = guard_page("rma.view")
state = st.session_state

RMA_CODES = {"rma_status": "rma_status", "rma_kind": "rma_kind", "rma_reason": "rma_reason"}
HEADER_FIELDS: tuple[tuple[str, str], ...] = (
    ("status", "rma_status"), ("kind", "rma_kind"), ("reason_code", "rma_reason"), ("order_number", "text"),
    ("customer", "text"), ("ship_phone", "text"), ("created_at", "time"), ("created_by", "text"),
    ("computed_refund", "money"), ("refund_amount", "money"), ("payment_status", "payment_status"),
    ("resolution", "rma_resolution"), ("policy_override_by", "text"), ("replacement_number", "text"),
    ("replacement_status", "status"), ("note", "text"),
)


def _edited(base: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """The rows of a data editor as the user left them: ``base`` plus the editor's edits."""
    rows = [dict(r) for r in base]
    for index, changes in ((state.get(key) or {}).get("edited_rows") or {}).items():
        rows[int(index)].update(changes)
    return rows


def _rev(name: str) -> int:
    return int(state.get(f"as_rev_{name}", 0))


def _bump_rev(name: str) -> None:
    """A new key for an editor: after a successful action it starts again from the saved data."""
    state[f"as_rev_{name}"] = _rev(name) + 1


def _rma_table(frame: pd.DataFrame, download: str | None = None) -> None:
    shown = translate_values(localize_times(frame, "rma_created_at", "rma_closed_at"), **RMA_CODES)
    show_table(shown.drop(columns=["id", "order_id"]), download=download)


def _pick_rma(frame: pd.DataFrame, prefix: str) -> int | None:
    """The RMA to work on; picking another one clears the last action's message."""
    options = {int(r.id): f"{r.rma_number} · {label('rma_status', r.rma_status)} · {r.number}"
               for r in frame.itertuples()}
    return st.selectbox(t("desk.pick"), list(options), format_func=options.__getitem__, key=f"as_rma_{prefix}",
                        on_change=lambda: state.pop(f"{prefix}_notice", None))


# --- one RMA: detail and actions -------------------------------------------------------------


def _act(rma_id: int, to_status: str, expected: str, prefix: str) -> None:
    """Button callback: one transition with the status on screen and the note typed."""
    note_key = f"{prefix}_note_{rma_id}"
    try:
        result = aftersales.transition_rma(rma_id, to_status, actor, expected_status=expected,
                                           note=state.get(note_key))
    except OMSError as exc:
        state[f"{prefix}_notice"] = exc
        return
    state[note_key] = ""
    if result.replacement_number:
        state[f"{prefix}_notice"] = Notice("success", "desk.replacement_created",
                                           {"number": result.replacement_number})
    else:
        state[f"{prefix}_notice"] = Notice("success", "desk.moved", {"status": label("rma_status", to_status)})


def _refund(rma_id: int, expected: str, prefix: str) -> None:
    amount = Decimal(str(state.get(f"{prefix}_amount_{rma_id}") or 0)).quantize(Decimal("0.01"))
    try:
        result = aftersales.refund_rma(rma_id, actor, amount=amount, note=state.get(f"{prefix}_refund_note_{rma_id}"),
                                       expected_status=expected)
    except OMSError as exc:
        state[f"{prefix}_notice"] = exc
        return
    _refund_notice(result, prefix)


def _refund_notice(result: aftersales.RefundResult, prefix: str) -> None:
    if result.pending:
        state[f"{prefix}_notice"] = Notice("info", "rb.refund_requested", {"amount": money(result.amount)})
    else:
        state[f"{prefix}_notice"] = Notice("success", "desk.refunded", {
            "amount": money(result.amount), "payment_status": label("payment_status", result.payment_status)})


def _decide_refund(rma_id: int, approve: bool, expected: str, prefix: str) -> None:
    try:
        result = aftersales.decide_refund(rma_id, approve, actor, note=state.get(f"{prefix}_note_{rma_id}") or None,
                                          expected_status=expected)
    except OMSError as exc:
        state[f"{prefix}_notice"] = exc
        return
    if approve:
        _refund_notice(result, prefix)
    else:
        state[f"{prefix}_notice"] = Notice("success", "rb.refund_request_rejected", {"number": result.number})


def _inspect(rma_id: int, expected: str, prefix: str, base: list[dict[str, Any]]) -> None:
    rows = _edited(base, f"{prefix}_inspect_{rma_id}_{_rev('inspect')}")
    results = [Inspection(int(r["line_no"]), cell_qty(r["rma_restocked"]), str(r["rma_warehouse"] or ""),
                          r.get("rma_damage_reason") or None) for r in rows]
    try:
        result = aftersales.inspect_rma(rma_id, results, actor, expected_status=expected)
    except OMSError as exc:
        state[f"{prefix}_notice"] = exc
        return
    _bump_rev("inspect")
    state[f"{prefix}_notice"] = Notice("success", "desk.inspected", {
        "restocked": result.restocked, "written_off": result.written_off,
        "released": ", ".join(result.released_orders) or "—"})


def _show(kind: str, value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if kind == "time":
        return local_time(value)  # type: ignore[arg-type]
    if kind == "money":
        return money(value)  # type: ignore[arg-type]
    if kind == "text":
        return str(value)
    return label(kind, value)


def _inspection_form(rma_id: int, detail: RMADetail, prefix: str) -> None:
    st.markdown(f"**{t('desk.inspection')}**")
    st.caption(t("desk.inspection_hint"))
    warehouses = cached_read(catalog.list_warehouses)["code"].tolist()
    base = [{"line_no": int(r.line_no), "sku": r.sku, "qty": int(r.qty), "rma_restocked": float(r.qty),
             "rma_warehouse": r.default_warehouse or (warehouses[0] if warehouses else ""), "rma_damage_reason": ""}
            for r in detail.lines.itertuples()]
    config = {
        "line_no": st.column_config.NumberColumn(label("field", "line_no")),
        "sku": st.column_config.TextColumn(label("field", "sku")),
        "qty": st.column_config.NumberColumn(label("field", "qty")),
        "rma_restocked": qty_column(label("field", "rma_restocked"), required=True),
        "rma_warehouse": st.column_config.SelectboxColumn(label("field", "rma_warehouse"), options=warehouses,
                                                          required=True),
        "rma_damage_reason": st.column_config.TextColumn(label("field", "rma_damage_reason"), max_chars=200),
    }
    st.data_editor(pd.DataFrame(base), key=f"{prefix}_inspect_{rma_id}_{_rev('inspect')}", hide_index=True, placeholder=EMPTY_CELL,
                   column_config=config, disabled=["line_no", "sku", "qty"])
    st.button(t("desk.inspect_submit"), key=f"{prefix}_inspect_go_{rma_id}", type="primary", on_click=_inspect,
              args=(rma_id, str(detail.header["status"]), prefix, base))


def _refund_form(rma_id: int, detail: RMADetail, prefix: str) -> None:
    computed = detail.header["computed_refund"]
    st.markdown(f"**{t('desk.refund')}**")
    st.caption(t("desk.refund_hint", computed=money(computed), limit=money(detail.max_refund)))
    amount, note, go = st.columns([1, 2, 1], vertical_alignment="bottom")
    amount.number_input(t("desk.refund_amount"), min_value=0.0, max_value=float(detail.max_refund),
                        value=float(min(computed, detail.max_refund)), step=1.0, format="%.2f",
                        key=f"{prefix}_amount_{rma_id}")
    note.text_input(t("desk.refund_note"), key=f"{prefix}_refund_note_{rma_id}")
    go.button(t("desk.refund_submit"), key=f"{prefix}_refund_go_{rma_id}", type="primary", on_click=_refund,
              args=(rma_id, str(detail.header["status"]), prefix))


def _refund_request(rma_id: int, detail: RMADetail, prefix: str) -> None:
    """A refund waiting for a second person: who asked for how much; approve / reject."""
    head = detail.header
    st.info(t("rb.refund_waiting", amount=money(head["refund_request_amount"]), by=head["refund_request_by"],
              at=local_time(head["refund_request_at"]), note=head["refund_request_note"] or "—"))
    status = str(head["status"])
    for column, action in zip(st.columns(2), ("refund_approve", "refund_reject"), strict=False):
        if action in detail.actions:
            column.button(t(f"rb.{action}"), key=f"{prefix}_{action}_{rma_id}", on_click=_decide_refund,
                          args=(rma_id, action == "refund_approve", status, prefix),
                          type="primary" if action == "refund_approve" else "secondary")


def _actions(rma_id: int, detail: RMADetail, prefix: str) -> None:
    status = str(detail.header["status"])
    if detail.header.get("refund_request_by"):
        _refund_request(rma_id, detail, prefix)
    moves = [s for s in detail.actions if s not in ("inspected", "refund", "refund_approve", "refund_reject")]
    if not detail.actions:
        st.caption(t("desk.no_actions"))
        return
    if moves:
        st.text_input(t("desk.note"), key=f"{prefix}_note_{rma_id}", placeholder=t("desk.note_hint"))
        for column, to_status in zip(st.columns(len(moves)), moves, strict=True):
            column.button(t(f"desk.to_{to_status}"), key=f"{prefix}_to_{to_status}_{rma_id}", on_click=_act,
                          args=(rma_id, to_status, status, prefix),
                          type="primary" if to_status in ("approved", "received", "closed") else "secondary")
    if "inspected" in detail.actions:
        _inspection_form(rma_id, detail, prefix)
    if "refund" in detail.actions:
        _refund_form(rma_id, detail, prefix)


def rma_panel(rma_id: int, prefix: str) -> None:
    """Header, lines, timeline and the actions this role may take on one RMA."""
    detail = attempt(rma_views.rma_detail, rma_id, actor)
    if detail is None:
        return
    st.subheader(t("desk.detail", number=detail.header["number"]))
    cols = st.columns(3)
    for i, (name, kind) in enumerate(HEADER_FIELDS):
        cols[i % 3].markdown(f"**{t(f'desk.header.{name}')}**: {_show(kind, detail.header.get(name)) or '—'}")
    st.markdown(f"**{t('desk.lines')}**")
    lines = translate_values(detail.lines.drop(columns=["default_warehouse"]), rma_condition="rma_condition")
    show_table(lines)
    st.markdown(f"**{t('desk.timeline')}**")
    events = translate_values(localize_times(detail.events, "at"), rma_event="rma_event",
                              from_status="rma_status", to_status="rma_status")
    show_table(events)
    if detail.header.get("kind") != "refund_only" and detail.header.get("status") in ("requested", "approved"):
        head, language = config.letterhead(), lang()
        pdf_download("doc.rma_label", lambda: render_rma_label(detail, head, language),
                     f"{detail.header['number']}.pdf", f"{prefix}_label_{rma_id}")
    show_notice(state.get(f"{prefix}_notice"))
    _actions(rma_id, detail, prefix)


# --- tab: service desk (one order) -----------------------------------------------------------


def _open_rma(order_id: int, base: list[dict[str, Any]]) -> None:
    """Button callback: the lines with a quantity become the RMA; one open_rma() call."""
    rows = _edited(base, f"as_open_{order_id}_{_rev('open')}")
    kind = state.get("as_kind", "return")
    lines = tuple(RMALine(int(r["line_no"]), cell_qty(r["qty"]),
                          (str(r.get("rma_replacement_sku") or "").strip() or None) if kind == "exchange" else None)
                  for r in rows if r.get("qty"))
    request = RMARequest(order_id, kind, state.get("as_reason", "size"), lines, note=state.get("as_note"),
                         override=bool(state.get("as_override")))
    try:
        result = aftersales.open_rma(request, actor)
    except OMSError as exc:
        state["as_open_notice"] = exc
        return
    _bump_rev("open")
    state.update(as_note="", as_override=False, as_rma_d=result.id)
    key = "desk.opened_override" if result.override else "desk.opened"
    state["as_open_notice"] = Notice("success", key, {"number": result.number, "refund": money(result.computed_refund)})


def _policy_caption(context: OrderAfterSales) -> None:
    rule = context.policy
    if rule.deadline is None:
        st.info(t("desk.window_not_started", days=rule.window_days))
    elif rule.within_window():
        st.info(t("desk.window_open", days=rule.window_days, deadline=local_time(rule.deadline)))
    else:
        st.warning(t("desk.window_closed", days=rule.window_days, deadline=local_time(rule.deadline)))


def _open_form(context: OrderAfterSales) -> None:
    order_id = int(context.header["id"])
    st.markdown(f"**{t('desk.open')}**")
    kind_col, reason_col = st.columns(2)
    kind = kind_col.radio(t("desk.kind"), aftersales.KINDS, horizontal=True, key="as_kind",
                          format_func=labels("rma_kind", aftersales.KINDS).__getitem__)
    reason_col.selectbox(t("desk.reason"), aftersales.REASON_CODES, key="as_reason",
                         format_func=labels("rma_reason", aftersales.REASON_CODES).__getitem__)
    base = [{"line_no": int(r.line_no), "sku": r.sku, "name": r.name, "rma_returnable": int(r.rma_returnable),
             "qty": 0.0, "rma_replacement_sku": ""} for r in context.lines.itertuples()]  # float: webui.cell_qty
    columns = ["line_no", "sku", "name", "rma_returnable", "qty"] + (["rma_replacement_sku"] if kind == "exchange" else [])
    config = {c: st.column_config.Column(label("field", c)) for c in columns}
    config["qty"] = qty_column(t("desk.qty_to_return"), required=True)
    st.data_editor(pd.DataFrame(base), key=f"as_open_{order_id}_{_rev('open')}", hide_index=True, placeholder=EMPTY_CELL,
                   column_config=config, column_order=columns,
                   disabled=[c for c in columns if c not in ("qty", "rma_replacement_sku")])
    if kind == "exchange":
        st.caption(t("desk.exchange_hint"))
    st.text_area(t("desk.note"), key="as_note", placeholder=t("desk.open_note_hint"), height=68)
    if actor.can("rma.override"):
        st.checkbox(t("desk.override"), key="as_override", help=t("desk.override_help"))
    st.button(t("desk.open_submit"), key="as_open_go", type="primary", on_click=_open_rma, args=(order_id, base))
    show_notice(state.get("as_open_notice"))


def _desk_tab() -> None:
    query = st.text_input(t("desk.find_order"), key="as_query", placeholder=t("orders.search_hint"),
                          max_chars=MAX_SEARCH_CHARS)
    if not (query or "").strip():
        st.caption(t("desk.find_order_hint"))
        return
    found = attempt(search_orders, actor, query, limit=50)
    if found is None:
        return
    if found.empty:
        st.info(t("orders.none_found"))
        return
    options = {int(r.id): f"{r.number} · {'' if pd.isna(r.customer) else r.customer} · {label('status', r.status)}"
               for r in found.itertuples()}
    order_id = st.selectbox(t("orders.pick"), list(options), format_func=options.__getitem__, key="as_order",
                            on_change=lambda: state.pop("as_open_notice", None))
    context = attempt(rma_views.order_aftersales, int(order_id), actor) if order_id is not None else None
    if context is None:
        return
    head = context.header
    st.subheader(t("orders.detail", number=head["number"]))
    st.caption(t("desk.order_summary", status=label("status", head["status"]), channel=head["channel_name"],
                 customer=head["customer"] or "—", payment=label("payment_status", head["payment_status"]),
                 total=money(head["total"]), refunded=money(head["refunded"])))
    _policy_caption(context)
    show_table(context.lines)
    if not head["returnable_status"]:
        st.info(t("desk.not_shipped"))
    elif actor.can("rma.create"):
        _open_form(context)
    st.markdown(f"**{t('desk.of_order')}**")
    if context.rmas.empty:
        st.caption(t("desk.none"))
        return
    _rma_table(context.rmas)
    picked = _pick_rma(context.rmas, "d")
    if picked is not None:
        rma_panel(int(picked), "d")


# --- tab: queue ------------------------------------------------------------------------------


def _queue_tab() -> None:
    filter_col, query_col = st.columns([2, 1])
    statuses = filter_col.multiselect(t("field.rma_status"), aftersales.STATUSES, default=list(aftersales.OPEN_STATUSES),
                                      format_func=labels("rma_status", aftersales.STATUSES).__getitem__,
                                      key="as_q_statuses", placeholder=t("common.all"))
    query = query_col.text_input(t("desk.queue_search"), key="as_q_query", placeholder=t("desk.queue_search_hint"),
                                 max_chars=MAX_SEARCH_CHARS)
    queue = attempt(rma_views.list_rmas, actor, statuses=statuses or None, query=query or "")
    if queue is None:
        return
    if queue.empty:
        st.info(t("desk.none"))
        return
    st.caption(t("desk.found", n=len(queue)))
    _rma_table(queue, download="rmas")
    picked = _pick_rma(queue, "q")
    if picked is not None:
        rma_panel(int(picked), "q")


# --- tab: customer ---------------------------------------------------------------------------


def _customer_tab() -> None:
    query = st.text_input(t("desk.find_customer"), key="as_c_query", placeholder=t("entry.customer_search_hint"),
                          max_chars=MAX_SEARCH_CHARS)
    if not (query or "").strip():
        return
    found = attempt(customers.search_customers, query, actor)
    if found is None:
        return
    if found.empty:
        st.info(t("desk.no_customer"))
        return
    options = {int(r.id): f"{r.code} · {r.name} · {r.phone or ''}" for r in found.itertuples()}
    customer_id = st.selectbox(t("entry.pick_customer"), list(options), format_func=options.__getitem__,
                               key="as_c_pick")
    history = attempt(rma_views.list_rmas, actor, customer_id=int(customer_id)) if customer_id is not None else None
    if history is None:
        return
    if history.empty:
        st.caption(t("desk.none"))
        return
    refunded = sum(history["rma_refunded"], Decimal("0"))
    left, right = st.columns(2)
    left.metric(t("desk.customer_rmas"), len(history))
    right.metric(t("desk.customer_refunded"), money(refunded))
    _rma_table(history, download="customer_rmas")


# --- tab: policy -----------------------------------------------------------------------------


def _save_policy(base: list[dict[str, Any]]) -> None:
    rows = _edited(base, f"as_policy_{_rev('policy')}")
    windows = {str(r["channel"]): int(r["return_window_days"]) for r in rows}
    try:
        return_policy.update_return_policy(windows, state["as_shipping"], actor)
    except OMSError as exc:
        state["as_policy_notice"] = exc
        return
    _bump_rev("policy")
    state["as_policy_notice"] = Notice("success", "desk.policy_saved")


def _policy_tab() -> None:
    loaded = attempt(return_policy.return_policy_table, actor)
    if loaded is None:
        return
    table, shipping = loaded
    editable = actor.can("rules.edit")
    st.caption(t("desk.policy_hint"))
    base = table.to_dict("records")
    config = {"channel": st.column_config.TextColumn(label("field", "channel")),
              "channel_name": st.column_config.TextColumn(label("field", "name")),
              "return_window_days": st.column_config.NumberColumn(t("desk.window_days"), min_value=0,
                                                                  max_value=return_policy.MAX_WINDOW_DAYS, step=1)}
    st.data_editor(table, key=f"as_policy_{_rev('policy')}", hide_index=True, placeholder=EMPTY_CELL, column_config=config,
                   disabled=True if not editable else ["channel", "channel_name"])
    st.radio(t("desk.shipping_policy"), return_policy.SHIPPING_POLICIES, key="as_shipping",
             index=return_policy.SHIPPING_POLICIES.index(shipping), disabled=not editable,
             format_func=labels("rma_shipping", return_policy.SHIPPING_POLICIES).__getitem__)
    if editable:
        st.button(t("desk.policy_save"), key="as_policy_go", type="primary", on_click=_save_policy, args=(base,))
    show_notice(state.get("as_policy_notice"))


st.title(t("page.aftersales"))
show_tabs({t("desk.tab_desk"): _desk_tab, t("desk.tab_queue"): _queue_tab,
           **({t("desk.tab_customer"): _customer_tab} if actor.can("customer.view") else {}),
           t("desk.tab_policy"): _policy_tab})
