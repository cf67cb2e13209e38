"""Bins (货位): the shelf locations of a warehouse in walking order, and each product's home bin.

Pick lists are printed in walking order with the bin of every line, and once a warehouse has a
bin every receipt is put away into one (``core.services.bins``). The warehouse team and the
office maintain the layout.
"""

from __future__ import annotations

import streamlit as st

from core.errors import OMSError
from core.services import bins, catalog
from core.webui import (
    Notice,
    cached_read,
    guard_page,
    show_error,
    show_notice,
    show_table,
    t,
    translate_values,
)

actor = guard_page("stock.bins")
state = st.session_state


def _warehouse() -> str:
    warehouses = cached_read(catalog.list_warehouses)
    names = {code: f"{code} · {name}" for code, name in zip(warehouses["code"], warehouses["name"], strict=True)}
    return str(st.selectbox(t("field.warehouse"), list(names), format_func=names.__getitem__, key="bin_wh"))


def _bin_form(warehouse: str) -> None:
    st.subheader(t("bin.edit_title"))
    with st.form("bin_form", clear_on_submit=True):
        code_col, zone_col, walk_col = st.columns(3)
        code = code_col.text_input(t("field.bin"), max_chars=bins.CODE_MAX, placeholder="A-01-03")
        zones = {z: t(f"bin_zone.{z}") for z in bins.ZONES}
        zone = zone_col.selectbox(t("field.zone"), list(zones), format_func=zones.__getitem__)
        walk = walk_col.number_input(t("field.walk_order"), min_value=0, max_value=bins.WALK_ORDER_MAX, step=1,
                                     help=t("bin.walk_help"))
        active = st.checkbox(t("field.active"), value=True)
        if st.form_submit_button(t("bin.save"), type="primary"):
            try:
                saved = bins.save_bin(bins.BinInput(warehouse, code, zone, int(walk), active), actor)
            except OMSError as exc:
                show_error(exc)
                return
            state["bin_notice"] = Notice("success", "bin.created" if saved.created else "bin.updated",
                                         {"bin": saved.code, "warehouse": saved.warehouse})
            st.rerun()


def _home_form(warehouse: str) -> None:
    st.subheader(t("bin.home_title"))
    st.caption(t("bin.home_help"))
    with st.form("bin_home_form", clear_on_submit=True):
        sku_col, bin_col = st.columns(2)
        sku = sku_col.text_input(t("field.sku"), max_chars=64)
        code = bin_col.text_input(t("field.bin"), max_chars=bins.CODE_MAX)
        if st.form_submit_button(t("bin.home_save"), type="primary"):
            try:
                bins.set_home_bin(warehouse, sku, code or None, actor)
            except OMSError as exc:
                show_error(exc)
                return
            state["bin_notice"] = Notice("success", "bin.home_saved" if code.strip() else "bin.home_cleared",
                                         {"sku": sku.strip(), "bin": code.strip().upper(), "warehouse": warehouse})
            st.rerun()


st.title(t("page.bins"))
show_notice(state.pop("bin_notice", None))
warehouse = _warehouse()
layout = bins.list_bins(warehouse, actor)
if layout.empty:
    st.info(t("bin.none_yet", warehouse=warehouse))
else:
    show_table(translate_values(layout, zone="bin_zone"), download=f"bins_{warehouse}")
homes = bins.home_bins(warehouse, actor)
if not homes.empty:
    st.subheader(t("bin.homes_title"))
    show_table(translate_values(homes, zone="bin_zone"), download=f"home_bins_{warehouse}")
_bin_form(warehouse)
if not layout.empty:
    _home_form(warehouse)
