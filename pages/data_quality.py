"""Data quality: the database checked with Great Expectations, and every import's validation.

A manager runs the checks (ledger = on hand, reservations, order totals, statuses, dates,
orphan lines) with one button; the history shows every stored run — these checks, each import
batch's validation, other features' stored checks — with a chart of failures over time. Picking
a run lists each expectation, and for each failing one the rows that failed (downloadable).
The import batches below show each attempt's result and its per-row problems.
"""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from core.errors import OMSError
from core.services import data_quality, imports
from core.webui import (
    EMPTY_CELL,
    Notice,
    attempt,
    download_buttons,
    guard_page,
    lang,
    local_time,
    localize_times,
    show_chart,
    show_notice,
    show_table,
    t,
)

actor = guard_page("dq.view")
state = st.session_state

BATCH_ISSUE_COLUMNS = ["file", "row", "order", "field", "column", "value", "reason", "severity"]


def _translated(df: pd.DataFrame, area: str) -> pd.DataFrame:
    """``df`` with headers in the user's language (``<area>.col.<column>``: imp or quality)."""
    return df.rename(columns={c: t(f"{area}.col.{c}") for c in df.columns})


def _meaning(suite: str, code: str) -> str:
    """What an expectation checks, in the user's language: database checks have ``quality.check.*``
    entries, import suites reuse the import reasons."""
    key = f"quality.check.{code}" if suite.startswith("db.") else f"imp.reason.{code}"
    text = t(key, value="", detail="", column="", field="")
    return code if text == key else text


def _run_checks() -> None:
    bar = st.progress(0.0)
    try:
        report = data_quality.run_checks(actor, progress=lambda f, _stage: bar.progress(min(f, 1.0)))
    except OMSError as exc:
        state["dq_notice"] = exc
        return
    failed = len(report.failures())
    state["dq_notice"] = Notice("success", "quality.ran_ok") if report.success else \
        Notice("error", "quality.ran", {"failed": failed})


def _chart(runs: pd.DataFrame) -> None:
    db_runs = runs[runs["suite"].str.startswith("db.")]
    if db_runs.empty:
        return
    shown = localize_times(db_runs, "at")
    fig = px.bar(shown, x="at", y="failed_expectations", color="suite", title=t("quality.chart"),
                 labels={"at": t("quality.col.at"), "failed_expectations": t("quality.col.failed_expectations"),
                         "suite": t("quality.col.suite")})
    show_chart(fig)


def _run_detail(runs: pd.DataFrame) -> None:
    names = {int(r.id): t("quality.run_label", at=local_time(r.at), suite=r.suite, target=r.target)
             + f" · {t('quality.passed') if r.success else t('quality.failed')}" for r in runs.itertuples()}
    picked = st.selectbox(t("quality.pick"), list(names), format_func=names.__getitem__, key="dq_run")
    detail = attempt(data_quality.run_detail, int(picked), actor)
    if detail is None:
        return
    table = detail.expectations.copy()
    if len(table):
        table.insert(2, "reason", [_meaning(detail.run["suite"], c) for c in table["code"]])
        table["success"] = [t("quality.passed") if s else t("quality.failed") for s in table["success"]]
        st.markdown(f"**{t('quality.expectations')}**")
        show_table(_translated(table.drop(columns=["code"]), "quality"), download=f"dq_run_{picked}")
    if not detail.failing:
        st.success(t("quality.all_passed"))
    for code, rows in detail.failing.items():
        with st.expander(f"{t('quality.failing_rows')} · {_meaning(detail.run['suite'], code)} ({len(rows)})",
                         expanded=True):
            st.dataframe(rows, hide_index=True, placeholder=EMPTY_CELL)
            download_buttons(rows, f"dq_run_{picked}_{code}")


def _import_batches() -> None:
    st.subheader(t("quality.imports"))
    batches = attempt(imports.list_batches, actor)
    if batches is None or batches.empty:
        return
    shown = localize_times(batches, "created_at")
    shown["status"] = [t(f"imp.status.{s}") for s in shown["status"]]
    shown["kind"] = [t(f"imp.kind.{k}") for k in shown["kind"]]
    show_table(_translated(shown, "imp"), download="import_batches")
    names = {int(r.id): t("imp.batch", id=r.id, file=r.file_name, status=t(f"imp.status.{r.status}"))
             for r in batches.itertuples()}
    picked = st.selectbox(t("imp.history_pick"), list(names), format_func=names.__getitem__, key="dq_batch")
    detail = attempt(imports.batch_issues, int(picked), actor, lang())
    if detail is None:
        return
    if detail.issues.empty:
        st.success(t("imp.no_issues"))
        return
    issues = detail.issues[BATCH_ISSUE_COLUMNS].copy()
    issues["severity"] = [t(f"imp.severity.{s}") for s in issues["severity"]]
    issues["field"] = [t(f"imp.field.{f}") if f else "" for f in issues["field"]]
    show_table(_translated(issues, "imp"), download=f"import_{picked}_issues")


st.title(t("quality.title"))
st.caption(t("quality.caption"))
if actor.can("dq.run") and st.button(t("quality.run"), key="dq_run_now", type="primary"):
    _run_checks()
show_notice(state.get("dq_notice"))
runs = attempt(data_quality.list_runs, actor)
st.subheader(t("quality.history"))
if runs is None or runs.empty:
    st.info(t("quality.no_runs"))
else:
    _chart(runs)
    shown_runs = localize_times(runs, "at")
    shown_runs["success"] = [t("quality.passed") if s else t("quality.failed") for s in shown_runs["success"]]
    show_table(_translated(shown_runs, "quality"), download="dq_runs")
    _run_detail(runs)
_import_batches()
