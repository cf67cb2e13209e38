"""Finance (财务对账): money in and money out per day and channel, receivables, the payout
statements and their differences with the orders — which finance resolves here with a reason.

Figures come from ``core.services.finance_views`` and ``core.services.settlements``
(docs/finance.md says how each is counted); statements are imported on the Import page.
"""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from core.errors import OMSError
from core.services import finance_views, settlements
from core.webui import (
    Notice,
    attempt,
    cached_read,
    field_issues,
    guard_page,
    label,
    money,
    show_notice,
    show_table,
    t,
)

actor = guard_page("finance.view")
state = st.session_state

PERIODS = (7, 30, 90, 365)
KINDS = ("missing_payout", "refund_without_payout", "unknown_payout", "short_payment", "over_payment",
         "double_payout", "fee_difference")
CHART = ("net_sales", "refunds", "fees", "net_received")


def _figures() -> None:
    left, right = st.columns([1, 3])
    days = left.selectbox(t("fin.period"), PERIODS, index=1, key="fin_days")
    daily = attempt(cached_read, finance_views.daily_finance, actor, days)
    if daily is None:
        return
    chosen = right.multiselect(t("fin.channels"), sorted(daily["channel"].unique()), key="fin_channels")
    if chosen:
        daily = daily[daily["channel"].isin(chosen)]
    if daily.empty:
        st.info(t("fin.no_data"))
        return
    cols = st.columns(5)
    for col, (key, measure) in zip(cols, (("fin.net_sales", "net_sales"), ("fin.refunds", "refunds"),
                                          ("fin.fees", "fees"), ("fin.net_received", "net_received"),
                                          ("fin.margin", "gross_margin")), strict=True):
        col.metric(t(key), money(daily[measure].sum()))
    long = daily.groupby("day", as_index=False)[list(CHART)].sum().melt("day", var_name="measure", value_name="amount")
    long["amount"] = long["amount"].astype(float)
    long["measure"] = long["measure"].map(lambda m: label("fin_col", m))
    fig = px.bar(long, x="day", y="amount", color="measure", barmode="group",
                 labels={"day": label("fin_col", "day"), "amount": "¥", "measure": ""})
    fig.update_layout(margin={"t": 10, "b": 10})
    st.plotly_chart(fig, key="fin_chart")
    st.subheader(t("fin.daily"))
    st.caption(t("fin.daily_caption"))
    show_table(daily, download="finance_daily", prefix="fin_col", money=finance_views.MEASURES)
    st.subheader(t("fin.receivables"))
    owed = attempt(cached_read, finance_views.receivables, actor)
    if owed is not None:
        show_table(owed, download="receivables", prefix="fin_col", money=finance_views.RECEIVABLE_COLUMNS[1:])


def _resolve() -> None:
    """The resolve form's callback: one service call; the outcome is shown on the next run."""
    try:
        settlements.resolve_difference(int(state["fin_resolve_id"]), state.get("fin_resolve_reason") or "", actor)
    except OMSError as exc:
        state["fin_notice"] = exc
        return
    state["fin_notice"] = Notice("success", "fin.resolved", {"id": state["fin_resolve_id"]})
    state["fin_resolve_reason"] = ""


def _rematch() -> None:
    try:
        counts = settlements.reconcile_settlements(actor)
    except OMSError as exc:
        state["fin_notice"] = exc
        return
    state["fin_notice"] = Notice("success", "fin.rematched", counts)


def _differences(notice: object) -> None:
    st.subheader(t("fin.settlements"))
    st.caption(t("fin.settlements_caption"))
    summary = attempt(cached_read, settlements.settlement_summary, actor)
    if summary is not None and not summary.empty:
        show_table(summary, download="settlements", prefix="fin_col", money=["gross", "fees", "commissions", "net"])
    st.subheader(t("fin.differences"))
    left, right = st.columns([3, 1])
    kinds = left.multiselect(t("fin.kinds"), KINDS, format_func=lambda k: label("fin_kind", k), key="fin_kinds")
    resolved = right.checkbox(t("fin.show_resolved"), key="fin_show_resolved")
    diffs = attempt(cached_read, settlements.list_differences, actor, open_only=not resolved, kinds=kinds or None)
    if diffs is None:
        return
    if diffs.empty:
        st.success(t("fin.no_differences"))
    else:
        shown = diffs.assign(kind=diffs["kind"].map(lambda k: label("fin_kind", k)))
        show_table(shown, download="settlement_differences", prefix="fin_col",
                   money=["expected", "actual", "difference"])
    if actor.can("finance.import"):
        st.button(t("fin.rematch"), key="fin_rematch", on_click=_rematch)
    open_ids = diffs.loc[diffs["resolved_at"].isna(), "id"].tolist()
    if open_ids and actor.can("finance.resolve"):
        with st.form("fin_resolve_form"):
            st.markdown(f"**{t('fin.resolve')}**")
            names = {int(r.id): f"{r.id} · {label('fin_kind', r.kind)} · {r.order or r.reference or ''}"
                     for r in diffs.itertuples()}
            st.selectbox(t("fin.resolve_which"), open_ids, format_func=lambda i: names[int(i)], key="fin_resolve_id")
            st.text_input(t("fin.resolve_reason"), key="fin_resolve_reason", max_chars=settlements.MAX_REASON)
            field_issues(notice if isinstance(notice, OMSError) else None, "reason")
            st.form_submit_button(t("fin.resolve_button"), on_click=_resolve)


st.title(t("page.finance"))
notice = state.pop("fin_notice", None)
show_notice(notice)
_figures()
_differences(notice)
