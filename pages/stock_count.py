"""Stock count and adjustments for warehouse staff; approvals for managers.

* **Cycle count**: load the sheet for a warehouse (optionally one category), type what is on the
  shelf in the *counted* column (blank = not counted), give a reason for each difference, post.
  One ``post_count`` call posts every difference in one transaction; a refused sheet names the
  sheet row and the problem and posts nothing.
* **Single adjustment**: one SKU, +/− units, a reason.
* **Approvals**: adjustments worth more than the threshold wait here for a manager.
* **History**: every adjustment with who asked, who decided and why.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import streamlit as st

from core.analytics import inventory
from core.errors import OMSError, ValidationError
from core.services import bins, catalog, scanning
from core.services.inventory import (
    REASON_CODES,
    CountLine,
    adjust_stock,
    decide_adjustment,
    list_adjustments,
    post_count,
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
    money,
    qty_column,
    show_error,
    show_lines,
    show_notice,
    show_table,
    show_tabs,
    t,
    translate_values,
)
from pages import _scan_box

actor = guard_page("stock.adjust")
state = st.session_state


def _warehouse_picker(key: str) -> str:
    warehouses = cached_read(catalog.list_warehouses)
    names = dict(zip(warehouses["code"], warehouses["name"], strict=True))
    return st.selectbox(t("field.warehouse"), list(names), format_func=lambda c: f"{c} · {names[c]}", key=key)


def _result_notice(key: str, **params: object) -> None:
    state["sc_notice"] = Notice("success", key, params)


# --- cycle count -----------------------------------------------------------------------------


def _load_sheet(warehouse: str, category: str | None) -> None:
    sheet = inventory.count_sheet(warehouse, category)
    state.update(sc_sheet=sheet, sc_sheet_wh=warehouse, sc_rev=state.get("sc_rev", 0) + 1, sc_error=None)


def _sheet_rows(edited: pd.DataFrame) -> tuple[list[CountLine], list[int]]:
    """Counted rows as CountLines, and for each the sheet row it came from (blank = not counted)."""
    reasons = {label("adj_reason", c): c for c in REASON_CODES}
    lines, rows = [], []
    for i, row in enumerate(edited.itertuples(), start=1):
        if pd.isna(row.counted):
            continue
        reason = reasons.get(row.reason) if isinstance(row.reason, str) else None
        note = row.note if isinstance(row.note, str) and row.note.strip() else None
        lines.append(CountLine(row.sku, int(row.expected), cell_qty(row.counted), reason, note))
        rows.append(i)
    return lines, rows


def _on_sheet(exc: OMSError, rows: list[int]) -> OMSError:
    """Issues numbered by posted line → numbered by sheet row, so the counter finds them."""
    if not isinstance(exc, ValidationError):
        return exc
    return ValidationError([replace(i, row=rows[i.row - 1] if i.row else None) for i in exc.issues])


def _count_tab() -> None:
    st.caption(t("sc.count_help"))
    wh_col, cat_col, go_col = st.columns([2, 2, 1], vertical_alignment="bottom")
    with wh_col:
        warehouse = _warehouse_picker("sc_count_wh")
    categories = [None, *cached_read(inventory.categories)]
    category = cat_col.selectbox(t("field.category"), categories, key="sc_count_cat",
                                 format_func=lambda c: t("common.all") if c is None else c)
    go_col.button(t("sc.load_sheet"), key="sc_load", on_click=_load_sheet, args=(warehouse, category))
    sheet: pd.DataFrame | None = state.get("sc_sheet")
    if sheet is None:
        return
    if sheet.empty:
        st.info(t("sc.empty_sheet"))
        return
    st.markdown(t("sc.sheet_title", warehouse=state["sc_sheet_wh"], n=len(sheet)))
    frame = sheet[["sku", "name", "expected"]].assign(
        counted=pd.array([None] * len(sheet), dtype="float64"), reason=None, note=None)  # see webui.cell_qty
    reason_names = [label("adj_reason", c) for c in REASON_CODES]
    edited = st.data_editor(
        frame, placeholder=EMPTY_CELL, key=f"sc_editor_{state['sc_rev']}", hide_index=True, disabled=["sku", "name", "expected"],
        column_config={
            "sku": st.column_config.TextColumn(t("field.sku")),
            "name": st.column_config.TextColumn(t("field.name")),
            "expected": st.column_config.NumberColumn(t("field.expected"), help=t("sc.expected_help")),
            "counted": qty_column(t("field.counted")),
            "reason": st.column_config.SelectboxColumn(t("field.reason_code"), options=reason_names),
            "note": st.column_config.TextColumn(t("field.note"), max_chars=500),
        },
    )
    lines, rows = _sheet_rows(edited)
    differ = sum(1 for ln in lines if ln.counted != ln.expected)
    st.caption(t("sc.sheet_status", counted=len(lines), differ=differ))
    if st.button(t("sc.post_count"), key="sc_post", type="primary", disabled=not lines):
        try:
            result = post_count(state["sc_sheet_wh"], lines, actor)
        except OMSError as exc:
            show_error(_on_sheet(exc, rows), what="count")
            return
        state["sc_sheet"] = None
        _result_notice("sc.count_posted", lines=result.lines, matched=result.matched, posted=len(result.posted),
                       pending=len(result.pending), released=len(result.released_orders))
        st.rerun()


# --- scan-count a bin -----------------------------------------------------------------------

BOTH_WAYS = ("data_correction", "other")  # reasons that fit a count going up or down


def _scan_count_tab() -> None:
    """Scan every unit on one bin; the tally is the counted quantity, unscanned products count 0."""
    st.caption(t("sc.scan_help"))
    warehouse = _warehouse_picker("sc_scan_wh")
    layout = attempt(bins.list_bins, warehouse, actor)
    if layout is None:
        return
    codes = [code for code, active, n in zip(layout["bin"], layout["active"], layout["products"], strict=True)
             if active and n]
    if not codes:
        st.info(t("sc.no_bins"))
        return
    code = st.selectbox(t("field.bin"), codes, key="sc_scan_bin")
    tally = _scan_box.scan_station("sc_scan", (warehouse, code),
                                   lambda c, now: scanning.scan_count(warehouse, code, c, now, actor), what="count")
    review = attempt(scanning.bin_count_review, warehouse, code, tally, actor)
    if review is None:
        return
    st.markdown(f"**{t('sc.review')}**")
    differ = review[review["delta"] != 0]
    if differ.empty:
        st.success(t("sc.no_differences"))
    show_lines(review.rename(columns={"delta": "difference"}), "sc_scan_review",
               lambda row: f"**{row.sku}** · {row.name}  \n" + t(
                   "sc.review_line", expected=row.expected, counted=row.counted, difference=f"{row.difference:+d}"))
    reasons = {label("adj_reason", c): c for c in BOTH_WAYS}
    reason = reasons[st.selectbox(t("sc.count_reason"), list(reasons), key="sc_scan_reason")]
    post, clear = st.columns(2)
    if post.button(t("sc.post_bin"), key="sc_scan_post", type="primary"):
        expected = dict(zip(review["sku"], (int(n) for n in review["expected"]), strict=True))
        try:
            result = scanning.post_bin_count(warehouse, code, tally, expected, reason, actor)
        except OMSError as exc:
            show_error(exc, what="count")
            return
        _scan_box.clear("sc_scan")
        _result_notice("sc.count_posted", lines=result.lines, matched=result.matched, posted=len(result.posted),
                       pending=len(result.pending), released=len(result.released_orders))
        st.rerun()
    clear.button(t("scan.clear"), key="sc_scan_clear", on_click=_scan_box.clear, args=("sc_scan",))


# --- single adjustment -----------------------------------------------------------------------


def _adjust() -> None:
    try:
        result = adjust_stock(state.get("sc_adj_sku", ""), state["sc_adj_wh"], int(state.get("sc_adj_qty") or 0),
                              state["sc_adj_reason"], actor, note=state.get("sc_adj_note") or None)
    except OMSError as exc:
        state["sc_notice"] = exc
        return
    key = "sc.adjust_pending" if result.status == "pending" else "sc.adjust_posted"
    _result_notice(key, reference=result.reference, sku=result.sku, qty=f"{result.qty_delta:+d}",
                   warehouse=result.warehouse)
    state.update(sc_adj_sku="", sc_adj_qty=0, sc_adj_note="")


def _adjust_tab() -> None:
    st.caption(t("sc.adjust_help"))
    with st.form("sc_adjust"):
        left, right = st.columns(2)
        with left:
            _warehouse_picker("sc_adj_wh")
            st.text_input(t("sc.sku_or_barcode"), key="sc_adj_sku")
        with right:
            st.number_input(t("field.qty_delta"), step=1, value=0, key="sc_adj_qty", help=t("sc.qty_delta_help"))
            st.selectbox(t("field.reason_code"), REASON_CODES, format_func=labels("adj_reason", REASON_CODES).__getitem__,
                         key="sc_adj_reason")
        st.text_input(t("field.note"), key="sc_adj_note", max_chars=500)
        st.form_submit_button(t("sc.adjust_submit"), type="primary", key="sc_adj_go", on_click=_adjust)


# --- approvals and history -------------------------------------------------------------------


def _decide(approve: bool) -> None:
    adjustment_id = state.get("sc_pending_pick")
    if adjustment_id is None:
        return
    try:
        result = decide_adjustment(int(adjustment_id), approve, actor, note=state.get("sc_decision_note") or None)
    except OMSError as exc:
        state["sc_notice"] = exc
        return
    _result_notice("sc.decided", reference=result.reference, status=label("adj_status", result.status))
    state["sc_decision_note"] = ""


def _approvals_tab() -> None:
    pending = attempt(list_adjustments, actor, statuses=["pending"])
    if pending is None:
        return
    if pending.empty:
        st.info(t("sc.no_pending"))
        return
    show_table(_readable(pending))
    options = {int(r.id): f"{r.reference} · {r.sku} {r.qty_delta:+d} @ {r.warehouse} · {money(r.value)}"
               for r in pending.itertuples()}
    picked = st.selectbox(t("sc.pick_pending"), list(options), format_func=options.__getitem__,
                          key="sc_pending_pick")
    own = picked is not None and pending.set_index("id").at[picked, "requested_by"] == actor.username
    st.text_input(t("sc.decision_note"), key="sc_decision_note", max_chars=500)
    approve, reject = st.columns(2)
    approve.button(t("sc.approve"), key="sc_approve", type="primary", on_click=_decide, args=(True,), disabled=own,
                   help=t("rb.own_request_hint") if own else None)  # nobody approves their own request
    reject.button(t("sc.reject"), key="sc_reject", on_click=_decide, args=(False,))


def _readable(frame: pd.DataFrame) -> pd.DataFrame:
    shown = localize_times(frame.drop(columns=["id"]), "requested_at", "decided_at")
    return translate_values(shown, kind="move_kind", reason_code="adj_reason", status="adj_status")


def _history_tab() -> None:
    history = attempt(list_adjustments, actor)
    if history is not None:
        show_table(_readable(history), download="adjustments")


st.title(t("page.stock_count"))
show_notice(state.pop("sc_notice", None), what="adjustment")
show_tabs({t("sc.tab_count"): _count_tab, t("sc.tab_adjust"): _adjust_tab,
           **({t("sc.tab_approvals"): _approvals_tab} if actor.can("stock.approve") else {}),
           t("sc.tab_history"): _history_tab, t("sc.tab_scan"): _scan_count_tab})
