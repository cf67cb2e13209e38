"""A job row's life, each step one short transaction: create → claim → progress/heartbeat →
finish | fail | cancelled, and the reaper that finds the jobs of dead workers.

Every worker-side write is conditional on the claim it holds (``status = 'running' AND
attempts = n``): a worker that was given up for dead and comes back cannot overwrite the
outcome of the attempt that replaced it.

**Dead workers.** A job killed mid-way (SIGKILL, power cut) stays ``running`` with a heartbeat
that stops. It is *abandoned* when its worker process is gone (same machine: checked at once by
pid) or its heartbeat is older than ``OMS_JOB_STALE_SECONDS`` (another machine). The reaper —
run by every worker at start and every minute — puts an abandoned job back on the queue, up to
:data:`MAX_ATTEMPTS` claims, then fails it (``job.abandoned``); the user can still retry it. An
abandoned job whose owner had asked it to stop is cancelled instead.
Re-running is safe because every handler writes its results in one transaction at the end or
is idempotent (docs/jobs.md).
"""

from __future__ import annotations

import datetime as dt
import decimal
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from core import environment, processes
from core.db import read_only, rowcount, unit_of_work
from core.errors import FieldIssue, OMSError, Refused, ValidationError
from core.jobs import queue
from core.jobs.kinds import SUMMARY
from core.models import Job, JobFile
from core.permissions import SYSTEM, Actor
from core.timeutil import utcnow

log = logging.getLogger("oms.jobs")

ACTIVE = ("queued", "running")
FINAL = ("succeeded", "failed", "cancelled")
MAX_ATTEMPTS = 3  # claims of one job before the reaper stops putting it back
MAX_DETAIL = 4_000
KEEP_FINISHED = dt.timedelta(days=30)


# --- values ----------------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """``value`` as JSON the job row can store: dates as ISO text, Decimals as text (exact),
    numpy numbers as Python numbers, anything else unknown as its text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        return jsonable(item())
    return str(value)


def worker_id() -> str:
    """``host:pid`` of this process: who holds a claim."""
    return f"{processes.here()}:{os.getpid()}"


@dataclass(frozen=True)
class JobView:
    """A job as pages and handlers see it (no ORM object leaves a session)."""

    id: int
    kind: str
    params: dict[str, Any]
    status: str
    attempts: int
    done: int
    total: int
    message: str | None
    message_params: dict[str, Any]
    result: dict[str, Any] | None
    error_code: str | None
    error_params: dict[str, Any]
    error_detail: str | None
    created_by: str
    created_role: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    heartbeat_at: dt.datetime | None
    finished_at: dt.datetime | None
    cancel_requested: bool
    cancelled_by: str | None
    worker: str | None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def fraction(self) -> float:
        """Progress from 0 to 1 (0 until the handler reported a total)."""
        return min(max(self.done / self.total, 0.0), 1.0) if self.total else 0.0

    @property
    def actor(self) -> Actor:
        """Who the job runs as: the user who started it, with the role checked then."""
        return Actor(self.created_by, self.created_role)

    def error(self) -> OMSError | None:
        """The stored failure as the refusal it was (message code, parameters, field issues),
        for pages to show like any other refusal; None unless the job failed."""
        if self.status != "failed":
            return None
        params = dict(self.error_params)
        issues = params.pop("issues", None)
        if issues:
            return ValidationError([FieldIssue(i.get("field", ""), i.get("message", ""), i.get("row"), i.get("value"),
                                               i.get("params")) for i in issues])
        return Refused(self.error_code or "job.crashed", **params)

    def abandoned(self, now: dt.datetime | None = None) -> bool:
        """True when the job is ``running`` but its worker is gone (see the module doc)."""
        return self.status == "running" and _abandoned(self.worker, self.heartbeat_at or self.started_at,
                                                       now or utcnow())


def _abandoned(worker: str | None, heartbeat: dt.datetime | None, now: dt.datetime) -> bool:
    host, _, pid = (worker or "").rpartition(":")
    if host == processes.here() and pid.isdigit() and not processes.alive_here(int(pid)):
        return True
    return heartbeat is None or (now - heartbeat).total_seconds() > environment.job_stale_seconds()


def view(job: Job) -> JobView:
    return JobView(job.id, job.kind, dict(job.params or {}), job.status, job.attempts, job.done, job.total,
                   job.message, dict(job.message_params or {}), job.result, job.error_code, dict(job.error_params or {}),
                   job.error_detail, job.created_by, job.created_role, job.created_at, job.started_at,
                   job.heartbeat_at, job.finished_at, bool(job.cancel_requested), job.cancelled_by, job.worker)


# --- enqueue side ----------------------------------------------------------------------------


def create(session: Session, kind: str, params: dict[str, Any], actor: Actor,
           files: Iterable[tuple[str, bytes]] = ()) -> int:
    """Write a ``queued`` job (and the files it reads) in the caller's transaction; the caller
    enqueues it with :func:`enqueue` after the commit."""
    job = Job(kind=kind, params=jsonable(params), created_at=utcnow(), created_by=actor.username,
              created_role=actor.role, status="queued", attempts=0, done=0, total=0, cancel_requested=False)
    session.add(job)
    session.flush()
    for name, data in files:
        session.add(JobFile(job_id=job.id, name=name[:300], data=data))
    return job.id


def enqueue(job_id: int) -> None:
    """Put a committed job on the queue; a queue that cannot be reached fails the job with
    ``job.queue_unavailable`` (retry it once the queue is back) and refuses with that code."""
    try:
        queue.enqueue(job_id)
    except Exception as exc:
        log.exception("job %s: the queue (%s) cannot be reached", job_id, queue.backend().describe())
        _fail_unqueued(job_id, f"{type(exc).__name__}: {exc}")
        raise Refused("job.queue_unavailable", job=job_id) from exc


@unit_of_work
def _fail_unqueued(session: Session, job_id: int, detail: str) -> None:
    session.execute(update(Job).where(Job.id == job_id, Job.status == "queued").values(
        status="failed", finished_at=utcnow(), error_code="job.queue_unavailable", error_params={"job": job_id},
        error_detail=detail[:MAX_DETAIL]))


def active_job(session: Session, kind: str) -> Job | None:
    """The oldest queued or running job of ``kind``, if any."""
    return session.execute(select(Job).where(Job.kind == kind, Job.status.in_(ACTIVE))
                           .order_by(Job.id).limit(1)).scalar_one_or_none()


def request_system_job(kind: str, params: dict[str, Any] | None = None) -> int | None:
    """Queue a job the system starts (a summary refresh) unless one of ``kind`` is already
    waiting or running; returns the new job's id, or None when there was one."""
    job_id = _create_system_job(kind, params or {})
    if job_id is not None:
        enqueue(job_id)
    return job_id


@unit_of_work
def _create_system_job(session: Session, kind: str, params: dict[str, Any]) -> int | None:
    if active_job(session, kind) is not None:
        return None
    return create(session, kind, params, SYSTEM)


def requeue(session: Session, job: Job, message: str) -> None:
    """Put a failed, cancelled or abandoned job back to ``queued`` (progress and outcome
    cleared; its files kept); the caller enqueues it after the commit."""
    job.status, job.worker, job.finished_at, job.started_at, job.heartbeat_at = "queued", None, None, None, None
    job.done, job.total, job.message, job.message_params = 0, 0, message, {}
    job.result, job.error_code, job.error_params, job.error_detail = None, None, None, None
    job.cancel_requested, job.cancelled_by = False, None


# --- worker side -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """The right to run one attempt of a job."""

    job: JobView

    @property
    def job_id(self) -> int:
        return self.job.id

    @property
    def attempt(self) -> int:
        return self.job.attempts


def _mine(job_id: int, attempt: int) -> Any:
    return (Job.id == job_id, Job.status == "running", Job.attempts == attempt)


@unit_of_work
def claim(session: Session, job_id: int, worker: str) -> Claim | None:
    """Take a queued job (``running``, one more attempt); None when it is not queued any more
    (cancelled before it started, or a second message for a job already taken)."""
    now = utcnow()
    taken = rowcount(session.execute(update(Job).where(Job.id == job_id, Job.status == "queued").values(
        status="running", attempts=Job.attempts + 1, started_at=now, heartbeat_at=now, worker=worker,
        message=None, message_params={})))
    if not taken:
        return None
    job = session.get(Job, job_id)
    assert job is not None
    return Claim(view(job))


@unit_of_work
def beat(session: Session, job_id: int, attempt: int) -> bool:
    """The heartbeat; returns whether someone asked the job to stop."""
    session.execute(update(Job).where(*_mine(job_id, attempt)).values(heartbeat_at=utcnow()))
    return bool(session.execute(select(Job.cancel_requested).where(Job.id == job_id)).scalar_one_or_none())


@unit_of_work
def report(session: Session, job_id: int, attempt: int, done: int, total: int, message: str | None,
           params: dict[str, Any]) -> None:
    """Progress (and a heartbeat)."""
    session.execute(update(Job).where(*_mine(job_id, attempt)).values(
        done=max(int(done), 0), total=max(int(total), 0), message=message, message_params=jsonable(params),
        heartbeat_at=utcnow()))


@unit_of_work
def finish(session: Session, job_id: int, attempt: int, result: dict[str, Any]) -> bool:
    """``succeeded`` with ``result``; the files it read are no longer needed."""
    now = utcnow()
    won = rowcount(session.execute(update(Job).where(*_mine(job_id, attempt)).values(
        status="succeeded", result=jsonable(result), finished_at=now, heartbeat_at=now, done=Job.total,
        message=None)))
    if won:
        session.execute(delete(JobFile).where(JobFile.job_id == job_id))
    return bool(won)


@unit_of_work
def fail(session: Session, job_id: int, attempt: int, code: str, params: dict[str, Any],
         detail: str | None = None) -> bool:
    """``failed`` with the reason as a message code and parameters (what the page shows)."""
    now = utcnow()
    return bool(rowcount(session.execute(update(Job).where(*_mine(job_id, attempt)).values(
        status="failed", error_code=code, error_params=jsonable(params),
        error_detail=(detail or "")[:MAX_DETAIL] or None, finished_at=now, heartbeat_at=now))))


def failure(exc: OMSError) -> tuple[str, dict[str, Any]]:
    """The message code and parameters to store for a refusal (a ValidationError keeps its
    field issues, so the page lists them as it would have on the spot)."""
    params = dict(exc.params)
    if isinstance(exc, ValidationError):
        params["issues"] = [{"field": i.field, "message": i.message, "row": i.row, "value": i.value,
                             "params": i.params} for i in exc.issues]
    return exc.key, params


@unit_of_work
def cancelled(session: Session, job_id: int, attempt: int) -> bool:
    """The job stopped at its owner's request; what it had done was rolled back."""
    now = utcnow()
    return bool(rowcount(session.execute(update(Job).where(*_mine(job_id, attempt)).values(
        status="cancelled", finished_at=now, heartbeat_at=now, message=None))))


@read_only
def files(session: Session, job_id: int) -> list[tuple[str, bytes]]:
    """The files a job reads, in the order they were given."""
    return [(name, bytes(data)) for name, data in session.execute(
        select(JobFile.name, JobFile.data).where(JobFile.job_id == job_id).order_by(JobFile.id))]


# --- the reaper ------------------------------------------------------------------------------


def reap() -> list[int]:
    """Find running jobs whose worker is gone: put each back on the queue (another attempt) or,
    after :data:`MAX_ATTEMPTS` claims, fail it with ``job.abandoned``. Returns the ids put back."""
    requeued = _reap()
    for job_id in requeued:
        enqueue(job_id)
    return requeued


@unit_of_work
def _reap(session: Session) -> list[int]:
    now = utcnow()
    requeued = []
    for job in session.execute(select(Job).where(Job.status == "running").order_by(Job.id)).scalars():
        if not _abandoned(job.worker, job.heartbeat_at or job.started_at, now):
            continue
        log.warning("job %s (%s): worker %s is gone (heartbeat %s)", job.id, job.kind, job.worker, job.heartbeat_at)
        if job.cancel_requested:  # its owner wanted it stopped anyway
            job.status, job.finished_at = "cancelled", now
        elif job.attempts >= MAX_ATTEMPTS:
            job.status, job.finished_at = "failed", now
            job.error_code, job.error_params = "job.abandoned", {"attempts": job.attempts, "worker": job.worker or ""}
        else:
            requeue(session, job, "job.requeued")
            requeued.append(job.id)
    return requeued


@unit_of_work
def purge(session: Session, keep: dt.timedelta = KEEP_FINISHED) -> int:
    """Delete finished jobs older than ``keep`` (with their files); returns how many."""
    cutoff = utcnow() - keep
    old = select(Job.id).where(Job.status.in_(FINAL), Job.finished_at < cutoff)
    session.execute(delete(JobFile).where(JobFile.job_id.in_(old)))
    return int(rowcount(session.execute(delete(Job).where(Job.status.in_(FINAL), Job.finished_at < cutoff))))


def refresh_summaries_soon() -> None:
    """Ask the worker to bring the dashboards' summary tables up to date (a writer calls this
    after a bulk write such as an import). A queue that cannot be reached only logs: the
    worker's periodic refresh catches up."""
    try:
        request_system_job(SUMMARY)
    except OMSError as exc:
        log.warning("summary refresh not queued: %s", exc)
