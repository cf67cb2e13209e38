"""Channel stock (managers): each sales channel's share of the stock, its buffer, maximum and
de-listing, per-SKU overrides, and what every channel may sell of every SKU beside what is
available — the figures the worker publishes to the channels (``stock.changed`` webhooks).
A channel allowed to oversell is called out with what that means.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import plotly.express as px
import streamlit as st

from core.errors import OMSError
from core.services import channel_stock as cs
from core.services.catalog import list_channels
from core.webui import (
    Notice,
    attempt,
    cached_read,
    guard_page,
    label,
    show_chart,
    show_notice,
    show_table,
    show_tabs,
    t,
)

actor = guard_page("allocation.decide")
state = st.session_state
CHART_SKUS = 20


def _run(key: str, call: Callable[[], object]) -> None:
    """Callback body: the service call, then a success notice or the refusal."""
    try:
        result = call()
    except OMSError as exc:
        state["cs_notice"] = exc
        return
    state["cs_notice"] = (Notice("success", "cs.synced", {"checked": result.checked, "published": result.published})
                          if isinstance(result, cs.SyncResult) else Notice("success", key))


def _save_policy(channel: str) -> None:
    _run("cs.saved", lambda: cs.save_policy(cs.PolicyInput(
        channel, state[f"cs_share_{channel}"], buffer=state[f"cs_buffer_{channel}"],
        maximum=state[f"cs_max_{channel}"], delist_at_zero=state[f"cs_delist_{channel}"],
        oversell=state[f"cs_oversell_{channel}"], threshold=state[f"cs_threshold_{channel}"]), actor))


def _save_override() -> None:
    _run("cs.saved", lambda: cs.save_override(cs.OverrideInput(
        state["cs_ov_channel"], state["cs_ov_sku"], share_pct=state["cs_ov_share"], buffer=state["cs_ov_buffer"],
        maximum=state["cs_ov_max"]), actor))


def _chart(wide: pd.DataFrame, channels: list[str]) -> None:
    """ATS per channel stacked against the available units, for the SKUs with most stock."""
    top = wide.nlargest(CHART_SKUS, "available")
    long = top.melt(id_vars=["sku"], value_vars=channels, var_name="channel", value_name="ats")
    figure = px.bar(long, x="sku", y="ats", color="channel", title=t("cs.chart_title", n=len(top)),
                    labels={"sku": label("field", "sku"), "ats": label("field", "ats"), "channel": t("cs.channel")})
    figure.add_scatter(x=top["sku"], y=top["available"], mode="markers", name=label("field", "available"),
                       marker={"symbol": "line-ew-open", "size": 18, "color": "black"})
    show_chart(figure, key="cs_chart")


def _figures() -> None:
    policies = attempt(cs.list_policies, actor)
    if policies is None:
        return
    if policies.empty:
        st.info(t("cs.no_policies"))
        return
    st.caption(t("cs.pooled", total=int(policies.loc[~policies["oversell"].astype(bool), "share_pct"].sum())))
    overselling = policies.loc[policies["oversell"].astype(bool), "channel"].tolist()
    if overselling:
        st.warning(t("cs.oversell_warning", channels=", ".join(overselling)))
    wide = attempt(cs.ats_by_sku, actor)
    if wide is None:
        return
    doubled = wide[wide["overlap"] > 0]
    if not doubled.empty:
        st.warning(t("cs.overlap_warning", n=len(doubled), units=int(doubled["overlap"].sum())))
    show_table(wide, "channel_stock")
    channels = [c for c in wide.columns if c not in ("sku", "available", "offered", "overlap")]
    if not wide.empty:
        _chart(wide, channels)
    st.button(t("cs.sync_now"), key="cs_sync", icon=":material/sync:", on_click=_run,
              args=("cs.synced", lambda: cs.sync(actor)))


def _policies() -> None:
    policies = attempt(cs.list_policies, actor)
    if policies is None:
        return
    if not policies.empty:
        show_table(policies.drop(columns=["updated_at"]), prefix="field")
    codes = cached_read(list_channels)["code"].tolist()
    channel = st.selectbox(t("cs.channel"), codes, key="cs_channel")
    if channel is None:
        return
    mine = policies[policies["channel"] == channel]
    now = mine.iloc[0] if not mine.empty else None
    with st.form(f"cs_policy_{channel}"):
        st.number_input(label("field", "share_pct"), value=int(now["share_pct"]) if now is not None else 0, step=1,
                        key=f"cs_share_{channel}")
        st.number_input(label("field", "buffer"), value=int(now["buffer"]) if now is not None else 0, step=1,
                        key=f"cs_buffer_{channel}")
        maximum = now["maximum"] if now is not None and pd.notna(now["maximum"]) else ""
        st.text_input(t("cs.no_maximum"), value=str(int(maximum)) if maximum != "" else "", key=f"cs_max_{channel}")
        st.number_input(label("field", "threshold"), value=int(now["threshold"]) if now is not None else 1, step=1,
                        key=f"cs_threshold_{channel}", help=t("cs.threshold_help"))
        st.checkbox(label("field", "delist_at_zero"), value=bool(now["delist_at_zero"]) if now is not None else False,
                    key=f"cs_delist_{channel}")
        st.checkbox(label("field", "oversell"), value=bool(now["oversell"]) if now is not None else False,
                    key=f"cs_oversell_{channel}", help=t("cs.oversell_help"))
        st.form_submit_button(t("cs.save_policy"), type="primary", on_click=_save_policy, args=(channel,))
    if now is not None:
        st.button(t("cs.remove_policy"), key="cs_remove_policy", icon=":material/block:", on_click=_run,
                  args=("cs.removed", lambda: cs.remove_policy(channel, actor)))


def _overrides() -> None:
    overrides = attempt(cs.list_overrides, actor)
    policies = attempt(cs.list_policies, actor)
    if overrides is None or policies is None:
        return
    if policies.empty:
        st.info(t("cs.no_policies"))
        return
    if not overrides.empty:
        show_table(overrides.drop(columns=["updated_at"]), "channel_stock_overrides")
        pairs = [f"{r.channel} · {r.sku}" for r in overrides.itertuples()]
        picked = st.selectbox(t("cs.remove_override"), pairs, key="cs_ov_remove")
        if picked:
            code, sku = picked.split(" · ", 1)
            st.button(t("cs.remove_override"), key="cs_ov_remove_btn", icon=":material/delete:", on_click=_run,
                      args=("cs.removed", lambda: cs.remove_override(code, sku, actor)))
    with st.form("cs_override"):
        st.selectbox(t("cs.channel"), policies["channel"].tolist(), key="cs_ov_channel")
        st.text_input(label("field", "sku"), key="cs_ov_sku")
        st.caption(t("cs.keep"))
        st.text_input(label("field", "share_pct"), key="cs_ov_share")
        st.text_input(label("field", "buffer"), key="cs_ov_buffer")
        st.text_input(label("field", "maximum"), key="cs_ov_max")
        st.form_submit_button(t("cs.save_override"), type="primary", on_click=_save_override)


st.title(t("page.channel_stock"))
st.caption(t("cs.hint"))
show_notice(state.get("cs_notice"))
show_tabs({t("cs.tab_figures"): _figures, t("cs.tab_policies"): _policies, t("cs.tab_overrides"): _overrides})
