"""Transfers between warehouses: draft → shipped (stock in transit) → received, partial receipts
allowed, a transfer closed short when units were lost on the way.

Each button is one service call (``core.services.transfers``); shipping refuses units that an
order has reserved since the draft, receiving refuses more than was shipped, and the arrival
gives waiting backorders their stock in the same transaction.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.analytics import inventory
from core.errors import OMSError
from core.services import catalog, scanning
from core.services.transfers import (
    STATUSES,
    TransferResult,
    cancel_transfer,
    create_transfer,
    list_transfers,
    receive_transfer,
    ship_transfer,
    transfer_detail,
)
from core.webui import (
    EMPTY_CELL,
    Notice,
    attempt,
    cached_read,
    cell_qty,
    guard_page,
    label,
    labels,
    localize_times,
    qty_column,
    show_error,
    show_notice,
    show_table,
    sku_qty_editor,
    t,
    translate_values,
)
from pages import _scan_box

actor = guard_page("stock.transfer")
state = st.session_state
OPEN = ["draft", "shipped", "partial"]


def _warehouses() -> dict[str, str]:
    warehouses = cached_read(catalog.list_warehouses)
    return {code: f"{code} · {name}" for code, name in zip(warehouses["code"], warehouses["name"], strict=True)}


def _done(key: str, result: TransferResult) -> None:
    released = ", ".join(result.released_orders)
    state["tr_notice"] = Notice("success", key, {"number": result.number,
                                                 "status": label("transfer_status", result.status),
                                                 "released": released or "—"})


def _call(key: str, fn: object, *args: object, **kwargs: object) -> None:
    """Button callback: one service call, its outcome kept for the next run."""
    try:
        result = fn(*args, actor, **kwargs)  # type: ignore[operator]
    except OMSError as exc:
        state["tr_notice"] = exc
        return
    _done(key, result)


# --- new transfer ----------------------------------------------------------------------------


def _new_tab() -> None:
    names = _warehouses()
    codes = list(names)
    src_col, dst_col = st.columns(2)
    source = src_col.selectbox(t("field.from_warehouse"), codes, format_func=names.__getitem__, key="tr_from")
    target = dst_col.selectbox(t("field.to_warehouse"), codes, index=min(1, len(codes) - 1),
                               format_func=names.__getitem__, key="tr_to")
    st.caption(t("tr.lines_help"))
    rows = sku_qty_editor(f"tr_lines_{state.get('tr_rev', 0)}")
    note = st.text_input(t("field.note"), key="tr_note", max_chars=500)
    if st.button(t("tr.create"), key="tr_create", type="primary"):
        try:
            result = create_transfer(source, target, rows, actor, note=note or None)
        except OMSError as exc:
            show_error(exc, what="transfer")
            return
        state["tr_rev"] = state.get("tr_rev", 0) + 1
        _done("tr.created", result)
        st.rerun()


# --- list and detail -------------------------------------------------------------------------


def _receive(detail: TransferResult) -> None:
    outstanding = pd.DataFrame(
        [(ln.id, ln.sku, ln.qty_shipped, ln.qty_received, ln.qty_shipped - ln.qty_received)
         for ln in detail.lines], columns=["id", "sku", "qty_shipped", "qty_received", "receive"]
    ).astype({"receive": "float64"})  # float: see webui.cell_qty
    edited = st.data_editor(
        outstanding, placeholder=EMPTY_CELL, hide_index=True, key=f"tr_receive_{detail.id}", disabled=["id", "sku", "qty_shipped",
                                                                               "qty_received"],
        column_config={"id": None, "sku": st.column_config.TextColumn(t("field.sku")),
                       "qty_shipped": st.column_config.NumberColumn(t("field.qty_shipped")),
                       "qty_received": st.column_config.NumberColumn(t("field.qty_received")),
                       "receive": qty_column(t("tr.receive_now"))})
    close_short = st.checkbox(t("tr.close_short"), key=f"tr_short_{detail.id}", help=t("tr.close_short_help"))
    note = st.text_input(t("field.note"), key=f"tr_recv_note_{detail.id}", max_chars=500)
    if st.button(t("tr.receive"), key="tr_receive", type="primary"):
        quantities = {int(r.id): cell_qty(r.receive) for r in edited.itertuples()}  # as typed
        try:
            result = receive_transfer(detail.id, quantities, actor, close_short=close_short, note=note or None)
        except OMSError as exc:
            show_error(exc, what="transfer")
            return
        _done("tr.received", result)
        st.rerun()


def _detail(transfer_id: int) -> None:
    detail = attempt(transfer_detail, transfer_id, actor)
    if detail is None:
        return
    st.subheader(t("tr.detail", number=detail.number, source=detail.from_warehouse, target=detail.to_warehouse,
                   status=label("transfer_status", detail.status)))
    lines = pd.DataFrame([(ln.sku, ln.qty, ln.qty_shipped, ln.qty_received) for ln in detail.lines],
                         columns=["sku", "qty", "qty_shipped", "qty_received"])
    show_table(lines)
    if detail.status == "draft":
        ship, cancel = st.columns(2)
        ship.button(t("tr.ship"), key="tr_ship", type="primary", on_click=_call,
                    args=("tr.shipped", ship_transfer, detail.id))
        sure = cancel.checkbox(t("tr.confirm_cancel"), key=f"tr_sure_{detail.id}")
        cancel.button(t("tr.cancel"), key="tr_cancel", disabled=not sure, on_click=_call,
                      args=("tr.cancelled", cancel_transfer, detail.id))
    elif detail.status in ("shipped", "partial") and actor.can("stock.receive"):
        _receive(detail)


def _list_tab() -> None:
    names = _warehouses()
    status_col, wh_col = st.columns(2)
    statuses = status_col.multiselect(t("field.status"), STATUSES, default=OPEN, key="tr_statuses",
                                      format_func=labels("transfer_status", STATUSES).__getitem__,
                                      placeholder=t("common.all"))
    warehouse = wh_col.selectbox(t("field.warehouse"), [None, *names], key="tr_wh",
                                 format_func=lambda c: t("common.all") if c is None else names[c])
    found = attempt(list_transfers, actor, statuses=statuses or None, warehouse=warehouse)
    if found is None:
        return
    if found.empty:
        st.info(t("tr.none_found"))
        return
    shown = translate_values(localize_times(found.drop(columns=["id"]), "created_at", "shipped_at", "received_at"),
                             status="transfer_status")
    show_table(shown, download="transfers")
    options = {int(r.id): f"{r.number} · {r.from_warehouse} → {r.to_warehouse} · {label('transfer_status', r.status)}"
               for r in found.itertuples()}
    picked = st.selectbox(t("tr.pick"), list(options), format_func=options.__getitem__, key="tr_pick")
    if picked is not None:
        _detail(int(picked))


# --- scan out at the source, scan in at the destination ---------------------------------------


def _scan_tab(direction: scanning.Direction) -> None:
    """Scan each unit of a transfer: out of the source (it ships only when all are scanned) or
    into the destination (a receipt of what was scanned)."""
    st.caption(t("tr.scan_out_help" if direction == "out" else "tr.scan_in_help"))
    if direction == "in" and not actor.can("stock.receive"):
        return
    found = attempt(list_transfers, actor, statuses=["draft"] if direction == "out" else ["shipped", "partial"])
    if found is None or found.empty:
        st.info(t("tr.none_found"))
        return
    options = {int(r.id): f"{r.number} · {r.from_warehouse} → {r.to_warehouse}" for r in found.itertuples()}
    transfer_id = st.selectbox(t("tr.pick_transfer"), list(options), format_func=options.__getitem__,
                               key=f"tr_scan_{direction}_pick")
    if transfer_id is None:
        return
    key = f"tr_scan_{direction}"
    tally = _scan_box.scan_station(
        key, transfer_id, lambda code, now: scanning.scan_transfer(transfer_id, direction, code, now, actor),
        what="transfer")
    detail = attempt(transfer_detail, transfer_id, actor)
    if detail is None:
        return
    show_table(pd.DataFrame([(ln.sku, ln.qty if direction == "out" else ln.qty_shipped - ln.qty_received,
                              tally.get(ln.sku, 0)) for ln in detail.lines], columns=["sku", "to_scan", "scanned"])
               .rename(columns={"to_scan": t("scan.col_limit"), "scanned": t("scan.col_scanned")}))
    units = sum(tally.values())
    close_short = direction == "in" and st.checkbox(t("tr.close_short"), key=f"{key}_short",
                                                    help=t("tr.close_short_help"))
    go, clear = st.columns(2)
    label_ = t("tr.scan_ship") if direction == "out" else t("tr.scan_receive", units=units)
    if go.button(label_, key=f"{key}_commit", type="primary", disabled=not units and not close_short):
        try:
            result = (scanning.ship_scanned_transfer(transfer_id, tally, actor) if direction == "out" else
                      scanning.receive_scanned_transfer(transfer_id, tally, actor, close_short=close_short))
        except OMSError as exc:
            show_error(exc, what="transfer")
            return
        _scan_box.clear(key)
        _done("tr.shipped" if direction == "out" else "tr.received", result)
        st.rerun()
    clear.button(t("scan.clear"), key=f"{key}_clear", on_click=_scan_box.clear, args=(key,))


def _transit_tab() -> None:
    transit = cached_read(inventory.in_transit)
    if transit.empty:
        st.info(t("tr.nothing_in_transit"))
    else:
        show_table(transit.drop(columns=["product_id"]), download="in_transit")


st.title(t("page.transfers"))
show_notice(state.pop("tr_notice", None), what="transfer")
list_tab, new_tab, out_tab, in_tab, transit_tab = st.tabs([
    t("tr.tab_list"), t("tr.tab_new"), t("tr.tab_scan_out"), t("tr.tab_scan_in"), t("tr.tab_transit")])
with list_tab:
    _list_tab()
with new_tab:
    _new_tab()
with out_tab:
    _scan_tab("out")
with in_tab:
    _scan_tab("in")
with transit_tab:
    _transit_tab()
