"""Stock health: turnover, days of cover, how old the stock is, dead stock (no sale in 90
days), stock-out days and the sales they probably cost — per product and warehouse over the
chosen look-back window. One cached analytics call per rerun.
"""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from core.analytics import stock_health
from core.analytics.dashboards import stock_dashboard
from core.webui import guard_page, money, number, t
from pages import _dashboard_kit as kit

COVER_ALERT_DAYS = 7

guard_page("dashboard.view")

filters, fresh = kit.open_dashboard("page.stock_health", date_label="an.lookback", channels=False, regions=False)
dash = kit.read(stock_dashboard, filters, fresh=fresh)
health, summary = dash.health, dash.overview

cols = st.columns(5)
cols[0].metric(t("an.stock.value"), money(summary["stock_value"]))
cols[1].metric(t("an.stock.turnover"), "—" if summary["annual_turnover"] is None
               else f"{summary['annual_turnover']:.1f}×", help=t("an.stock.turnover_help"))
cols[2].metric(t("an.stock.dead"), money(summary["dead_value"]), help=t("an.stock.dead_help",
                                                                        days=stock_health.DEAD_DAYS))
cols[3].metric(t("an.stock.stockout_days"), number(summary['stockout_days']))
cols[4].metric(t("an.stock.lost_sales"), money(summary["lost_sales"]), help=t("an.stock.lost_help"))
if summary.get("cost_unknown"):
    st.caption(t("imh.stock_cost_unknown", n=summary["cost_unknown"]))

# --- age ---------------------------------------------------------------------------------------
st.subheader(t("an.stock.aging"))
kit.takeaway(stock_health.aging_takeaway(dash.aging))
if kit.empty(dash.aging, "units"):
    st.info(t("an.no_data"))
else:
    ages = kit.as_float(dash.aging, "value").assign(age=[t("an.stock.days_bucket", bucket=b)
                                                         for b in dash.aging["bucket"]])
    kit.chart(px.bar(ages, x="age", y="value", color="warehouse",
                     labels={"age": "", "value": t("acol.value"), "warehouse": t("acol.warehouse")}),
              "stock_aging")
kit.table(dash.aging, "stock_aging")

# --- cover -------------------------------------------------------------------------------------
st.subheader(t("an.stock.cover"))
kit.takeaway(stock_health.cover_takeaway(health, COVER_ALERT_DAYS))
short = health.dropna(subset=["days_of_cover"]).sort_values("days_of_cover").head(15)
if short.empty:
    st.info(t("an.no_data"))
else:
    shown = kit.as_float(short, "days_of_cover").assign(item=[f"{s} · {w}" for s, w in
                                                              zip(short["sku"], short["warehouse"], strict=True)])
    fig = px.bar(shown, x="days_of_cover", y="item", orientation="h",
                 labels={"days_of_cover": t("acol.days_of_cover"), "item": ""})
    fig.add_vline(x=COVER_ALERT_DAYS, line_dash="dot")
    kit.chart(fig.update_yaxes(autorange="reversed"), "stock_cover")

# --- stock-outs --------------------------------------------------------------------------------
st.subheader(t("an.stock.stockouts"))
kit.takeaway(stock_health.stockout_takeaway(health))
outs = health[health["stockout_days"] > 0].sort_values(["lost_sales", "stockout_days"], ascending=False)
if outs.empty:
    st.success(t("an.stock.no_stockouts"))
else:
    top = kit.as_float(outs.head(15), "lost_sales").assign(
        item=[f"{s} · {w}" for s, w in zip(outs["sku"].head(15), outs["warehouse"].head(15), strict=True)])
    kit.chart(px.bar(top, x="lost_sales", y="item", orientation="h", hover_data=["stockout_days"],
                     labels={"lost_sales": t("acol.lost_sales"), "item": ""}).update_yaxes(autorange="reversed"),
              "stock_stockouts")
kit.table(outs.drop(columns="product_id"), "stockouts")

# --- dead stock --------------------------------------------------------------------------------
st.subheader(t("an.stock.dead_title", days=stock_health.DEAD_DAYS))
kit.takeaway(stock_health.dead_takeaway(health))
dead = health[health["dead"]].sort_values("stock_value", ascending=False)
if dead.empty:
    st.success(t("an.stock.no_dead"))
kit.table(dead.drop(columns=["product_id", "dead"]), "dead_stock", "an.stock.dead_table", expanded=not dead.empty)
kit.table(health.drop(columns="product_id"), "stock_health", "an.stock.all_table")
