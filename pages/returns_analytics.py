"""Returns analysis: how much comes back and why — return rate by category, channel and SKU,
top reasons and which areas they hit, time to resolve, the open backlog — and the SKUs whose
return rate is far above the rest of their category, flagged for the buyer.

Numbers come from ``core.analytics.returns`` through ``cached_read`` (refreshed by any write).
Rates are cohort rates: of the units shipped on orders placed in the period, the share under
an RMA — so the newest weeks read low while their buyers can still return.
"""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from core.analytics import returns as ra
from core.webui import (
    cached_read,
    guard_page,
    label,
    money,
    percent,
    show_chart,
    show_table,
    t,
    translate_values,
)

guard_page("rma.view")

PERIODS = (30, 90, 180, 365)
RATES = ("rma_return_rate", "rma_unit_share", "rma_category_rate")  # fractions shown as percentages


def _bar(frame: pd.DataFrame, x: str, y: str, key: str, color: str | None = None, percent: bool = False) -> None:
    fig = px.bar(frame, x=x, y=y, color=color,
                 labels={c: label("field", c) for c in (x, y, color) if c})
    if percent:
        fig.update_yaxes(tickformat=".0%")
    fig.update_layout(margin={"t": 10, "b": 10}, legend_title_text=label("field", color) if color else None)
    show_chart(fig, key=key)


def _kpis(days: int, by_category: pd.DataFrame, backlog: pd.DataFrame) -> None:
    shipped, returned = int(by_category["rma_shipped"].sum()), int(by_category["rma_returned"].sum())
    cols = st.columns(5)
    cols[0].metric(t("ret.rate"), percent(returned / shipped) if shipped else "—", help=t("ret.rate_help"))
    cols[1].metric(t("ret.units"), f"{returned:,} / {shipped:,}")
    cols[2].metric(t("ret.refunds"), money(cached_read(ra.refunds_paid, days)))
    median = cached_read(ra.median_resolution_days, days)
    cols[3].metric(t("ret.resolve_days"), "—" if median is None else f"{median:.1f}", help=t("ret.resolve_help"))
    cols[4].metric(t("ret.open"), int(backlog["rma_count"].sum()) if not backlog.empty else 0)


def _flags(flags: pd.DataFrame) -> None:
    st.subheader(t("ret.flags"))
    flagged = flags[flags["rma_flagged"]] if not flags.empty else flags
    if flagged.empty:
        st.success(t("ret.no_flags"))
    else:
        for row in flagged.itertuples():
            st.warning(t("ret.flag_line", sku=row.sku, name=row.name, rate=percent(row.rma_return_rate),
                         category=row.category, category_rate=percent(row.rma_category_rate),
                         ratio=f"{row.rma_rate_ratio:.1f}", returned=row.rma_returned, shipped=row.rma_shipped))
    st.caption(t("ret.flag_rule", shipped=ra.FLAG_MIN_SHIPPED, returned=ra.FLAG_MIN_RETURNED, ratio=ra.FLAG_RATIO,
                 z=ra.FLAG_Z))
    show_table(flags, download="return_outliers", percent=RATES)


st.title(t("page.returns_analytics"))
period = st.segmented_control(t("ret.period"), PERIODS, default=90, key="ret_days",
                              format_func={d: t("dash.n_days", n=d) for d in PERIODS}.__getitem__) or 90
progress = st.progress(0.0, text=t("ret.loading"))
by_category = cached_read(ra.return_rates, "category", period)
progress.progress(0.2, text=t("ret.loading"))
by_channel = cached_read(ra.return_rates, "channel", period)
by_sku = cached_read(ra.return_rates, "sku", period)
progress.progress(0.5, text=t("ret.loading"))
reasons = translate_values(cached_read(ra.return_reasons, period), rma_reason="rma_reason")
mix = translate_values(cached_read(ra.reason_mix, "category", period), rma_reason="rma_reason")
progress.progress(0.8, text=t("ret.loading"))
times = cached_read(ra.resolution_times, period)
backlog = cached_read(ra.open_backlog)
progress.empty()

_kpis(period, by_category, backlog)
if by_category.empty:
    st.info(t("ret.no_data"))
else:
    left, right = st.columns(2)
    with left:
        st.subheader(t("ret.by_reason"))
        if reasons.empty:
            st.caption(t("ret.no_returns"))
        else:
            _bar(reasons, "rma_reason", "rma_returned", "ret_reasons")
    with right:
        st.subheader(t("ret.by_category"))
        _bar(by_category, "category", "rma_return_rate", "ret_category", percent=True)
    left, right = st.columns(2)
    with left:
        st.subheader(t("ret.by_channel"))
        _bar(by_channel, "channel", "rma_return_rate", "ret_channel", percent=True)
    with right:
        st.subheader(t("ret.mix"))
        if mix.empty:
            st.caption(t("ret.no_returns"))
        else:
            _bar(mix, "category", "rma_returned", "ret_mix", color="rma_reason")
    _flags(ra.flag_outliers(by_sku))

st.subheader(t("ret.resolution"))
if times.empty:
    st.caption(t("ret.none_closed"))
else:
    show_table(translate_values(times, rma_kind="rma_kind"))
st.subheader(t("ret.backlog"))
if backlog.empty:
    st.caption(t("ret.no_backlog"))
else:
    show_table(translate_values(backlog, rma_status="rma_status"))

with st.expander(t("ret.tables"), icon=":material/table:"):
    st.markdown(f"**{t('ret.by_reason')}**")
    show_table(reasons, download="return_reasons", percent=RATES)
    st.markdown(f"**{t('ret.by_sku')}**")
    show_table(by_sku, download="return_rates_sku", percent=RATES)
    st.markdown(f"**{t('ret.by_category')}**")
    show_table(by_category, download="return_rates_category", percent=RATES)
    st.markdown(f"**{t('ret.by_channel')}**")
    show_table(by_channel, download="return_rates_channel", percent=RATES)
