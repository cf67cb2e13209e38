"""Background jobs as a user sees them: start one (behind each area's ``start_*`` service), read
its state, cancel it, retry it (docs/jobs.md).

Starting is one transaction — the permission check, the ``jobs`` row (and the files it reads),
the audit row — followed by putting the job's id on the queue once that committed. A forecast
or replenishment run is shop-wide: a second one is refused while one is queued or running.

Who may see, cancel or retry a job is the permission it was started under (``forecast.run``,
``replenish.decide``, ``order.import`` / ``stock.import``); summary refreshes, started by the
system, belong to the dashboards (``dashboard.view``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.db import read_only, unit_of_work
from core.errors import NotFound, Refused
from core.jobs import kinds, records
from core.jobs.kinds import FORECAST, IMPORT, JOURNAL, REPLENISH, SUMMARY
from core.jobs.records import JobView
from core.models import Job
from core.permissions import Actor, require
from core.timeutil import utcnow

__all__ = ["FORECAST", "IMPORT", "JOURNAL", "REPLENISH", "SUMMARY", "JobView", "cancel_job", "get_job", "latest_job", "retry_job",
           "submit"]

SHARED = frozenset({kinds.FORECAST, kinds.REPLENISH, kinds.SUMMARY, kinds.BACKUP, kinds.NAMES})  # one at a time per shop
VIEW: dict[str, tuple[str, ...]] = {  # who may see the jobs of a kind (any of these)
    kinds.FORECAST: ("forecast.view",),
    kinds.REPLENISH: ("replenish.decide",),
    kinds.IMPORT: ("order.import", "stock.import"),
    kinds.SUMMARY: ("dashboard.view",),
    kinds.BACKUP: ("backup.run",),
    kinds.JOURNAL: ("finance.export",),
    kinds.NAMES: ("keys.manage",),
}
SYSTEM_PERMISSION = "dashboard.view"  # jobs the system started (no permission in their params)


def submit(kind: str, params: dict[str, Any], actor: Actor, action: str,
           files: Iterable[tuple[str, bytes]] = ()) -> int:
    """Start a job of ``kind`` that needs ``action``: check, write, commit, enqueue. Returns
    the job's id. The area services (``start_forecast`` …) validate their parameters first."""
    job_id = _create(kind, params, actor, action, tuple(files))
    records.enqueue(job_id)
    return job_id


@unit_of_work
def _create(session: Session, kind: str, params: dict[str, Any], actor: Actor, action: str,
            files: tuple[tuple[str, bytes], ...]) -> int:
    require(actor, action)
    if kind in SHARED:
        running = records.active_job(session, kind)
        if running is not None:
            raise Refused("job.already_active", job=running.id)
    job_id = records.create(session, kind, params | {"permission": action}, actor, files)
    audit.record(session, actor, "job.start", "job", job_id,
                 after={"kind": kind, **records.jsonable(params), "files": [name for name, _ in files]})
    return job_id


def _permission(job: Job | JobView) -> str:
    return str((job.params or {}).get("permission") or SYSTEM_PERMISSION)


def _load(session: Session, job_id: int, actor: Actor, *, lock: bool = False) -> Job:
    stmt = select(Job).where(Job.id == job_id)
    job = session.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none()
    if job is None:
        raise NotFound(f"no job {job_id}", job=job_id)
    require(actor, _permission(job))
    return job


@read_only
def get_job(session: Session, job_id: int, actor: Actor) -> JobView:
    """One job's state (the page polls this)."""
    return records.view(_load(session, job_id, actor))


@read_only
def latest_job(session: Session, kind: str, actor: Actor, *, mine: bool = False) -> JobView | None:
    """The newest job of ``kind`` (``mine``: started by ``actor``), or None."""
    allowed = VIEW.get(kind)
    if allowed is None:
        raise Refused("job.unknown_kind", kind=kind)
    if not any(actor.can(action) for action in allowed):
        require(actor, allowed[0])
    stmt = select(Job).where(Job.kind == kind)
    if mine:
        stmt = stmt.where(Job.created_by == actor.username)
    job = session.execute(stmt.order_by(Job.id.desc()).limit(1)).scalar_one_or_none()
    return None if job is None else records.view(job)


@unit_of_work
def cancel_job(session: Session, job_id: int, actor: Actor) -> str:
    """Stop a job: a queued one is cancelled at once, a running one at its next step (what it
    had written in its unfinished transaction is rolled back). Returns the job's status."""
    job = _load(session, job_id, actor, lock=True)
    if job.status not in records.ACTIVE:
        raise Refused("job.not_active", job=job_id, status=job.status)
    before = {"status": job.status}
    if job.status == "queued":
        job.status, job.finished_at = "cancelled", utcnow()
    job.cancel_requested, job.cancelled_by = True, actor.username
    session.flush()
    audit.record(session, actor, "job.cancel", "job", job_id, before=before,
                 after={"status": job.status, "cancel_requested": True})
    return job.status


def retry_job(job_id: int, actor: Actor) -> None:
    """Run a job again: one that failed or was cancelled, one whose worker died (a ``running``
    job without a live worker), or a queued one whose message the queue lost."""
    _requeue(job_id, actor)
    records.enqueue(job_id)


@unit_of_work
def _requeue(session: Session, job_id: int, actor: Actor) -> None:
    job = _load(session, job_id, actor, lock=True)
    if job.status == "succeeded" or (job.status == "running" and not records.view(job).abandoned()):
        raise Refused("job.not_retryable", job=job_id, status=job.status)
    if job.kind in SHARED:
        other = records.active_job(session, job.kind)
        if other is not None and other.id != job_id:
            raise Refused("job.already_active", job=other.id)
    before = {"status": job.status, "error": job.error_code}
    if job.status != "queued":
        records.requeue(session, job, "job.retried")
    session.flush()
    audit.record(session, actor, "job.retry", "job", job_id, before=before, after={"status": job.status})
