"""Fulfilment for the warehouse: the queue (priority, then due time), batch pick lists per
warehouse (printable HTML and CSV), the pack bench with barcode verification, shipping with
carrier and tracking number (one order, or a carrier's CSV in bulk), and delivery.

Every status change is ``core.services.orders.transition`` underneath; each button is one
service call from ``core.services.fulfillment``. A wrong item or an extra unit at the pack bench
is refused with the reason in the packer's language and nothing is recorded.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import pandas as pd
import streamlit as st

from core.documents.shipping_label import render_labels
from core.errors import FieldIssue, OMSError, ValidationError
from core.services import catalog
from core.services.carriers import suggest_carrier
from core.services.fulfillment import (
    QUEUE_STATUSES,
    create_pick_lists,
    fulfilment_queue,
    list_pick_lists,
    mark_delivered,
    move_to_warehouse,
    pack_progress,
    pick_list,
    scan_item,
    ship_bulk,
    ship_order,
)
from core.services.labels import print_labels
from core.services.orders import order_detail
from core.webui import (
    CSV_MIME,
    EMPTY_CELL,
    Notice,
    attempt,
    cached_read,
    cell_text,
    download_buttons,
    guard_page,
    label,
    labels,
    local_time,
    localize_columns,
    localize_times,
    show_lines,
    show_notice,
    show_table,
    slip_download,
    t,
    to_csv_bytes,
    translate_values,
)
from pages._label_view import label_buttons, offer_pdf
from pages._merge_view import merge_tab
from pages._pick_list_view import show_pick_list
from pages._scan_box import scan_box

actor = guard_page("order.fulfil")
state = st.session_state
OVERDUE_STYLE = "background-color: #fde2e1"
MOVABLE = ["confirmed", "backordered", "on_hold", "pending_review"]


def _keep(key: str, outcome: Notice | OMSError) -> None:
    state[key] = outcome


def _order_options(statuses: list[str], warehouse: str | None = None) -> dict[int, str]:
    queue = fulfilment_queue(actor, statuses=statuses, warehouse=warehouse)
    return {int(r.id): f"{r.number} · {label('status', r.status)} · {r.warehouses} · {r.customer or ''}"
            for r in queue.itertuples()}


def _warehouse_names() -> dict[str, str]:
    warehouses = cached_read(catalog.list_warehouses)
    return dict(zip(warehouses["code"], warehouses["name"], strict=True))


# --- queue and pick lists --------------------------------------------------------------------


def _create_pick_lists() -> None:
    try:
        made = create_pick_lists(state.get("fl_pick_orders") or [], actor)
    except OMSError as exc:
        _keep("fl_queue_notice", exc)
        return
    state["fl_pick_orders"] = []
    _keep("fl_queue_notice", Notice("success", "fl.pick_lists_created", {
        "lists": ", ".join(f"{pl.number} ({pl.warehouse}, {pl.units})" for pl in made)}))


def _move() -> None:
    order_id = state.get("fl_move_order")
    if order_id is None:
        return
    try:
        result = move_to_warehouse(int(order_id), state["fl_move_to"], actor,
                                   line_nos=state.get("fl_move_lines") or None)
    except OMSError as exc:
        _keep("fl_queue_notice", exc)
        return
    _keep("fl_queue_notice", Notice("success", "fl.moved", {"number": result.number, "warehouse": result.warehouse,
                                                           "skus": ", ".join(result.moved)}))


def _queue_table(queue: pd.DataFrame) -> None:
    shown = translate_values(localize_times(queue.drop(columns=["id", "version"]), "due_by", "placed_at"),
                             status="status", delivery_method="delivery")
    shown = localize_columns(shown)
    overdue = queue["overdue"].to_numpy()
    st.dataframe(shown.style.apply(lambda row: [OVERDUE_STYLE if overdue[row.name] else ""] * len(row), axis=1),
                 hide_index=True, placeholder=EMPTY_CELL)
    download_buttons(shown, "fulfilment_queue")


def _reallocate(names: dict[str, str]) -> None:
    with st.expander(t("fl.reallocate"), icon=":material/swap_horiz:"):
        st.caption(t("fl.reallocate_help"))
        options = _order_options(MOVABLE)
        order_id = st.selectbox(t("fl.order"), list(options), index=None, format_func=options.__getitem__,
                                key="fl_move_order", placeholder=t("fl.pick_order"))
        if order_id is None:
            return
        lines = pack_progress(int(order_id), actor)
        line_names = {int(r.line_no): f"{r.line_no}: {r.sku} × {r.qty} ({r.warehouse})" for r in lines.itertuples()}
        st.multiselect(t("fl.move_lines"), list(line_names), format_func=line_names.__getitem__, key="fl_move_lines",
                       placeholder=t("fl.whole_order"))
        st.selectbox(t("field.to_warehouse"), list(names), format_func=lambda c: f"{c} · {names[c]}", key="fl_move_to")
        st.button(t("fl.move"), key="fl_move", on_click=_move)


def _queue_tab() -> None:
    names = _warehouse_names()
    wh_col, status_col = st.columns([1, 2])
    warehouse = wh_col.selectbox(t("field.warehouse"), [None, *names], key="fl_wh",
                                 format_func=lambda c: t("common.all") if c is None else f"{c} · {names[c]}")
    statuses = status_col.multiselect(t("field.status"), QUEUE_STATUSES, default=list(QUEUE_STATUSES),
                                      format_func=labels("status", QUEUE_STATUSES).__getitem__, key="fl_statuses",
                                      placeholder=t("common.all"))
    show_notice(state.pop("fl_queue_notice", None), what="order")
    queue = attempt(fulfilment_queue, actor, statuses=statuses or None, warehouse=warehouse)
    if queue is None:
        return
    counts = queue["status"].value_counts()
    *status_cols, overdue_col = st.columns(len(QUEUE_STATUSES) + 1)
    for col, status in zip(status_cols, QUEUE_STATUSES, strict=True):
        col.metric(label("status", status), int(counts.get(status, 0)))
    overdue_col.metric(t("fl.overdue"), int(queue["overdue"].sum()))
    if queue.empty:
        st.info(t("fl.queue_empty"))
    else:
        _queue_table(queue)
    confirmed = {int(r.id): f"{r.number} · {r.warehouses}" for r in queue.itertuples() if r.status == "confirmed"}
    st.markdown(f"**{t('fl.batch')}**")
    st.multiselect(t("fl.orders_to_pick"), list(confirmed), format_func=confirmed.__getitem__, key="fl_pick_orders",
                   placeholder=t("fl.orders_to_pick_hint"))
    pick_all, go = st.columns(2)
    pick_all.button(t("fl.pick_all", n=len(confirmed)), key="fl_pick_all", disabled=not confirmed,
                    on_click=lambda: state.update(fl_pick_orders=list(confirmed)))
    go.button(t("fl.create_pick_lists"), key="fl_create_lists", type="primary", on_click=_create_pick_lists)
    _reallocate(names)


def _pick_lists_tab() -> None:
    lists = attempt(list_pick_lists, actor)
    if lists is None:
        return
    if lists.empty:
        st.info(t("fl.no_pick_lists"))
        return
    show_table(localize_times(lists.drop(columns=["id"]), "created_at"))
    options = {int(r.id): f"{r.number} · {r.warehouse} · {local_time(r.created_at)}" for r in lists.itertuples()}
    picked = st.selectbox(t("fl.pick_list"), list(options), format_func=options.__getitem__, key="fl_list_pick")
    if picked is None:
        return
    doc = attempt(pick_list, int(picked), actor)
    if doc is None:
        return
    show_pick_list(doc, "fl_pick")


# --- pack ------------------------------------------------------------------------------------


def _scan(order_id: int, code: str) -> None:
    try:
        result = scan_item(order_id, code, actor)
    except OMSError as exc:
        _keep("fl_pack_notice", exc)
        return
    key = "fl.scan_packed" if result.packed else "fl.scan_ok"
    _keep("fl_pack_notice", Notice("success", key, {"sku": result.sku, "name": result.name,
                                                    "line": result.line_scanned, "of": result.line_qty,
                                                    "scanned": result.scanned, "units": result.units,
                                                    "number": result.number}))


def _pack_tab() -> None:
    options = _order_options(["picking", "confirmed"])
    order_id = st.selectbox(t("fl.order_to_pack"), list(options), index=None, format_func=options.__getitem__,
                            key="fl_pack_order", placeholder=t("fl.pick_order"),
                            on_change=lambda: state.pop("fl_pack_notice", None))
    notice = state.pop("fl_pack_notice", None)
    if order_id is None:
        show_notice(notice, what="order")
        return
    scan_box("fl_scan", lambda code: _scan(int(order_id), code), label=t("fl.scan"), placeholder=t("fl.scan_hint"))
    show_notice(notice, what="order")
    progress = pack_progress(int(order_id), actor)
    scanned, units = int(progress["scanned"].sum()), int(progress["qty"].sum())
    st.progress(scanned / units if units else 0.0, text=t("fl.pack_progress", scanned=scanned, units=units))
    show_lines(progress, "fl_pack_lines", lambda line: f"**{line.scanned}/{line.qty}** · {line.name}  \n"
                                                      f"{line.sku} · {cell_text(line.barcode)}")
    number = options[order_id].split(" · ")[0]
    slip_download(number, lambda: order_detail(int(order_id), actor), key=f"fl_slip_{order_id}", packing=True)


# --- ship and deliver ------------------------------------------------------------------------


def _weight() -> Decimal | None:
    """The scale's reading (a USB scale types it into the box like a keyboard); None if empty."""
    raw = str(state.get("fl_weight") or "").strip()
    if not raw:
        return None
    try:
        return Decimal(raw)
    except InvalidOperation:
        raise ValidationError([FieldIssue("weight", "issue.not_a_number", value=raw)]) from None


def _ship_one() -> None:
    order_id = state.get("fl_ship_order")
    if order_id is None:
        return
    try:
        ship_order(int(order_id), state.get("fl_carrier"), state.get("fl_tracking"), actor, weighed_kg=_weight(),
                   confirm_weight=bool(state.get("fl_weight_ok")))
        state["fl_label_pdf"] = (f"label_{int(order_id)}.pdf", render_labels(print_labels([int(order_id)], actor)))
    except OMSError as exc:
        state["fl_weight_off"] = getattr(exc, "key", "") == "carrier.weight_off"
        _keep("fl_ship_notice", exc)
        return
    state.update(fl_tracking="", fl_weight="", fl_weight_ok=False, fl_weight_off=False, fl_ship_order=None,
                 fl_carrier="")
    _keep("fl_ship_notice", Notice("success", "fl.shipped_one"))


def _carrier_hint(order_id: int) -> None:
    """Which carrier the order goes with (its rule's or the cheapest) and the weight to expect."""
    choice = attempt(suggest_carrier, order_id, actor)
    if choice is None:
        return
    how = t("label.forced") if choice.forced else t("label.cheapest")
    cost = t("label.cost", cost=choice.cost) if choice.cost is not None else ""
    st.caption(t("label.choice", carrier=choice.name, how=how, cost=cost, kg=choice.expected_kg)
               + (" " + t("label.unweighed", n=choice.unweighed_lines) if choice.unweighed_lines else ""))


def _ship_file() -> None:
    upload = state.get("fl_bulk_file")
    if upload is None:
        _keep("fl_ship_notice", Notice("warning", "fl.no_file"))
        return
    try:
        result = ship_bulk(upload.getvalue(), actor)
    except OMSError as exc:
        _keep("fl_ship_notice", exc)
        return
    _keep("fl_ship_notice", Notice("success", "fl.shipped_bulk", {"n": len(result.shipped)}))


def _ship_tab() -> None:
    show_notice(state.pop("fl_ship_notice", None), what="shipment")
    queue = fulfilment_queue(actor, statuses=["packed"])
    options = {int(r.id): f"{r.number} · {r.warehouses} · {r.customer or ''}" for r in queue.itertuples()}
    carriers = dict(zip(queue["id"].astype(int), queue["carrier"], strict=True))
    st.markdown(f"**{t('fl.ship_one')}**")
    order_id = st.selectbox(t("fl.packed_order"), list(options), index=None, format_func=options.__getitem__,
                            key="fl_ship_order", placeholder=t("fl.pick_order"))
    if order_id is not None:
        _carrier_hint(int(order_id))
    carrier_col, tracking_col = st.columns(2)
    if order_id is not None and not state.get("fl_carrier") and isinstance(carriers.get(order_id), str):
        state["fl_carrier"] = carriers[order_id]  # the carrier rule's choice as a starting point
    carrier_col.text_input(t("field.carrier"), key="fl_carrier", help=t("label.carrier_help"))
    tracking_col.text_input(t("field.tracking_no"), key="fl_tracking", help=t("label.tracking_help"))
    st.text_input(t("label.weight"), key="fl_weight", help=t("label.weight_help"), placeholder="1.250")
    if state.get("fl_weight_off"):
        st.checkbox(t("label.weight_confirm"), key="fl_weight_ok")
    label_col, ship_col = st.columns(2)
    with label_col:
        label_buttons("fl_label_pre", "labels.pdf", lambda: print_labels([int(order_id or 0)], actor),
                      disabled=order_id is None)
    ship_col.button(t("fl.ship"), key="fl_ship", type="primary", on_click=_ship_one, disabled=order_id is None)
    offer_pdf("fl_label")
    st.divider()
    st.markdown(f"**{t('fl.ship_bulk')}**")
    st.caption(t("fl.ship_bulk_help"))
    template = pd.DataFrame({"order": queue["number"], "carrier": queue["carrier"].fillna(""), "tracking": ""})
    st.download_button(t("fl.bulk_template"), data=to_csv_bytes(template), file_name="tracking_numbers.csv",
                       mime=CSV_MIME, key="fl_template", on_click="ignore")
    st.file_uploader(t("fl.bulk_file"), type=["csv"], key="fl_bulk_file")
    st.button(t("fl.ship_file"), key="fl_ship_file", on_click=_ship_file)


def _deliver() -> None:
    try:
        numbers = mark_delivered(state.get("fl_deliver_orders") or [], actor)
    except OMSError as exc:
        _keep("fl_deliver_notice", exc)
        return
    state["fl_deliver_orders"] = []
    _keep("fl_deliver_notice", Notice("success", "fl.delivered", {"n": len(numbers)}))


def _deliver_tab() -> None:
    show_notice(state.pop("fl_deliver_notice", None), what="delivery")
    if not actor.can("order.deliver"):
        st.info(t("error.permission"))
        return
    shipped = fulfilment_queue(actor, statuses=["shipped"])
    options = {int(r.id): f"{r.number} · {r.carrier or ''} {r.tracking_no or ''}" for r in shipped.itertuples()}
    st.multiselect(t("fl.shipped_orders"), list(options), format_func=options.__getitem__, key="fl_deliver_orders",
                   placeholder=t("fl.pick_order"))
    st.button(t("fl.mark_delivered"), key="fl_deliver", type="primary", on_click=_deliver)


st.title(t("page.fulfillment"))
tabs = st.tabs([t("fl.tab_queue"), t("fl.tab_pick_lists"), t("fl.tab_pack"), t("fl.tab_ship"), t("fl.tab_deliver"),
                t("fl.tab_merge")])
with tabs[0]:
    _queue_tab()
with tabs[1]:
    _pick_lists_tab()
with tabs[2]:
    _pack_tab()
with tabs[3]:
    _ship_tab()
with tabs[4]:
    _deliver_tab()
with tabs[5]:
    merge_tab(actor)
