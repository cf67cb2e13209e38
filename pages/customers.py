"""Customer analysis: RFM segments (champions, loyal, at risk, hibernating, new …) with their
customers and net sales, retention of each first-purchase month, repeat-purchase rate and
lifetime value by acquisition channel, top customers and where customers live.

The date range selects customers by their first purchase; each is measured over their whole
history up to the as-of date (default today; a shop whose history ended long ago picks the day
of its last order, so its customers are not all "lost"). One cached analytics call per rerun.
"""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from core.analytics import customers
from core.analytics.dashboards import customers_dashboard
from core.timeutil import local_today
from core.webui import cached_read, guard_page, localize_times, t, translate_values
from pages import _dashboard_kit as kit

guard_page("dashboard.view")

filters, fresh = kit.open_dashboard("page.customers", days=730, date_key="an_acquired", date_label="an.acquired",
                                    warehouses=False, category=False)
today = local_today()
pick, hint = st.columns([1, 3], vertical_alignment="bottom")
as_of = pick.date_input(t("asof.label"), value=today, max_value=today, key="an_as_of", format="YYYY-MM-DD",
                        help=t("asof.help"))
last_order = cached_read(customers.last_order_day)
if last_order is not None and last_order < as_of:
    hint.caption(t("asof.customers_history_end", last=last_order.isoformat()))
st.caption(t("asof.customers_scope", as_of=as_of.isoformat()))
if as_of < filters.start:
    st.info(t("asof.range_after", start=filters.start.isoformat(), as_of=as_of.isoformat()))
dash = kit.read(customers_dashboard, filters, as_of, fresh=fresh)

# --- RFM segments ------------------------------------------------------------------------------
st.subheader(t("an.customers.segments"))
kit.takeaway(customers.segment_takeaway(dash.segments))
if kit.empty(dash.segments, "customers"):
    st.info(t("an.no_data"))
else:
    seg = kit.as_float(dash.segments, "net_sales").assign(name=kit.coded(dash.segments["segment"], "an_segment"))
    left, right = st.columns(2)
    with left:
        kit.chart(px.bar(seg, x="name", y="customers", labels={"name": "", "customers": t("acol.customers")}),
                  "customers_segments")
    with right:
        grid = dash.grid.pivot(index="r", columns="f", values="customers").sort_index(ascending=False)
        fig = px.imshow(grid.values, x=[f"F{c}" for c in grid.columns], y=[f"R{r}" for r in grid.index],
                        text_auto=True, color_continuous_scale="Greens", labels={"color": t("acol.customers")})
        kit.chart(fig, "customers_rfm_grid")
    st.caption(t("an.customers.rfm_help"))
kit.table(translate_values(dash.segments, segment="an_segment"), "customer_segments")

# --- cohorts -----------------------------------------------------------------------------------
st.subheader(t("an.customers.cohorts"))
kit.takeaway(customers.cohort_takeaway(dash.cohorts))
if dash.cohorts.empty:
    st.info(t("an.no_data"))
else:
    heat = dash.cohorts.pivot(index="cohort", columns="months_since", values="retention")
    fig = px.imshow(heat.astype(float).values, x=list(heat.columns), y=[c.strftime("%Y-%m") for c in heat.index],
                    aspect="auto", color_continuous_scale="Blues", text_auto=".0%",
                    labels={"x": t("acol.months_since"), "y": t("acol.cohort"), "color": t("acol.retention")})
    fig.update_yaxes(type="category")  # "2025-01" as written, not read as a date and shown as "Jan 2025"
    kit.chart(fig, "customers_cohorts")
kit.table(dash.cohorts, "customer_cohorts")

# --- repeat purchases and lifetime value --------------------------------------------------------
left, right = st.columns(2)
with left:
    st.subheader(t("an.customers.repeat"))
    kit.takeaway(customers.repeat_takeaway(dash.repeat))
    rep = dash.repeat.assign(channel=[t("an.all_channels") if c == "*" else c for c in dash.repeat["channel"]])
    if not kit.empty(rep, "customers"):
        kit.chart(px.bar(kit.as_float(rep, "repeat_rate"), x="channel", y="repeat_rate",
                         labels={"channel": "", "repeat_rate": t("acol.repeat_rate")}).update_yaxes(tickformat=".0%"),
                  "customers_repeat")
    kit.table(rep, "customer_repeat")
with right:
    st.subheader(t("an.customers.clv"))
    kit.takeaway(customers.clv_takeaway(dash.clv))
    values = dash.clv.assign(channel=[t("an.all_channels") if c == "*" else c for c in dash.clv["channel"]])
    long = kit.as_float(values, "clv_3m", "clv_6m", "clv_12m").melt(
        id_vars="channel", value_vars=["clv_3m", "clv_6m", "clv_12m"], var_name="horizon", value_name="clv")
    if long["clv"].notna().any():
        long["horizon"] = [t(f"acol.{h}") for h in long["horizon"]]
        kit.chart(px.bar(long, x="channel", y="clv", color="horizon", barmode="group",
                         labels={"channel": "", "clv": t("an.customers.clv_axis"), "horizon": ""}), "customers_clv")
    st.caption(t("an.customers.clv_help"))
    kit.table(values, "customer_clv")

# --- top customers and regions -----------------------------------------------------------------
st.subheader(t("an.customers.top"))
kit.table(localize_times(translate_values(dash.top, segment="an_segment"), "first_at", "last_at"), "top_customers",
          "an.customers.top_table", expanded=True)
st.subheader(t("an.customers.regions"))
kit.takeaway(customers.region_takeaway(dash.regions))
if not kit.empty(dash.regions, "customers"):
    reg = dash.regions.assign(province=[p or t("an.region_unknown") for p in dash.regions["province"]])
    kit.chart(px.bar(reg.head(20), x="province", y="customers", color="region",
                     labels={"province": "", "customers": t("acol.customers"), "region": t("acol.region")}),
              "customers_regions")
kit.table(dash.regions, "customer_regions")
