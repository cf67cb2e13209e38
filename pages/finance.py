"""Finance (财务对账): money in and money out per day and channel, receivables, the payout
statements and their differences with the orders — which finance resolves here with a reason;
and the accountant's export: daily vouchers in a generic or 金蝶 / 用友 layout, the account
mapping, the exported days and those changed since.

Figures come from ``core.services.finance_views``, ``core.services.settlements`` and
``core.services.accounting_export`` (docs/finance.md says how each is counted); statements are
imported on the Import page.
"""

from __future__ import annotations

import datetime as dt

import plotly.express as px
import streamlit as st

from core.errors import OMSError
from core.services import accounting_export, finance_views, settlements
from core.services.jobs import JOURNAL, JobView, latest_job
from core.timeutil import local_today
from core.webui import (
    XLSX_MIME,
    Notice,
    attempt,
    cached_read,
    field_issues,
    guard_page,
    label,
    lang,
    money,
    show_chart,
    show_notice,
    show_table,
    show_tabs,
    t,
)
from pages import _job_panel as job_panel

actor = guard_page("finance.view")
state = st.session_state

PERIODS = (7, 30, 90, 365)
KINDS = ("missing_payout", "refund_without_payout", "unknown_payout", "short_payment", "over_payment",
         "double_payout", "fee_difference")
CHART = ("net_sales", "refunds", "fees", "net_received")
LAYOUTS = ("kingdee", "yonyou", "generic_xlsx", "generic_csv")  # the accountant's usual choice first


def _figures() -> None:
    left, right = st.columns([1, 3])
    days = left.selectbox(t("fin.period"), PERIODS, index=1, key="fin_days")
    daily = attempt(cached_read, finance_views.daily_finance, actor, days)
    if daily is None:
        return
    chosen = right.multiselect(t("fin.channels"), sorted(daily["channel"].unique()), key="fin_channels",
                               placeholder=t("common.all"))
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
    fig.update_xaxes(tickformat="%m-%d")  # no English month names on a Chinese screen
    show_chart(fig, key="fin_chart")
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
    kinds = left.multiselect(t("fin.kinds"), KINDS, format_func=lambda k: label("fin_kind", k), key="fin_kinds",
                             placeholder=t("common.all"))
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
            st.form_submit_button(t("fin.resolve_button"), on_click=_resolve, key="fin_resolve_submit")


# --- the accountant's export -------------------------------------------------------------------


def _export() -> None:
    """The export button's callback: one service call (it marks the days exported); the file
    is kept for the download button on the next run. A range longer than
    ``accounting_export.JOB_DAYS`` days goes to a background job (the panel below shows it)."""
    start, end = state["fin_exp_from"], state["fin_exp_to"]
    again, language = bool(state.get("fin_exp_again")), lang()
    try:
        if (end - start).days + 1 > accounting_export.JOB_DAYS:
            accounting_export.start_export(start, end, state["fin_exp_layout"], actor, again=again, lang=language)
            state.pop("fin_export_file", None)
            state["fin_exp_again"] = False
            return
        result = accounting_export.export_journal(start, end, state["fin_exp_layout"], actor, again=again,
                                                  lang=language)
    except OMSError as exc:
        state["fin_notice"] = exc
        return
    state["fin_export_file"] = (result.name, result.data)
    state["fin_notice"] = Notice("success", "fin.exported", {"days": result.days, "vouchers": result.vouchers,
                                                             "debit": money(result.debit / 100).lstrip("¥")})
    state["fin_exp_again"] = False


def _download(name: str, data: bytes) -> None:
    st.download_button(t("fin.export_download"), data=data, file_name=name, key="fin_exp_download",
                       mime="text/csv" if name.endswith(".csv") else XLSX_MIME)


def _job_done(job: JobView) -> None:
    """A finished export job: what it exported and its file."""
    result = job.result or {}
    st.success(t("fin.exported", days=result.get("days"), vouchers=result.get("vouchers"),
                 debit=money((result.get("debit") or 0) / 100).lstrip("¥")))
    built = attempt(accounting_export.job_file, job.id, actor)
    if built is not None and "fin_export_file" not in state:
        _download(*built)


def _save_accounts() -> None:
    accounts = {entry: (state.get(f"fin_acc_code_{entry}") or "", state.get(f"fin_acc_name_{entry}") or "")
                for entry in accounting_export.ENTRIES}
    try:
        accounting_export.set_account_mapping(accounts, actor)
    except OMSError as exc:
        state["fin_notice"] = exc
        return
    state["fin_notice"] = Notice("success", "fin.accounts_saved")


def _exported_days() -> None:
    days = attempt(cached_read, accounting_export.exported_days, actor)
    if days is None or days.empty:
        return
    changed = int(days["changed"].sum())
    if changed:
        st.warning(t("fin.changed_days", count=changed))
    st.subheader(t("fin.exported_days"))
    show_table(days.sort_values("day", ascending=False), download="exported_days", prefix="fin_col")


def _accounts(notice: object) -> None:
    st.subheader(t("fin.accounts"))
    st.caption(t("fin.accounts_caption"))
    mapping = attempt(cached_read, accounting_export.account_mapping, actor)
    if mapping is None:
        return
    if not actor.can("finance.export"):
        show_table(mapping.assign(entry=mapping["entry"].map(lambda e: label("fin_entry", e))), prefix="fin_col")
        return
    with st.form("fin_accounts_form"):
        for row in mapping.itertuples():
            left, middle, right = st.columns([2, 2, 3])
            left.markdown(f"**{label('fin_entry', row.entry)}**  \n{row.default_code} {row.default_name}")
            middle.text_input(t("fin_col.code"), value=row.code, key=f"fin_acc_code_{row.entry}", max_chars=20)
            right.text_input(t("fin_col.name"), value=row.name, key=f"fin_acc_name_{row.entry}", max_chars=60)
        field_issues(notice if isinstance(notice, OMSError) else None, lines=True)  # row = the form's row
        st.form_submit_button(t("fin.accounts_save"), on_click=_save_accounts, key="fin_accounts_submit")


def _export_tab(notice: object) -> None:
    st.caption(t("fin.export_caption"))
    today = local_today()
    first_of_month = today.replace(day=1)
    left, middle, right = st.columns(3)
    start = left.date_input(t("fin.export_from"), value=(first_of_month - dt.timedelta(days=1)).replace(day=1),
                            max_value=today, key="fin_exp_from")
    end = middle.date_input(t("fin.export_to"), value=first_of_month - dt.timedelta(days=1), max_value=today,
                            key="fin_exp_to")
    names = {v: label("fin_layout", v) for v in LAYOUTS}  # fixed at render: AppTest re-formats outside the run
    right.selectbox(t("fin.export_layout"), LAYOUTS, format_func=names.__getitem__, key="fin_exp_layout")
    if actor.can("finance.export"):
        st.checkbox(t("fin.export_again"), key="fin_exp_again")
        st.button(t("fin.export_button"), key="fin_exp_build", on_click=_export, type="primary")
        built = state.get("fin_export_file")
        if built:
            _download(*built)
        job_panel.show(attempt(latest_job, JOURNAL, actor, mine=True), actor, key="fin_exp_job", outcome=_job_done)
    _exported_days()
    if isinstance(start, dt.date) and isinstance(end, dt.date):
        st.subheader(t("fin.export_preview"))
        preview = attempt(cached_read, accounting_export.journal_preview, actor, start, end, lang=lang())
        if preview is not None:
            shown = preview.assign(voucher_kind=preview["voucher_kind"].map(lambda k: label("fin_voucher_kind", k)),
                                   entry=preview["entry"].map(lambda e: label("fin_entry", e)))
            show_table(shown, download="journal", prefix="fin_col", money=["debit", "credit"])
    _accounts(notice)


st.title(t("page.finance"))
notice = state.pop("fin_notice", None)
show_notice(notice)


def _figures_tab() -> None:
    _figures()
    _differences(notice)


show_tabs({t("fin.tab_figures"): _figures_tab, t("fin.tab_export"): lambda: _export_tab(notice)})
