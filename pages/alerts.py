"""Alerts panel: late orders (SLA, due soon), parcels not delivered, stock under safety level and
orders waiting for stock — with acknowledge — plus, for managers, the stock reconciliation
report (ledger vs on hand vs reservations vs open orders) and its history.

"Scan now" runs the same scan as ``oms alerts scan``; "Run reconciliation" the same as
``oms reconcile``. Each button is one service call.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.errors import OMSError
from core.services.alerts import SCANNED_KINDS, acknowledge, list_alerts, open_alert_counts, scan_alerts
from core.services.reconciliation import (
    RUN_PERMISSION,
    VIEW_PERMISSION,
    reconciliation_history,
    run_reconciliation,
    stored_report,
)
from core.webui import (
    Notice,
    attempt,
    guard_page,
    label,
    labels,
    local_time,
    localize_times,
    show_notice,
    show_table,
    stored_text,
    t,
    translate_values,
)

actor = guard_page("alert.view")
state = st.session_state
KINDS = (*SCANNED_KINDS, "reconciliation")


def _scan() -> None:
    try:
        summary = scan_alerts(actor)
    except OMSError as exc:
        state["al_notice"] = exc
        return
    state["al_notice"] = Notice("success", "al.scanned", {"raised": sum(summary.raised.values()),
                                                          "resolved": summary.resolved})


def _acknowledge() -> None:
    try:
        done = acknowledge(state.get("al_ack") or [], actor)
    except OMSError as exc:
        state["al_notice"] = exc
        return
    state["al_ack"] = []
    state["al_notice"] = Notice("success", "al.acknowledged", {"n": done})


def _reconcile() -> None:
    try:
        report = run_reconciliation(actor)
    except OMSError as exc:
        state["al_notice"] = exc
        return
    state["al_notice"] = (Notice("success", "al.reconcile_ok", {"movements": report.movements})
                          if report.ok else
                          Notice("error", "al.reconcile_found", {"n": len(report.discrepancies)}))


def _headline() -> None:
    counts = attempt(open_alert_counts, actor) or {}
    cols = st.columns(len(KINDS))
    for col, kind in zip(cols, KINDS, strict=True):
        col.metric(label("alert_kind", kind), counts.get(kind, 0))


def _alerts() -> None:
    kinds_col, ack_col, resolved_col, scan_col = st.columns([3, 1, 1, 1], vertical_alignment="bottom")
    kinds = kinds_col.multiselect(t("al.kinds"), KINDS, format_func=labels("alert_kind", KINDS).__getitem__,
                                  key="al_kinds", placeholder=t("common.all"))
    with_ack = ack_col.checkbox(t("al.show_acknowledged"), key="al_with_ack")
    with_resolved = resolved_col.checkbox(t("al.show_resolved"), key="al_with_resolved")
    scan_col.button(t("al.scan"), key="al_scan", on_click=_scan, icon=":material/refresh:")
    found = attempt(list_alerts, actor, kinds=kinds or None, include_acknowledged=with_ack,
                    include_resolved=with_resolved)
    if found is None:
        return
    if found.empty:
        st.success(t("al.none"))
        return
    shown = translate_values(localize_times(found.drop(columns=["id", "message_codes"]), "created_at",
                                            "acknowledged_at", "resolved_at"), kind="alert_kind",
                             severity="alert_severity", entity="entity")
    shown["message"] = [stored_text(c, m) for c, m in zip(found["message_codes"], found["message"], strict=True)]
    show_table(shown.astype(object).where(shown.notna(), ""), download="alerts")
    if not actor.can("alert.ack"):
        return
    open_ = found[found["acknowledged_at"].isna()]
    options = {int(r.id): f"{label('alert_kind', r.kind)} · {stored_text(r.message_codes, r.message)}"
               for r in open_.itertuples()}
    st.multiselect(t("al.to_acknowledge"), list(options), format_func=options.__getitem__, key="al_ack",
                   placeholder=t("al.to_acknowledge_hint"))
    st.button(t("al.acknowledge"), key="al_ack_go", type="primary", on_click=_acknowledge)


def _discrepancies(frame: pd.DataFrame) -> None:
    if frame.empty:
        st.success(t("al.reconcile_clean"))
        return
    shown = frame.assign(cause=[label("recon_cause", c) for c in frame["cause"]])
    show_table(translate_values(shown, check="recon_check"), download="reconciliation")


def _reconciliation() -> None:
    st.subheader(t("al.reconciliation"))
    st.caption(t("al.reconciliation_help"))
    if actor.can(RUN_PERMISSION):
        st.button(t("al.run_reconcile"), key="al_reconcile", on_click=_reconcile, icon=":material/balance:")
    history = attempt(reconciliation_history, actor)
    if history is None or history.empty:
        st.info(t("al.no_reports"))
        return
    latest = history.iloc[0]
    st.markdown(t("al.latest_report", at=local_time(latest["at"]), n=int(latest["discrepancies"]),
                  seconds=f"{latest['seconds']:.2f}"))
    report = attempt(stored_report, int(latest["id"]), actor)
    if report is not None:
        _discrepancies(report)
    with st.expander(t("al.report_history"), icon=":material/history:"):
        show_table(localize_times(history.drop(columns=["id"]), "at"), download="reconciliation_history")


st.title(t("page.alerts"))
show_notice(state.pop("al_notice", None))
_headline()
_alerts()
if actor.can(VIEW_PERMISSION):
    st.divider()
    _reconciliation()
