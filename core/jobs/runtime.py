"""Running one job: claim it, keep its heartbeat, let it report progress and notice a cancel,
record how it ended.

A handler is a function ``handler(ctx) -> result`` registered for a job kind by the worker
(:mod:`core.worker.handlers`). It calls services as the user who started the job
(``ctx.actor``), reports ``ctx.progress(done, total, message_code)`` between steps — which
also raises :class:`JobCancelled` once the job's owner asked it to stop — and returns a small
JSON-able dict the page shows. Whatever it raises decides the outcome: a refusal
(:class:`~core.errors.OMSError`) is stored with its message code, anything else as
``job.crashed`` with the exception's text.

A heartbeat thread writes ``heartbeat_at`` every ``OMS_JOB_HEARTBEAT_SECONDS`` and reads the
cancel flag, so a handler busy inside one long step (a single big transaction) still counts
as alive and a cancel is seen at its next step.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from core import db, environment
from core.errors import OMSError
from core.jobs import queue, records
from core.permissions import Actor

log = logging.getLogger("oms.jobs")

PROGRESS_SECONDS = 1.0  # at most one progress write per second (the last step is always written)


class JobCancelled(Exception):  # noqa: N818 - it is an event, not an error: the owner asked to stop
    """Raised inside a handler at its next step once the job's owner asked it to stop.

    Deliberately not an :class:`~core.errors.OMSError`: services that catch refusals (an
    import turning a refused unit into a rejected batch) must let it pass, so the transaction
    it interrupts rolls back whole.
    """


class JobContext:
    """What a handler gets: the job's parameters, who it runs as, progress and cancel."""

    def __init__(self, claim: records.Claim, cancel: threading.Event) -> None:
        self.job = claim.job
        self.attempt = claim.attempt
        self._cancel = cancel
        self._last_write = 0.0

    @property
    def job_id(self) -> int:
        return self.job.id

    @property
    def params(self) -> dict[str, Any]:
        return self.job.params

    @property
    def actor(self) -> Actor:
        return self.job.actor

    def files(self) -> list[tuple[str, bytes]]:
        return records.files(self.job.id)

    def check_cancel(self) -> None:
        """Raise :class:`JobCancelled` if the owner asked the job to stop."""
        if self._cancel.is_set():
            raise JobCancelled(f"job {self.job.id} cancelled")

    def progress(self, done: int, total: int, message: str | None = None, **params: Any) -> None:
        """Report ``done`` of ``total`` steps (``message``: a catalog code, shown with
        ``done``, ``total`` and ``params``), then stop here if the job was cancelled."""
        now = time.monotonic()
        due = now - self._last_write >= PROGRESS_SECONDS or bool(total and done >= total)
        # inside the handler's own SQLite write transaction a report would wait for that very lock:
        # skipped, the next report after the transaction catches up
        if due and not db.writing_here():
            try:
                records.report(self.job.id, self.attempt, done, total, message, params)
                self._last_write = now
            except OMSError as exc:  # a busy database must not stop the work; the next report catches up
                log.info("job %s: progress not recorded (%s)", self.job.id, exc)
        self.check_cancel()


Handler = Callable[[JobContext], dict[str, Any] | None]
_handlers: dict[str, Handler] = {}


def register(kind: str, handler: Handler) -> None:
    """Make ``handler`` run the jobs of ``kind`` in this process (the worker does this)."""
    _handlers[kind] = handler


@contextmanager
def _heartbeat(claim: records.Claim) -> Iterator[threading.Event]:
    """A thread that beats for the claim and sets the returned event on a cancel request."""
    cancel, stop = threading.Event(), threading.Event()
    interval = max(environment.job_heartbeat_seconds(), 0.05)

    def beat() -> None:
        while not stop.wait(interval):
            try:
                if records.beat(claim.job_id, claim.attempt):
                    cancel.set()
            except Exception as exc:  # noqa: BLE001 - a missed beat is harmless; the next one comes
                log.info("job %s: heartbeat not recorded (%s)", claim.job_id, exc)

    thread = threading.Thread(target=beat, name=f"job-{claim.job_id}-heartbeat", daemon=True)
    thread.start()
    try:
        yield cancel
    finally:
        stop.set()
        thread.join(timeout=interval + 15)


def execute(job_id: int, worker: str | None = None) -> str | None:
    """Run job ``job_id`` if it is still queued; returns its final status (None when it was
    not queued any more: cancelled before it started, or already taken)."""
    claim = records.claim(job_id, worker or records.worker_id())
    if claim is None:
        log.info("job %s: not queued any more, skipped", job_id)
        return None
    job = claim.job
    log.info("job %s (%s) attempt %d started by %s", job.id, job.kind, claim.attempt, job.created_by)
    handler = _handlers.get(job.kind)
    with _heartbeat(claim) as cancel:
        try:
            if handler is None:
                records.fail(job.id, claim.attempt, "job.unknown_kind", {"kind": job.kind})
                return "failed"
            context = JobContext(claim, cancel)
            context.check_cancel()
            result = handler(context)
        except JobCancelled:
            records.cancelled(job.id, claim.attempt)
            log.info("job %s cancelled", job.id)
            return "cancelled"
        except OMSError as exc:
            code, params = records.failure(exc)
            records.fail(job.id, claim.attempt, code, params, str(exc))
            log.info("job %s refused: %s", job.id, exc)
            return "failed"
        except Exception as exc:
            log.exception("job %s crashed", job.id)
            records.fail(job.id, claim.attempt, "job.crashed", {"error": f"{type(exc).__name__}: {exc}"[:300]},
                         traceback.format_exc())
            return "failed"
    records.finish(job.id, claim.attempt, result or {})
    log.info("job %s succeeded", job.id)
    return "succeeded"


queue.set_runner(execute)  # the queue's oms.run_job task runs jobs through this module
