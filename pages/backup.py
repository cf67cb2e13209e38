"""Backups for the admin: make a consistent backup now, download any kept backup, follow the
scheduled backups (last run, next run, generations kept, location, key) and see what the
database holds.

"Back up now" calls :func:`core.services.backup.backup_now` (SQLite online backup or
``pg_dump``; the shop keeps working meanwhile). Backups are kept on the server in
``OMS_BACKUP_DIR`` and downloaded from the list. Restoring replaces every record for every
user, so it is deliberately not a button here: it runs from the command line
(``oms restore FILE``), which checks the backup before touching anything.

Scheduled backups come from :func:`core.services.backup_schedule.schedule_status`; "Run the
scheduled backup now" queues the same job the worker's scheduler queues.
"""

from __future__ import annotations

from functools import partial

import pandas as pd
import streamlit as st

from core.errors import OMSError
from core.services import backup, backup_schedule
from core.webui import (
    Notice,
    attempt,
    guard_page,
    label,
    local_time,
    localize_times,
    number,
    show_notice,
    show_table,
    t,
)

actor = guard_page("backup.run")
state = st.session_state
MAX_LISTED = 10


def _back_up() -> None:
    """Button callback: one backup; its size and duration (or the refusal) shown afterwards."""
    try:
        result = backup.backup_now(actor)
    except OMSError as exc:
        state["bk_notice"] = exc
        return
    state["bk_notice"] = Notice("success", "backups.done", {
        "file": result.path.name, "mb": f"{result.size_bytes / 1e6:.1f}", "tables": result.tables,
        "seconds": result.seconds})


def _file_bytes(name: str) -> bytes:
    """A backup file's bytes, read only when its download button is pressed."""
    return backup.backup_file(name, actor).read_bytes()


def _downloads(files: pd.DataFrame) -> None:
    for row in files.head(MAX_LISTED).itertuples():
        name_col, button_col = st.columns([3, 1], vertical_alignment="center")
        name_col.markdown(f"**{row.file}** · {local_time(row.created_at)} · {row.size_mb:.1f} MB")
        button_col.download_button(
            t("backups.download"), data=partial(_file_bytes, row.file),
            file_name=row.file, mime="application/octet-stream", key=f"bk_dl_{row.file}", on_click="ignore",
            icon=":material/download:")


st.title(t("page.backup"))
st.caption(t("backups.intro"))
st.button(t("backups.now"), type="primary", key="bk_now", on_click=_back_up, icon=":material/backup:")
show_notice(state.get("bk_notice"))

st.subheader(t("backups.kept"))
files = attempt(backup.list_backups, actor)
if files is not None and files.empty:
    st.info(t("backups.none"))
elif files is not None:
    _downloads(files)

def _run_scheduled() -> None:
    """Button callback: queue a scheduled backup now (one at a time)."""
    try:
        job_id = backup_schedule.run_now(actor)
    except OMSError as exc:
        state["bk_sched_notice"] = exc
        return
    state["bk_sched_notice"] = Notice("success", "backups.run_queued", {"job": job_id})


def _schedule() -> None:
    status = attempt(backup_schedule.schedule_status, actor)
    if status is None:
        return
    last = status.last_run
    last_text = (f"{label('backup_run', last.status)} · {local_time(last.finished_at or last.created_at)}"
                 if last else t("backups.never"))
    next_text = local_time(status.next_run_at) if status.next_run_at else t("backups.off")
    cols = st.columns(3)
    cols[0].metric(t("backups.last_run"), last_text)
    cols[1].metric(t("backups.next_run"), next_text)
    cols[2].metric(t("backups.generations"), t("backups.generations_of", n=len(status.generations),
                                                keep=status.schedule.keep))
    st.caption(t("backups.location", path=str(status.target)))
    if status.key_problem is not None:
        show_notice(status.key_problem)
    else:
        st.caption(t("backups.key_in_use", key_id=status.key_id))
    if status.same_disk:
        st.warning(t("backups.same_disk"))
    if status.overdue:
        st.error(t("backups.overdue", since=local_time(status.last_success_at) or t("backups.never")))
    if last is not None and last.status == "failed":
        error = last.error()
        st.error(t("backups.last_failed", reason=str(error) if error else ""))
    if not status.generations.empty:
        show_table(localize_times(status.generations, "created_at"))
    st.button(t("backups.run_now"), key="bk_sched_now", on_click=_run_scheduled, icon=":material/schedule:")
    show_notice(state.get("bk_sched_notice"))


st.subheader(t("backups.schedule"))
st.caption(t("backups.schedule_help"))
_schedule()

st.subheader(t("backups.restore"))
st.markdown(t("backups.restore_help"))
st.code("oms restore FILE", language="bash")

with st.expander(t("backups.contents")):
    summary = attempt(backup.database_summary, actor)
    if summary is not None:
        show_table(summary)
        st.caption(t("backups.rows_total", rows=number(int(summary['row_count'].sum()))))
