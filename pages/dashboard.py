"""Sales dashboard for managers: revenue, orders and average order value for today, 7 and 30
days against the previous period, the daily revenue trend per channel, and a one-line takeaway.

All numbers come from ``core.analytics`` through ``cached_read``: the cache key includes the
data version, so an order entered a moment ago shows on the next rerun while unchanged data is
not re-aggregated on every click.
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import plotly.express as px
import streamlit as st

from core import analytics
from core.webui import (
    cached_read,
    guard_page,
    money,
    number,
    percent,
    show_chart,
    show_table,
    t,
    translate_values,
)

guard_page("dashboard.view")

PERIODS = ((1, "dash.today"), (7, "dash.last_7"), (30, "dash.last_30"))
TREND_DAYS = (7, 30, 90)


def _change(current: object, previous: object) -> str | None:
    """Relative change as "+12.5%"; None (no delta shown) when there is nothing to compare."""
    if pd.isna(current) or pd.isna(previous) or not previous:
        return None
    now, before = Decimal(str(current)), Decimal(str(previous))
    return f"{(now - before) / before:+.1%}"


def _kpi_column(days: int, title_key: str) -> pd.DataFrame:
    kpis = cached_read(analytics.sales_kpis, days).set_index("period")
    cur, prev = kpis.loc["current"], kpis.loc["previous"]
    st.markdown(f"**{t(title_key)}**")
    help_text = t("dash.delta_help", days=days)
    st.metric(t("dash.revenue"), money(cur["revenue"]), _change(cur["revenue"], prev["revenue"]), help=help_text)
    st.metric(t("dash.orders"), number(cur['orders']), _change(cur["orders"], prev["orders"]), help=help_text)
    st.metric(t("dash.aov"), "—" if pd.isna(cur["aov"]) else money(cur["aov"]),
              _change(cur["aov"], prev["aov"]), help=help_text)
    return kpis.reset_index().assign(days=days)


def _trend(daily: pd.DataFrame) -> None:
    if daily.empty:
        st.info(t("dash.no_sales"))
        return
    chart = daily.assign(revenue=daily["revenue"].astype(float))
    fig = px.bar(chart, x="day", y="revenue", color="channel", barmode="stack",
                 labels={"day": t("field.day"), "revenue": t("dash.revenue"), "channel": t("field.channel")})
    fig.update_layout(legend_title_text=t("field.channel"), margin={"t": 10, "b": 10})
    fig.update_xaxes(tickformat="%m-%d")  # no English month names on a Chinese screen
    show_chart(fig, key="dash_trend")


def _takeaway(totals: pd.DataFrame, days: int) -> None:
    if totals.empty or not totals["revenue"].sum():
        return
    top = totals.iloc[0]
    st.info(t("dash.takeaway", channel=top["channel"], share=percent(top['share'], 0), days=days,
              revenue=money(top["revenue"]), total=money(sum(totals["revenue"], Decimal("0")))))


st.title(t("page.dashboard"))
kpi_frames = []
for column, (period_days, period_key) in zip(st.columns(len(PERIODS)), PERIODS, strict=True):
    with column:
        kpi_frames.append(_kpi_column(period_days, period_key))

st.subheader(t("dash.trend"))
trend_days = st.segmented_control(t("dash.trend_days"), TREND_DAYS, default=30, key="dash_days",
                                  format_func={d: t("dash.n_days", n=d) for d in TREND_DAYS}.__getitem__) or 30
daily_sales = cached_read(analytics.daily_revenue_by_channel, trend_days)
channel_share = analytics.channel_totals(daily_sales)
_takeaway(channel_share, trend_days)
_trend(daily_sales)

with st.expander(t("dash.tables"), icon=":material/table:"):
    for title_key, table, basename in (
        ("dash.by_channel", channel_share, "channel_totals"),
        ("dash.daily", daily_sales, "daily_revenue"),
        ("dash.kpis", translate_values(pd.concat(kpi_frames, ignore_index=True), period="period"), "kpis"),
    ):
        st.markdown(f"**{t(title_key)}**")
        show_table(table, download=basename)
