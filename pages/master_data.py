"""Master data: the shop's warehouses, sales channels, suppliers and carriers — one tab each, with the
table (downloadable), a form to add or change a row, and deactivate / reactivate / delete.

Managers and admins keep warehouses and channels; buyers see them and keep the suppliers
(``core.permissions``: masterdata.view / masterdata.edit / supplier.edit). Every button is one
call into :mod:`core.services.master_data`, which validates, refuses what would break a
reference (a deactivation an allocation rule depends on, deleting a row in use) and audits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from core.errors import OMSError
from core.services import master_data as md
from core.webui import (
    Notice,
    attempt,
    guard_page,
    labels,
    show_notice,
    show_table,
    show_tabs,
    t,
    translate_values,
)
from pages._carrier_rates_view import carrier_rates_and_ranges

actor = guard_page("masterdata.view")
state = st.session_state
NEW = ""  # the picker's "new row" entry


def _run(call: Callable[[], object], notice: Notice) -> None:
    """Callback body: one service call; its refusal or ``notice`` is shown on the next run."""
    try:
        call()
    except OMSError as exc:
        state["md_notice"] = exc
        return
    state["md_notice"] = notice


def _create(prefix: str, call: Callable[[], md.Saved], item: str) -> None:
    """Create a row; on success the picker shows the new row (its form, its buttons) and the
    "(new)" form starts empty again — saving it twice would only be refused as a taken code."""
    try:
        saved = call()
    except OMSError as exc:
        state["md_notice"] = exc
        return
    state["md_notice"] = Notice("success", "md.created", {"item": item or saved.key})
    state[f"{prefix}_pick"] = saved.id if prefix == "md_su" else saved.key
    for key in [k for k in state if isinstance(k, str) and k.startswith(prefix) and k.endswith("_new")]:
        del state[key]


def _picker(key: str, options: dict[Any, str]) -> Any:
    choices = {NEW: t("md.new")} | options
    return st.selectbox(t("md.pick"), list(choices), format_func=choices.__getitem__, key=key)


def _row_buttons(prefix: str, active: bool, on_active: Callable[[bool], None], on_delete: Callable[[], None]) -> None:
    """Deactivate (or reactivate) and delete for the picked row."""
    left, right = st.columns(2)
    if active:
        left.button(t("md.deactivate"), key=f"{prefix}_deactivate", on_click=on_active, args=(False,),
                    icon=":material/block:", help=t("md.deactivate_help"))
    else:
        left.button(t("md.reactivate"), key=f"{prefix}_reactivate", on_click=on_active, args=(True,),
                    icon=":material/check_circle:")
    right.button(t("md.delete"), key=f"{prefix}_delete", on_click=on_delete, icon=":material/delete:",
                 help=t("md.delete_help"))


# --- warehouses ------------------------------------------------------------------------------


def _warehouse_input(suffix: str) -> md.WarehouseInput:
    def get(name: str) -> Any:
        return state.get(f"md_wh_{name}_{suffix}")

    return md.WarehouseInput(code=get("code") or "", name=get("name") or "", region=get("region") or "",
                             province=get("province") or "", city=get("city") or "", address=get("address") or "",
                             is_store=bool(get("is_store")), ship_cost=get("ship_cost") or "0")


def _save_warehouse(picked: str) -> None:
    data = _warehouse_input(picked or "new")
    if picked == NEW:
        _create("md_wh", lambda: md.create_warehouse(data, actor), md.normalise_code(data.code))
    else:
        _run(lambda: md.update_warehouse(data, actor), Notice("success", "md.saved", {"item": picked}))


def _warehouses_tab() -> None:
    frame = attempt(md.list_warehouses, actor)
    if frame is None:
        return
    show_table(frame, download="warehouses", money=["ship_cost"])
    if not actor.can("masterdata.edit"):
        return
    st.subheader(t("md.edit_warehouse"))
    rows = frame.set_index("code")
    picked = _picker("md_wh_pick", {code: f"{code} · {row['name']}" for code, row in rows.iterrows()})
    current = rows.loc[picked] if picked != NEW else None
    suffix = picked or "new"
    with st.form(f"md_wh_form_{suffix}"):
        left, right = st.columns(2)
        left.text_input(t("field.code"), value=picked, key=f"md_wh_code_{suffix}", max_chars=md.CODE_MAX,
                        disabled=picked != NEW, help=t("md.code_help"))
        right.text_input(t("field.name"), value=_value(current, "name"), key=f"md_wh_name_{suffix}",
                         max_chars=md.NAME_MAX)
        left.text_input(t("field.province"), value=_value(current, "province"), key=f"md_wh_province_{suffix}",
                        max_chars=md.PROVINCE_MAX)
        right.text_input(t("field.city"), value=_value(current, "city"), key=f"md_wh_city_{suffix}",
                         max_chars=md.CITY_MAX)
        left.text_input(t("field.region"), value=_value(current, "region"), key=f"md_wh_region_{suffix}",
                        max_chars=md.REGION_MAX, help=t("md.region_help"))
        right.text_input(t("field.ship_cost"), value=_value(current, "ship_cost", "0.00"),
                         key=f"md_wh_ship_cost_{suffix}", max_chars=12, help=t("md.ship_cost_help"))
        st.text_input(t("field.address"), value=_value(current, "address"), key=f"md_wh_address_{suffix}",
                      max_chars=md.ADDRESS_MAX)
        st.checkbox(t("field.is_store"), value=bool(current is not None and current["is_store"]),
                    key=f"md_wh_is_store_{suffix}")
        st.form_submit_button(t("md.save"), type="primary", key="md_wh_save", on_click=_save_warehouse, args=(picked,))
    if current is not None:
        _row_buttons(
            "md_wh", bool(current["active"]),
            lambda active: _run(lambda: md.set_warehouse_active(picked, active, actor),
                                Notice("success", "md.activated" if active else "md.deactivated", {"item": picked})),
            lambda: _run(lambda: md.delete_warehouse(picked, actor), Notice("success", "md.deleted", {"item": picked})))


def _value(row: pd.Series | None, column: str, default: str = "") -> str:
    """A picked row's value as form text (blank for a new row or a missing value)."""
    if row is None or pd.isna(row[column]):
        return default
    return str(row[column])


# --- channels --------------------------------------------------------------------------------


def _save_channel(picked: str) -> None:
    suffix = picked or "new"
    data = md.ChannelInput(code=state.get(f"md_ch_code_{suffix}") or "", name=state.get(f"md_ch_name_{suffix}") or "",
                           kind=state.get(f"md_ch_kind_{suffix}") or "",
                           return_window_days=state.get(f"md_ch_window_{suffix}", 7))
    if picked == NEW:
        _create("md_ch", lambda: md.create_channel(data, actor), md.normalise_code(data.code))
    else:
        _run(lambda: md.update_channel(data, actor), Notice("success", "md.saved", {"item": picked}))


def _channels_tab() -> None:
    frame = attempt(md.list_channels, actor)
    if frame is None:
        return
    show_table(translate_values(frame, kind="kind"), download="channels")
    if not actor.can("masterdata.edit"):
        return
    st.subheader(t("md.edit_channel"))
    rows = frame.set_index("code")
    picked = _picker("md_ch_pick", {code: f"{code} · {row['name']}" for code, row in rows.iterrows()})
    current = rows.loc[picked] if picked != NEW else None
    suffix = picked or "new"
    kinds = labels("kind", md.CHANNEL_KINDS)
    with st.form(f"md_ch_form_{suffix}"):
        left, right = st.columns(2)
        left.text_input(t("field.code"), value=picked, key=f"md_ch_code_{suffix}", max_chars=md.CODE_MAX,
                        disabled=picked != NEW, help=t("md.code_help"))
        right.text_input(t("field.name"), value=_value(current, "name"), key=f"md_ch_name_{suffix}",
                         max_chars=md.NAME_MAX)
        kind = _value(current, "kind")
        left.selectbox(t("field.kind"), md.CHANNEL_KINDS, format_func=kinds.__getitem__, key=f"md_ch_kind_{suffix}",
                       placeholder=t("common.choose"),
                       index=md.CHANNEL_KINDS.index(kind) if kind in md.CHANNEL_KINDS else None)
        right.number_input(t("field.return_window_days"), min_value=0, max_value=md.RETURN_WINDOW_MAX, step=1,
                           value=int(current["return_window_days"]) if current is not None else 7,
                           key=f"md_ch_window_{suffix}")
        st.form_submit_button(t("md.save"), type="primary", key="md_ch_save", on_click=_save_channel, args=(picked,))
    if current is not None:
        _row_buttons(
            "md_ch", bool(current["active"]),
            lambda active: _run(lambda: md.set_channel_active(picked, active, actor),
                                Notice("success", "md.activated" if active else "md.deactivated", {"item": picked})),
            lambda: _run(lambda: md.delete_channel(picked, actor), Notice("success", "md.deleted", {"item": picked})))


# --- suppliers -------------------------------------------------------------------------------


def _save_supplier(picked: int | str) -> None:
    suffix = picked or "new"
    data = md.SupplierInput(name=state.get(f"md_su_name_{suffix}") or "",
                            contact=state.get(f"md_su_contact_{suffix}") or "",
                            lead_time_days=state.get(f"md_su_lead_{suffix}", 7), moq=state.get(f"md_su_moq_{suffix}", 1))
    if picked == NEW:
        _create("md_su", lambda: md.create_supplier(data, actor), data.name.strip())
    else:
        _run(lambda: md.update_supplier(int(picked), data, actor), Notice("success", "md.saved", {"item": data.name.strip()}))


def _suppliers_tab() -> None:
    frame = attempt(md.list_suppliers, actor)
    if frame is None:
        return
    show_table(frame.drop(columns=["id"]), download="suppliers")
    if not actor.can("supplier.edit"):
        return
    st.subheader(t("md.edit_supplier"))
    rows = frame.set_index("id")
    picked = _picker("md_su_pick", {int(i): str(row["name"]) for i, row in rows.iterrows()})
    current = rows.loc[picked] if picked != NEW else None
    suffix = picked or "new"
    with st.form(f"md_su_form_{suffix}"):
        left, right = st.columns(2)
        left.text_input(t("field.name"), value=_value(current, "name"), key=f"md_su_name_{suffix}",
                        max_chars=md.SUPPLIER_NAME_MAX)
        right.text_input(t("field.contact"), value=_value(current, "contact"), key=f"md_su_contact_{suffix}",
                         max_chars=md.CONTACT_MAX)
        left.number_input(t("field.supplier_lead_time_days"), min_value=0, max_value=md.LEAD_TIME_MAX, step=1,
                          value=int(current["supplier_lead_time_days"]) if current is not None else 7, key=f"md_su_lead_{suffix}")
        right.number_input(t("field.moq"), min_value=1, max_value=md.MOQ_MAX, step=1,
                           value=int(current["moq"]) if current is not None else 1, key=f"md_su_moq_{suffix}")
        st.form_submit_button(t("md.save"), type="primary", key="md_su_save", on_click=_save_supplier, args=(picked,))
    if current is not None:
        name = str(current["name"])
        _row_buttons(
            "md_su", bool(current["active"]),
            lambda active: _run(lambda: md.set_supplier_active(int(picked), active, actor),
                                Notice("success", "md.activated" if active else "md.deactivated", {"item": name})),
            lambda: _run(lambda: md.delete_supplier(int(picked), actor), Notice("success", "md.deleted", {"item": name})))


# --- carriers --------------------------------------------------------------------------------


def _save_carrier(picked: str) -> None:
    suffix = picked or "new"
    data = md.CarrierInput(code=state.get(f"md_ca_code_{suffix}") or "", name=state.get(f"md_ca_name_{suffix}") or "",
                           tracking_url=state.get(f"md_ca_url_{suffix}") or "",
                           services=state.get(f"md_ca_services_{suffix}") or "",
                           tracking_pattern=state.get(f"md_ca_pattern_{suffix}") or "")
    if picked == NEW:
        _create("md_ca", lambda: md.create_carrier(data, actor), md.normalise_code(data.code))
    else:
        _run(lambda: md.update_carrier(data, actor), Notice("success", "md.saved", {"item": picked}))


def _carriers_tab() -> None:
    frame = attempt(md.list_carriers, actor)
    if frame is None:
        return
    st.caption(t("md.carriers_help"))
    show_table(frame, download="carriers")
    if not actor.can("masterdata.edit"):
        return
    st.subheader(t("md.edit_carrier"))
    rows = frame.set_index("code")
    picked = _picker("md_ca_pick", {code: f"{code} · {row['name']}" for code, row in rows.iterrows()})
    current = rows.loc[picked] if picked != NEW else None
    suffix = picked or "new"
    with st.form(f"md_ca_form_{suffix}"):
        left, right = st.columns(2)
        left.text_input(t("field.code"), value=picked, key=f"md_ca_code_{suffix}", max_chars=md.CODE_MAX,
                        disabled=picked != NEW, help=t("md.code_help"))
        right.text_input(t("field.name"), value=_value(current, "name"), key=f"md_ca_name_{suffix}",
                         max_chars=md.CARRIER_NAME_MAX)
        st.text_input(t("field.tracking_url"), value=_value(current, "tracking_url"), key=f"md_ca_url_{suffix}",
                      max_chars=md.TRACKING_URL_MAX, placeholder="https://…{tracking_no}")
        left, right = st.columns(2)
        left.text_input(t("field.services"), value=_value(current, "services"), key=f"md_ca_services_{suffix}",
                        max_chars=md.CARRIER_TEXT_MAX, placeholder=t("md.services_placeholder"))
        right.text_input(t("field.tracking_pattern"), value=_value(current, "tracking_pattern"),
                         key=f"md_ca_pattern_{suffix}", max_chars=md.CARRIER_TEXT_MAX, placeholder=r"SF\d{12}",
                         help=t("md.tracking_pattern_help"))
        st.form_submit_button(t("md.save"), type="primary", key="md_ca_save", on_click=_save_carrier, args=(picked,))
    if current is not None:
        _row_buttons(
            "md_ca", bool(current["active"]),
            lambda active: _run(lambda: md.set_carrier_active(picked, active, actor),
                                Notice("success", "md.activated" if active else "md.deactivated", {"item": picked})),
            lambda: _run(lambda: md.delete_carrier(picked, actor), Notice("success", "md.deleted", {"item": picked})))
        carrier_rates_and_ranges(picked, actor)


st.title(t("page.master_data"))
st.caption(t("md.intro"))
show_notice(state.pop("md_notice", None), what="master_data")
show_tabs({t("md.tab_warehouses"): _warehouses_tab, t("md.tab_channels"): _channels_tab,
           t("md.tab_suppliers"): _suppliers_tab, t("md.tab_carriers"): _carriers_tab})
