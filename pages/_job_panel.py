"""A background job on a page (not a page itself; ``app.py`` does not register it).

Everything shown comes from the job's row (``core.services.jobs``), never from the browser
session: while the job is queued or running a fragment re-reads it every few seconds and draws
its progress — also after a reload, in another tab or for another user — with a Cancel button;
when it ends the whole page reruns once, so its tables show the new data, and the panel says how
the job ended: the page's own ``outcome`` for a success, the refusal for a failure (with Retry),
who cancelled it.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from core.errors import OMSError
from core.permissions import Actor
from core.services import jobs
from core.services.jobs import JobView
from core.webui import Notice, local_time, show_error, show_notice, t

POLL_SECONDS = 2


def show(job: JobView | None, actor: Actor, *, key: str, outcome: Callable[[JobView], None]) -> None:
    """The panel of ``job`` (nothing when there is none); ``key`` prefixes its widget keys."""
    show_notice(st.session_state.pop(f"{key}_notice", None))
    if job is None:
        return
    if job.active:
        st.fragment(_live, run_every=POLL_SECONDS)(job.id, actor, key)
        return
    st.caption(t("job.ended", id=job.id, by=job.created_by, at=local_time(job.finished_at)))
    if job.status == "succeeded":
        outcome(job)
    elif job.status == "cancelled":
        st.info(t("job.was_cancelled", who=job.cancelled_by or job.created_by))
    else:
        error = job.error()
        if error is not None:
            show_error(error)
        st.button(t("job.retry"), key=f"{key}_retry", on_click=_retry, args=(job.id, actor, key),
                  icon=":material/replay:")


def _live(job_id: int, actor: Actor, key: str) -> None:
    """Polled while the job is active: its progress, or a full rerun once it has ended."""
    try:
        job = jobs.get_job(job_id, actor)
    except OMSError as exc:
        show_error(exc)
        return
    if not job.active:
        st.rerun(scope="app")
    st.progress(job.fraction, text=progress_text(job))
    st.caption(t("job.started", id=job.id, by=job.created_by, at=local_time(job.created_at), attempt=job.attempts))
    if job.status == "queued":
        st.caption(t("job.waiting"))
    elif job.abandoned():
        st.warning(t("job.worker_gone"))
        st.button(t("job.retry"), key=f"{key}_retry_live", on_click=_retry, args=(job.id, actor, key),
                  icon=":material/replay:")
    if job.cancel_requested:
        st.caption(t("job.cancelling"))
    else:
        st.button(t("job.cancel"), key=f"{key}_cancel", on_click=_cancel, args=(job.id, actor, key),
                  icon=":material/cancel:")


def progress_text(job: JobView) -> str:
    """The job's last progress message in the user's language."""
    if job.message:
        return t(job.message, done=job.done, total=job.total, **job.message_params)
    return t(f"job.status.{job.status}")


def _cancel(job_id: int, actor: Actor, key: str) -> None:
    try:
        status = jobs.cancel_job(job_id, actor)
    except OMSError as exc:
        st.session_state[f"{key}_notice"] = exc
        return
    st.session_state[f"{key}_notice"] = Notice("info", "job.cancel_requested" if status == "running"
                                               else "job.was_cancelled", {"who": actor.username})


def _retry(job_id: int, actor: Actor, key: str) -> None:
    try:
        jobs.retry_job(job_id, actor)
    except OMSError as exc:
        st.session_state[f"{key}_notice"] = exc
