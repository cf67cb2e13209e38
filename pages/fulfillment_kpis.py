"""Fulfilment KPIs: how long orders take to be approved, shipped and delivered, whether they
leave by their due time, where the breaches are (warehouse × channel) and which orders are
late right now. One cached analytics call per rerun (late-but-open orders depend on the
clock, so the cache's ten-minute lifetime bounds how old that list can be).
"""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from core.analytics import fulfillment
from core.analytics.dashboards import fulfillment_dashboard
from core.webui import guard_page, localize_times, number, t, translate_values
from pages import _dashboard_kit as kit

guard_page("dashboard.view")

filters, fresh = kit.open_dashboard("page.fulfillment_kpis", category=False)
dash = kit.read(fulfillment_dashboard, filters, fresh=fresh)

# --- KPIs --------------------------------------------------------------------------------------
stages = dash.stages.set_index("stage")
on_time, late = int(dash.on_time["on_time"].sum()), int(dash.on_time["late"].sum())
open_overdue = int(dash.breaches["open_overdue"].sum())
cols = st.columns(4)
mean_ship = stages.at["ship", "mean_hours"]
cols[0].metric(t("an.ful.mean_ship"), "—" if pd.isna(mean_ship) else t("an.hours", n=f"{mean_ship:.1f}"))
cols[1].metric(t("an.ful.within_24h"), kit.rate(stages.at["ship", "within_24h"]))
cols[2].metric(t("an.ful.on_time"), kit.rate(on_time / (on_time + late) if on_time + late else None))
cols[3].metric(t("an.ful.open_overdue"), number(open_overdue))
kit.table(translate_values(dash.stages, stage="an_stage"), "fulfillment_stages")

# --- distributions -----------------------------------------------------------------------------
st.subheader(t("an.ful.distributions"))
kit.takeaway(fulfillment.speed_takeaway(dash.stages))
if kit.empty(dash.distributions, "orders"):
    st.info(t("an.no_data"))
else:
    dist = kit.as_float(dash.distributions, "share").assign(stage_name=kit.coded(dash.distributions["stage"],
                                                                                 "an_stage"))
    fig = px.bar(dist, x="label", y="share", color="stage_name", barmode="group",
                 labels={"label": t("an.ful.hours_since_placed"), "share": t("acol.share"), "stage_name": ""})
    fig.update_yaxes(tickformat=".0%")
    kit.chart(fig, "fulfillment_distributions")
kit.table(translate_values(dash.distributions, stage="an_stage"), "fulfillment_distributions")

# --- on time -----------------------------------------------------------------------------------
st.subheader(t("an.ful.on_time_trend"))
kit.takeaway(fulfillment.on_time_takeaway(dash.on_time))
if kit.empty(dash.on_time, "shipped"):
    st.info(t("an.no_data"))
else:
    fig = px.line(kit.as_float(dash.on_time, "on_time_rate"), x="day", y="on_time_rate", markers=True,
                  labels={"day": t("acol.day"), "on_time_rate": t("acol.on_time_rate")})
    fig.update_yaxes(tickformat=".0%", range=[0, 1.05])
    fig.update_xaxes(tickformat="%m-%d")
    kit.chart(fig, "fulfillment_on_time")
kit.table(dash.on_time, "fulfillment_on_time")

# --- breaches by warehouse × channel -----------------------------------------------------------
st.subheader(t("an.ful.breaches"))
kit.takeaway(fulfillment.breach_takeaway(dash.breaches))
if kit.empty(dash.breaches, "breaches"):
    st.success(t("an.ful.no_breaches"))
else:
    grid = dash.breaches.pivot_table(index="warehouse", columns="channel", values="breaches", aggfunc="sum",
                                     fill_value=0)
    fig = px.imshow(grid.values, x=list(grid.columns), y=[w or "—" for w in grid.index], text_auto=True,
                    color_continuous_scale="Reds", labels={"color": t("acol.breaches")})
    kit.chart(fig, "fulfillment_breaches")
kit.table(dash.breaches, "fulfillment_breaches")

# --- late orders -------------------------------------------------------------------------------
st.subheader(t("an.ful.late_orders"))
if dash.late.empty:
    st.success(t("an.ful.no_late"))
kit.table(localize_times(translate_values(dash.late, status="status"), "placed_at", "due_by", "shipped_at"),
          "late_orders", "an.ful.late_table", expanded=True)
