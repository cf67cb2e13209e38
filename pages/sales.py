"""Sales analysis for managers: net sales, orders, units, order value and gross margin against
the previous period; the trend per channel by day, week or month; when customers buy (hour ×
weekday); what 618 / 双11 / 双12 brought compared with the weeks before; and, when the shop sells
kits, kit sales beside the component demand they made (core.services.kits.kit_sales).

One cached analytics call per rerun (core.analytics.dashboards.sales_dashboard) on the summary
tables the worker keeps up to date; the page itself never writes.
"""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from core.analytics import channels, sales
from core.analytics.dashboards import sales_dashboard
from core.services import kits as kit_sales
from core.webui import attempt, guard_page, money, number, show_table, t, translate_values
from pages import _dashboard_kit as kit

actor = guard_page("dashboard.view")

filters, fresh = kit.open_dashboard("page.sales")
grain = st.segmented_control(t("an_grain"), sales.GRAINS, default="day", key="an_sales_grain",
                             format_func=kit.names("an_grain", sales.GRAINS).__getitem__) or "day"
dash = kit.read(sales_dashboard, filters, grain, fresh=fresh)

# --- KPIs --------------------------------------------------------------------------------------
kpis = dash.kpis.set_index("period")
cur, prev = kpis.loc["current"], kpis.loc["previous"]
help_text = t("an.vs_previous", days=filters.days)
for col, (key, value, change) in zip(st.columns(6), (
        ("an.kpi.net_sales", money(cur["net_sales"]), kit.delta(cur["net_sales"], prev["net_sales"])),
        ("an.kpi.orders", number(cur['orders']), kit.delta(cur["orders"], prev["orders"])),
        ("an.kpi.units", number(cur['units']), kit.delta(cur["units"], prev["units"])),
        ("an.kpi.aov", money(cur["aov"]) if cur["aov"] is not None else "—", kit.delta(cur["aov"], prev["aov"])),
        ("an.kpi.gross_margin", money(cur["gross_margin"]), kit.delta(cur["gross_margin"], prev["gross_margin"])),
        ("an.kpi.return_rate", kit.rate(cur["return_rate"]), kit.delta_points(cur["return_rate"],
                                                                               prev["return_rate"])),
), strict=True):
    col.metric(t(key), value, change, help=help_text, delta_color="inverse" if key == "an.kpi.return_rate" else "normal")
kit.cost_and_walk_in_notes(cur)
kit.takeaway(sales.kpi_takeaway(dash.kpis))
kit.table(translate_values(dash.kpis, period="an_period"), "sales_kpis")

# --- trend by channel --------------------------------------------------------------------------
st.subheader(t("an.sales.trend"))
kit.takeaway(channels.growth_takeaway(dash.channels))
if kit.empty(dash.trend, "orders"):
    st.info(t("an.no_data"))
else:
    fig = px.area(kit.as_float(dash.trend, "net_sales"), x="period", y="net_sales", color="channel",
                  labels={"period": t("acol.period"), "net_sales": t("acol.net_sales"), "channel": t("acol.channel")})
    fig.update_xaxes(tickformat="%Y-%m-%d")
    kit.chart(fig, "sales_trend")
kit.table(dash.trend, "sales_trend")

# --- hour × weekday ----------------------------------------------------------------------------
st.subheader(t("an.sales.heatmap"))
kit.takeaway(sales.heatmap_takeaway(dash.heatmap))
if kit.empty(dash.heatmap, "orders"):
    st.info(t("an.no_data"))
else:
    grid = dash.heatmap.pivot(index="weekday", columns="hour", values="orders")
    fig = px.imshow(grid.values, x=list(grid.columns), y=kit.coded(grid.index, "an_weekday"), aspect="auto",
                    color_continuous_scale="Blues", labels={"x": t("acol.hour"), "y": "", "color": t("acol.orders")})
    kit.chart(fig, "sales_heatmap")
kit.table(translate_values(dash.heatmap, weekday="an_weekday"), "sales_heatmap")

# --- promotions --------------------------------------------------------------------------------
st.subheader(t("an.sales.promotions"))
st.caption(t("an.sales.promotions_help"))
kit.takeaway(sales.promotion_takeaway(dash.promotions))
if dash.promotions.empty:
    st.info(t("an.sales.no_promotions"))
else:
    curves = dash.promotion_days.assign(
        occurrence=[f"{kit.coded([e], 'an_event')[0]} {y}" for e, y in
                    zip(dash.promotion_days["event"], dash.promotion_days["year"], strict=True)])
    fig = px.line(kit.as_float(curves, "index"), x="offset", y="index", color="occurrence",
                  labels={"offset": t("an.sales.days_from_start"), "index": t("an.sales.vs_baseline"),
                          "occurrence": ""})
    fig.add_hline(y=1.0, line_dash="dot")
    kit.chart(fig, "sales_promotions")
kit.table(translate_values(dash.promotions, event="an_event"), "sales_promotions")

# --- kits and bundles --------------------------------------------------------------------------
bundles = attempt(kit_sales.kit_sales, actor, filters.start, filters.end)
if bundles is not None and not bundles.empty:
    st.subheader(t("kits.sales_title"))
    st.caption(t("kits.sales_help"))
    show_table(translate_values(bundles, kind="kits_kind"), download="kit_sales", prefix="kits_col", money=("amount",))
