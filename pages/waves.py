"""Waves (波次): choose confirmed orders by rule into one consolidated pick list, sort the picked
units into each order's slot by scanning, report a short pick.

Built for a phone or a handheld at the sorting wall: the scan box keeps the cursor (a scanner
sends Enter by itself) and the slot to put the unit into is shown in large type. Each action is
one service call (``core.services.waves``).
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from core.errors import OMSError
from core.services import catalog, waves
from core.services.fulfillment import list_pick_lists, pick_list
from core.services.labels import print_wave_labels
from core.services.waves import MAX_LINES, MAX_ORDERS, SHORT_REASONS, WaveRule
from core.timeutil import utcnow
from core.webui import (
    Notice,
    attempt,
    cached_read,
    guard_page,
    local_time,
    localize_times,
    show_error,
    show_notice,
    show_table,
    t,
    translate_values,
)
from pages._label_view import label_buttons
from pages._pick_list_view import show_pick_list
from pages._scan_box import scan_box

actor = guard_page("order.fulfil")
state = st.session_state


def _rule_form() -> tuple[str, WaveRule]:
    warehouses = cached_read(catalog.list_warehouses)
    names = {code: f"{code} · {name}" for code, name in zip(warehouses["code"], warehouses["name"], strict=True)}
    warehouse = str(st.selectbox(t("field.warehouse"), list(names), format_func=names.__getitem__, key="wv_wh"))
    carrier_col, zone_col = st.columns(2)
    carrier = carrier_col.text_input(t("field.carrier"), key="wv_carrier", max_chars=32,
                                     placeholder=t("wave.any_carrier")).strip()
    zones = {"": t("wave.any_zone"), "pick": t("bin_zone.pick"), "reserve": t("bin_zone.reserve")}
    zone = zone_col.selectbox(t("field.zone"), list(zones), format_func=zones.__getitem__, key="wv_zone")
    single = st.checkbox(t("wave.single_unit"), key="wv_single")
    due_col, orders_col, lines_col = st.columns(3)
    hours = due_col.number_input(t("field.due_within_hours"), min_value=0, max_value=24 * 30, step=1, key="wv_due",
                                 help=t("wave.no_due_limit"))
    max_orders = orders_col.number_input(t("field.max_orders"), min_value=1, max_value=MAX_ORDERS, value=50,
                                         step=1, key="wv_max_orders")
    max_lines = lines_col.number_input(t("field.max_lines"), min_value=0, max_value=MAX_LINES, step=1,
                                       key="wv_max_lines", help=t("wave.no_due_limit"))
    due_before = utcnow() + dt.timedelta(hours=int(hours)) if hours else None
    return warehouse, WaveRule(carrier=carrier or None, single_unit=bool(single), due_before=due_before,
                               zone=zone or None, max_orders=int(max_orders), max_lines=int(max_lines) or None)


def _new_tab() -> None:
    st.caption(t("wave.rule_help"))
    warehouse, rule = _rule_form()
    preview = attempt(waves.preview_wave, warehouse, rule, actor)
    if preview is None:
        return
    if preview.empty:
        st.info(t("wave.preview_empty"))
        return
    st.write(t("wave.preview", n=len(preview)))
    show_table(preview)
    if st.button(t("wave.create"), key="wv_create", type="primary"):
        try:
            made = waves.create_wave(warehouse, rule, actor)
        except OMSError as exc:
            show_error(exc)
            return
        state["wv_notice"] = Notice("success", "wave.created", {"number": made.number, "orders": len(made.orders),
                                                                "units": made.units})
        state["wv_new"] = made.id
        st.rerun()


def _choose_wave(key: str) -> int | None:
    listed = list_pick_lists(actor, kind="wave")
    if listed.empty:
        st.info(t("wave.none"))
        return None
    options = {int(r.id): f"{r.number} · {r.warehouse} · {local_time(r.created_at)}" for r in listed.itertuples()}
    if state.get(key) not in options:  # the newest wave, or the one just created
        state[key] = state.get("wv_new") if state.get("wv_new") in options else next(iter(options))
    picked = st.selectbox(t("wave.pick"), list(options), format_func=options.__getitem__, key=key)
    return None if picked is None else int(picked)


def _sort(wave_id: int, code: str) -> None:
    try:
        state["wv_sorted"] = waves.sort_scan(wave_id, code, actor)
        state.pop("wv_sort_error", None)
    except OMSError as exc:
        state["wv_sort_error"] = exc
        state.pop("wv_sorted", None)


def _sort_tab() -> None:
    wave_id = _choose_wave("wv_sort_wave")
    if wave_id is None:
        return
    scan_box("wv_scan", lambda code: _sort(wave_id, code), label=t("wave.scan"), help=t("wave.scan_help"))
    if (error := state.pop("wv_sort_error", None)) is not None:
        show_error(error)
    if (done := state.pop("wv_sorted", None)) is not None:
        st.markdown(f"## {t('wave.put_into', slot=done.slot)}")
        st.write(t("wave.put_detail", number=done.number, sku=done.sku, name=done.name, sorted=done.sorted_units,
                   units=done.order_units))
        if done.order_done:
            st.success(t("wave.order_done", number=done.number))
        st.caption(t("wave.left", n=done.wave_left))
    slots = attempt(waves.wave_slots, wave_id, actor)
    if slots is not None:
        show_table(translate_values(slots, status="status", sent_back="short_reason"), download="wave_slots")
    _short_form(wave_id)


def _short_form(wave_id: int) -> None:
    with st.expander(t("wave.short_title"), icon=":material/report:"):
        st.caption(t("wave.short_help"))
        with st.form("wv_short", clear_on_submit=True):
            sku_col, qty_col, reason_col = st.columns(3)
            sku = sku_col.text_input(t("field.sku"), max_chars=64, key="wv_short_sku")
            missing = qty_col.number_input(t("wave.short_qty"), min_value=1, max_value=1_000_000, step=1)
            reasons = {r: t(f"short_reason.{r}") for r in SHORT_REASONS}
            reason = reason_col.selectbox(t("wave.short_reason"), list(reasons), format_func=reasons.__getitem__)
            if st.form_submit_button(t("wave.short_report"), key="wv_short_report"):
                try:
                    result = waves.report_short(wave_id, sku, int(missing), str(reason), actor)
                except OMSError as exc:
                    show_error(exc)
                    return
                state["wv_notice"] = Notice("warning", "wave.short_done", {
                    "sku": result.sku, "missing": result.missing, "orders": ", ".join(result.sent_back) or "—"})
                st.rerun()


def _list_tab() -> None:
    listed = list_pick_lists(actor, kind="wave")
    if listed.empty:
        st.info(t("wave.none"))
        return
    show_table(localize_times(listed.drop(columns=["id"]), "created_at"), download="waves")
    wave_id = _choose_wave("wv_list_wave")
    if wave_id is None:
        return
    doc = attempt(pick_list, wave_id, actor)
    if doc is not None:
        st.subheader(t("wave.download_pick"))
        show_pick_list(doc, "wv_pick_list")
        st.subheader(t("label.wave_title"))
        st.caption(t("label.wave_help"))
        label_buttons("wv_labels", f"{doc.number}_labels.pdf", lambda: print_wave_labels(wave_id, actor))


st.title(t("page.waves"))
with st.container():  # always there, so the tabs keep their place (and the open tab) when a notice goes
    show_notice(state.pop("wv_notice", None))
new_tab, sort_tab, list_tab = st.tabs([t("wave.tab_new"), t("wave.tab_sort"), t("wave.tab_list")])
with new_tab:
    _new_tab()
with sort_tab:
    _sort_tab()
with list_tab:
    _list_tab()
