"""Customer profiles for the office, service desk and clerks: find a customer by phone, name,
code or e-mail, download the whole table, edit a profile, and merge a second profile of the
same person into it (roles with ``customer.merge``).

Each button is one call into ``core.services.customer_profiles`` (validated with the order
service's rules, audited, one transaction). A merge needs an explicit confirmation tick; a
merged profile is shown read-only with the profile it now lives on in.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from core.errors import OMSError
from core.searchbox import MAX_SEARCH_CHARS
from core.services import customer_profiles
from core.services.customer_profiles import TIERS, CustomerEdit, CustomerProfile
from core.webui import (
    Notice,
    attempt,
    download_all,
    guard_page,
    labels,
    local_time,
    pager,
    show_notice,
    show_table,
    t,
)

actor = guard_page("customer.edit")
state = st.session_state
TIER_NAMES = labels("mdp_tier", TIERS)
FORM_FIELDS = ("name", "phone", "email", "province", "city", "district", "address")


def _run(call: Callable[[], Notice]) -> None:
    """Callback body: one service call; its refusal or notice shows on the next run."""
    try:
        state["cp_notice"] = call()
    except OMSError as exc:
        state["cp_notice"] = exc


def _save(customer_id: int) -> None:
    prefix = f"cp_e{customer_id}"

    def call() -> Notice:
        profile = customer_profiles.update_customer(customer_id, CustomerEdit(
            **{name: state.get(f"{prefix}_{name}") or "" for name in FORM_FIELDS},
            tier=state.get(f"{prefix}_tier", "normal"), tags=state.get(f"{prefix}_tags", "")), actor)
        return Notice("success", "mdp.customer_saved", {"code": profile.code})

    _run(call)


def _merge(survivor_id: int) -> None:
    merged_id = state["cp_merge_pick"]  # the button shows only below the pick
    if not state.get("cp_merge_confirm"):
        state["cp_notice"] = Notice("warning", "mdp.merge_unconfirmed")
        return

    def call() -> Notice:
        result = customer_profiles.merge_customers(survivor_id, int(merged_id), actor)
        return Notice("success", "mdp.merged", {"merged": result.merged_code, "survivor": result.survivor.code,
                                                "orders": result.orders_moved,
                                                "identities": result.identities_moved})

    _run(call)
    state["cp_merge_confirm"] = False


def _edit_form(profile: CustomerProfile) -> None:
    prefix = f"cp_e{profile.id}"
    with st.form(prefix):
        st.subheader(t("mdp.edit_customer"))
        left, right = st.columns(2)
        left.text_input(t("field.customer_name"), value=profile.name, key=f"{prefix}_name")
        right.text_input(t("field.phone"), value=profile.phone or "", key=f"{prefix}_phone")
        left.text_input(t("field.email"), value=profile.email or "", key=f"{prefix}_email")
        right.selectbox(t("field.tier"), TIERS, index=TIERS.index(profile.tier) if profile.tier in TIERS else 0,
                        format_func=TIER_NAMES.__getitem__, key=f"{prefix}_tier")
        a, b, c = st.columns(3)
        a.text_input(t("field.province"), value=profile.province or "", key=f"{prefix}_province")
        b.text_input(t("field.city"), value=profile.city or "", key=f"{prefix}_city")
        c.text_input(t("field.district"), value=profile.district or "", key=f"{prefix}_district")
        st.text_input(t("field.address"), value=profile.address or "", key=f"{prefix}_address")
        st.text_input(t("field.tags"), value=", ".join(profile.tags), key=f"{prefix}_tags", help=t("mdp.tags_help"))
        st.form_submit_button(t("mdp.save_customer"), type="primary", key="cp_save", on_click=_save,
                              args=(profile.id,))


def _merge_form(profile: CustomerProfile) -> None:
    with st.expander(t("mdp.merge"), icon=":material/merge:"):
        st.caption(t("mdp.merge_intro", code=profile.code))
        query = st.text_input(t("mdp.merge_find"), key="cp_merge_query", max_chars=MAX_SEARCH_CHARS)
        if not query.strip():
            return
        found = attempt(customer_profiles.list_customers, actor, query)
        if found is None:
            return
        others = found[found["id"] != profile.id]
        if others.empty:
            st.info(t("mdp.no_customers"))
            return
        names = dict(zip(others["id"], others["code"] + " · " + others["name"], strict=True))
        st.selectbox(t("mdp.merge_pick"), list(names), format_func=names.__getitem__, key="cp_merge_pick")
        st.checkbox(t("mdp.merge_confirm"), key="cp_merge_confirm")
        st.button(t("mdp.merge_submit"), type="primary", key="cp_merge", on_click=_merge, args=(profile.id,),
                  icon=":material/merge:")


def _profile(found: pd.DataFrame) -> None:
    names = dict(zip(found["id"], found["code"] + " · " + found["name"], strict=True))
    picked = st.selectbox(t("mdp.pick_customer"), list(names), format_func=names.__getitem__, key="cp_pick")
    profile = attempt(customer_profiles.customer_profile, int(picked), actor) if picked is not None else None
    if profile is None:
        return
    if profile.merged_into is not None:
        st.info(t("mdp.merged_note", code=profile.merged_into, at=local_time(profile.merged_at)))
    else:
        _edit_form(profile)
    st.subheader(t("mdp.identities"))
    if profile.identities:
        show_table(pd.DataFrame(profile.identities, columns=["channel", "buyer_id"]), prefix="mdp_col")
    else:
        st.caption(t("mdp.no_identities"))
    if profile.merged_into is None and actor.can("customer.merge"):
        _merge_form(profile)


st.title(t("mdp.page_customers"))
st.caption(t("mdp.customers_intro"))
show_notice(state.pop("cp_notice", None), what="customer")
search_col, toggle_col = st.columns([3, 1], vertical_alignment="bottom")
search = search_col.text_input(t("mdp.search_customers"), key="cp_query", max_chars=MAX_SEARCH_CHARS)
with_merged = toggle_col.toggle(t("mdp.show_merged"), key="cp_merged")
total = attempt(customer_profiles.count_customers, actor, search, include_merged=with_merged)
if total == 0:
    st.info(t("mdp.no_customers"))
elif total is not None:
    offset, limit = pager("cp_list", total)
    customers_found = attempt(customer_profiles.list_customers, actor, search, include_merged=with_merged,
                              limit=limit, offset=offset)
    if customers_found is not None:
        show_table(customers_found.drop(columns=["id"]), prefix="mdp_col")
        download_all("customers", total, lambda sink: customer_profiles.export_customers(
            actor, sink, search, include_merged=with_merged), lambda chunk: chunk.drop(columns=["id"]),
            prefix="mdp_col")
        _profile(customers_found)
