"""The huey queue: Redis when ``REDIS_URL`` is set, else an SQLite file beside the database.

Only a job's id travels through the queue (the ``oms.run_job`` task); the job's parameters,
progress and outcome are in the ``jobs`` table. So the queue may be flushed, or moved from
SQLite to Redis, without losing what a page shows — a queued job whose message was lost is
put back on the queue by :func:`core.jobs.records.retry`.

One huey instance per (backend, location, queue name) per process, built on first use: tests
and the CLI point one process at other databases by changing the environment.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from huey import Huey, RedisHuey, SqliteHuey
from huey.api import TaskWrapper

from core import environment

RUN_JOB = "oms.run_job"
SQLITE_BUSY_SECONDS = 10.0


@dataclass(frozen=True)
class Backend:
    """Where the queue lives: ``kind`` is ``redis`` (``location`` = the URL) or ``sqlite``
    (``location`` = the file); ``name`` is the queue's name (its Redis key prefix)."""

    kind: str
    location: str
    name: str

    def describe(self) -> str:
        """For logs and ``oms worker``'s first line (a Redis password is not printed)."""
        if self.kind == "redis":
            return f"RedisHuey {self.name!r} at {_without_password(self.location)}"
        return f"SqliteHuey {self.name!r} in {self.location}"


def _without_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not an URL SQLAlchemy parses: print only the scheme
        return url.split("://", 1)[0] + "://…"


def backend() -> Backend:
    """The backend the environment selects (see the module docstring)."""
    url = environment.redis_url()
    if url:
        return Backend("redis", url, environment.jobs_queue_name())
    return Backend("sqlite", str(environment.jobs_db_path()), environment.jobs_queue_name())


@dataclass(frozen=True)
class _Queue:
    huey: Huey
    run_job: TaskWrapper


_queues: dict[Backend, _Queue] = {}
_guard = threading.Lock()


def _build(where: Backend) -> Huey:
    if where.kind == "redis":
        return RedisHuey(where.name, url=where.location, results=False)
    Path(where.location).parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(where.name, filename=where.location, results=False, timeout=SQLITE_BUSY_SECONDS)


_runner: Callable[[int], object] | None = None


def set_runner(runner: Callable[[int], object]) -> None:
    """The function the ``oms.run_job`` task calls with a job's id: :func:`core.jobs.runtime.execute`,
    which registers itself when imported (the queue sits below the runtime, which reads and
    writes the job rows through :mod:`core.jobs.records`, which enqueues through this module)."""
    global _runner
    _runner = runner


def _run_job(job_id: int) -> None:
    if _runner is None:
        raise RuntimeError("no job runtime in this process: import core.jobs.runtime (oms worker does)")
    _runner(job_id)


def _queue() -> _Queue:
    where = backend()
    with _guard:
        found = _queues.get(where)
        if found is None:
            huey = _build(where)
            found = _Queue(huey, huey.task(name=RUN_JOB)(_run_job))
            _queues[where] = found
    return found


def get_huey() -> Huey:
    """The huey instance of the current environment (the worker registers its periodic tasks
    on it; tests flush it)."""
    return _queue().huey


def enqueue(job_id: int) -> None:
    """Put job ``job_id`` on the queue (after the transaction that wrote its row committed)."""
    queue = _queue()
    queue.huey.enqueue(queue.run_job.s(job_id))


def pending() -> int:
    """Messages waiting in the queue (for ``oms worker``'s first line and the tests)."""
    return int(get_huey().pending_count())


def forget() -> None:
    """Drop every huey instance of this process (tests switch databases and queues)."""
    with _guard:
        for queue in _queues.values():
            queue.huey.storage.close()
        _queues.clear()
