"""Goods receipt: against a purchase order (partial deliveries; never beyond what was ordered) or
ad hoc (goods that came without a PO). Either way the receipt posts ``receipt`` movements and
hands the arrived units to waiting backorders — by priority, then age — in the same transaction.
"""

from __future__ import annotations

import streamlit as st

from core.analytics import inventory
from core.errors import OMSError
from core.services import bins, catalog, scanning
from core.services.inventory import receive_adhoc
from core.services.purchasing import ReceiptResult, receive_po
from core.webui import (
    EMPTY_CELL,
    Notice,
    cell_qty,
    guard_page,
    label,
    local_time,
    qty_column,
    show_error,
    show_notice,
    show_table,
    sku_qty_editor,
    t,
)
from pages import _scan_box

actor = guard_page("stock.receive")
state = st.session_state


def _released_text(numbers: tuple[str, ...]) -> str:
    return ", ".join(numbers) or "—"


def _pick_po(key: str, *, say_none: bool = True) -> tuple[int, str] | None:
    """The receivable PO picked (id, its warehouse), or None when there is none (said once a page)."""
    pos = inventory.receivable_purchase_orders()
    if pos.empty:
        if say_none:
            st.info(t("rc.no_pos"))
        return None
    options = {int(r.id): f"{r.number} · {r.supplier} → {r.warehouse} · {label('rc_po_status', r.status)}"
                          f" · {t('rc.expected_at', at=local_time(r.expected_at) or '—')}"
               for r in pos.itertuples()}
    po_id = st.selectbox(t("rc.pick_po"), list(options), format_func=options.__getitem__, key=key)
    return None if po_id is None else (int(po_id), str(pos.set_index("id").at[po_id, "warehouse"]))


def _received(result: ReceiptResult) -> None:
    state["rc_rev"] = state.get("rc_rev", 0) + 1
    state["rc_notice"] = Notice("success", "rc.po_received", {
        "number": result.po_number, "units": result.received_units,
        "status": label("rc_po_status", result.status), "released": _released_text(result.released_orders)})


def _po_tab() -> None:
    picked = _pick_po("rc_po")
    if picked is None:
        return
    po_id, warehouse = picked
    lines = inventory.purchase_order_lines(int(po_id))
    sheet = lines.assign(receive=lines["outstanding"].astype("float64"))  # float: see webui.cell_qty
    homes = bins.putaway_defaults(warehouse, list(lines["sku"]), actor)
    if homes is not None:  # the warehouse uses bins: each line names where it is put away
        sheet = sheet.assign(bin=[homes.get(sku, "") for sku in sheet["sku"]])
        st.caption(t("rc.bin_help"))
    edited = st.data_editor(
        sheet, placeholder=EMPTY_CELL, hide_index=True, key=f"rc_po_lines_{po_id}_{state.get('rc_rev', 0)}",
        disabled=["id", "sku", "name", "qty_ordered", "qty_received", "outstanding"],
        column_config={"id": None, "sku": st.column_config.TextColumn(t("field.sku")),
                       "name": st.column_config.TextColumn(t("field.name")),
                       "qty_ordered": st.column_config.NumberColumn(t("field.qty_ordered")),
                       "qty_received": st.column_config.NumberColumn(t("field.qty_received")),
                       "outstanding": st.column_config.NumberColumn(t("field.outstanding")),
                       "receive": qty_column(t("rc.receive_now")),
                       "bin": st.column_config.TextColumn(t("field.bin"), max_chars=bins.CODE_MAX)})
    note = st.text_input(t("rc.delivery_note"), key="rc_po_note", max_chars=200)
    if st.button(t("rc.receive_po"), key="rc_receive_po", type="primary"):
        quantities = {int(r.id): cell_qty(r.receive) for r in edited.itertuples()}  # as typed
        putaway = {int(r.id): str(r.bin or "") for r in edited.itertuples()} if homes is not None else None
        try:
            result = receive_po(int(po_id), quantities, actor, note=note or None, bins=putaway)
        except OMSError as exc:
            show_error(exc, what="receipt")
            return
        _received(result)
        st.rerun()


def _scan_tab() -> None:
    """Scan to receive: +1 per scan against the PO's open line, one receipt at the end."""
    st.caption(t("rc.scan_help"))
    picked = _pick_po("rc_scan_po", say_none=False)
    if picked is None:
        return
    po_id, warehouse = picked
    tally = _scan_box.scan_station("rc_scan", po_id, lambda code, now: scanning.scan_receipt(po_id, code, now, actor),
                                   what="receipt")
    lines = inventory.purchase_order_lines(po_id)
    sheet = lines[["sku", "name", "outstanding"]].assign(scanned=[tally.get(sku, 0) for sku in lines["sku"]])
    homes = bins.putaway_defaults(warehouse, list(lines["sku"]), actor)
    if homes is not None:
        sheet = sheet.assign(bin=[homes.get(sku, "") for sku in sheet["sku"]])
    edited = st.data_editor(
        sheet, hide_index=True, key=f"rc_scan_lines_{po_id}_{state.get('rc_rev', 0)}",
        disabled=["sku", "name", "outstanding", "scanned"],
        column_config={"sku": st.column_config.TextColumn(t("field.sku")),
                       "name": st.column_config.TextColumn(t("field.name")),
                       "outstanding": st.column_config.NumberColumn(t("scan.col_limit")),
                       "scanned": st.column_config.NumberColumn(t("scan.col_scanned")),
                       "bin": st.column_config.TextColumn(t("field.bin"), max_chars=bins.CODE_MAX)})
    units = sum(tally.values())
    left, right = st.columns(2)
    if left.button(t("rc.scan_commit", units=units), key="rc_scan_commit", type="primary", disabled=not units):
        putaway = {str(r.sku): str(r.bin or "") for r in edited.itertuples()} if homes is not None else None
        try:
            result = scanning.commit_receipt_scans(po_id, tally, actor, bins=putaway)
        except OMSError as exc:
            show_error(exc, what="receipt")
            return
        _scan_box.clear("rc_scan")
        _received(result)
        st.rerun()
    right.button(t("scan.clear"), key="rc_scan_clear", on_click=_scan_box.clear, args=("rc_scan",))


def _adhoc_tab() -> None:
    st.caption(t("rc.adhoc_help"))
    warehouses = catalog.list_warehouses()
    names = dict(zip(warehouses["code"], warehouses["name"], strict=True))
    warehouse = st.selectbox(t("field.warehouse"), list(names), format_func=lambda c: f"{c} · {names[c]}",
                             key="rc_adhoc_wh")
    rows = sku_qty_editor(f"rc_adhoc_{state.get('rc_rev', 0)}")
    if bins.putaway_defaults(warehouse, [], actor) is not None:
        st.caption(t("rc.adhoc_bin_help"))
    note = st.text_input(t("rc.adhoc_source"), key="rc_adhoc_note", max_chars=500)
    if st.button(t("rc.receive_adhoc"), key="rc_receive_adhoc", type="primary"):
        try:
            result = receive_adhoc(warehouse, rows, actor, note=note or None)
        except OMSError as exc:
            show_error(exc, what="receipt")
            return
        state["rc_rev"] = state.get("rc_rev", 0) + 1
        state["rc_notice"] = Notice("success", "rc.adhoc_received", {
            "units": result.units, "lines": result.lines, "warehouse": result.warehouse,
            "released": _released_text(result.released_orders)})
        st.rerun()


def _open_pos_table() -> None:
    pos = inventory.receivable_purchase_orders()
    if not pos.empty:
        with st.expander(t("rc.open_pos", n=len(pos)), icon=":material/local_shipping:"):
            show_table(pos.drop(columns=["id"]), download="open_purchase_orders")


st.title(t("page.receiving"))
show_notice(state.pop("rc_notice", None), what="receipt")
po_tab, adhoc_tab, scan_tab = st.tabs([t("rc.tab_po"), t("rc.tab_adhoc"), t("rc.tab_scan")])
with po_tab:
    _po_tab()
    _open_pos_table()
with adhoc_tab:
    _adhoc_tab()
with scan_tab:
    _scan_tab()
