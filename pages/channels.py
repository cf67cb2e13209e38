"""Channel analysis: what each channel contributes and how fast it grows, its order value,
returns and cancellations, how quickly its orders ship, and the trend per channel.

Every active channel is listed, including one that sold nothing in the period (a row of
zeros is an answer too). One cached analytics call per rerun.
"""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from core.analytics import channels, sales
from core.analytics.dashboards import channels_dashboard
from core.webui import guard_page, t
from pages import _dashboard_kit as kit

guard_page("dashboard.view")

filters, fresh = kit.open_dashboard("page.channels")
grain = st.segmented_control(t("an_grain"), sales.GRAINS, default="week", key="an_channels_grain",
                             format_func=kit.names("an_grain", sales.GRAINS).__getitem__) or "week"
dash = kit.read(channels_dashboard, filters, grain, fresh=fresh)
table = kit.as_float(dash.table, "net_sales", "previous_net_sales", "aov", "share", "growth", "return_rate",
                     "cancel_rate", "ship_hours", "on_time_rate")
labels = {c: t(f"acol.{c}") for c in table.columns}

# --- contribution and growth -------------------------------------------------------------------
st.subheader(t("an.channels.contribution"))
kit.takeaway(channels.growth_takeaway(dash.table))
if kit.empty(dash.table, "orders"):
    st.info(t("an.no_data"))
else:
    left, right = st.columns(2)
    with left:
        kit.chart(px.bar(table, x="channel", y="net_sales", text=[kit.rate(s) for s in table["share"]],
                         labels=labels), "channels_contribution")
    with right:
        kit.chart(px.bar(table, x="channel", y="growth", labels=labels,
                         color=[not (pd.notna(g) and g < 0) for g in table["growth"]],
                         color_discrete_map={True: "#2e7d32", False: "#c62828"}).update_layout(showlegend=False)
                  .update_yaxes(tickformat=".0%"), "channels_growth")

# --- order value and returns -------------------------------------------------------------------
st.subheader(t("an.channels.value"))
kit.takeaway(channels.value_takeaway(dash.table))
if not kit.empty(dash.table, "orders"):
    fig = px.scatter(table.dropna(subset=["aov"]), x="aov", y="return_rate", size="net_sales", color="channel",
                     labels=labels, size_max=50)
    fig.update_yaxes(tickformat=".0%")
    kit.chart(fig, "channels_value")

# --- fulfilment speed --------------------------------------------------------------------------
st.subheader(t("an.channels.speed"))
kit.takeaway(channels.speed_takeaway(dash.table))
timed = table.dropna(subset=["ship_hours"])
if timed.empty:
    st.info(t("an.no_data"))
else:
    kit.chart(px.bar(timed, x="channel", y="ship_hours", labels=labels,
                     text=[kit.rate(r) for r in timed["on_time_rate"]]), "channels_speed")
    st.caption(t("an.channels.speed_help"))
kit.table(dash.table, "channels")

# --- trend -------------------------------------------------------------------------------------
st.subheader(t("an.channels.trend"))
kit.takeaway(sales.trend_takeaway(dash.trend))
if kit.empty(dash.trend, "orders"):
    st.info(t("an.no_data"))
else:
    fig = px.line(kit.as_float(dash.trend, "net_sales"), x="period", y="net_sales", color="channel", markers=True,
                  labels={"period": t("acol.period"), "net_sales": t("acol.net_sales"), "channel": t("acol.channel")})
    fig.update_xaxes(tickformat="%Y-%m-%d")
    kit.chart(fig, "channels_trend")
kit.table(dash.trend, "channels_trend")
