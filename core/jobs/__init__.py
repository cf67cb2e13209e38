"""Background jobs on huey: the queue, the job rows and the run of one job (docs/jobs.md).

The flow: a page calls one service (``core.services.jobs.submit`` behind ``start_forecast``,
``start_suggestions``, ``start_import``), which checks the permission, writes a ``jobs`` row
(``queued``) and — after the commit — puts the row's id on the queue. A worker (``oms worker``,
:mod:`core.worker`) takes the id, claims the row (``running``), runs the handler registered
for its kind and writes progress, heartbeat, result or error into the row in short
transactions. The page reads the row; nothing of a job lives in the browser session.

- :mod:`core.jobs.queue` — the huey instance: ``RedisHuey`` when ``REDIS_URL`` is set, else
  ``SqliteHuey`` in a file beside the SQLite database.
- :mod:`core.jobs.records` — the job row's life (create, claim, progress, finish, fail,
  cancel, reap the jobs of dead workers).
- :mod:`core.jobs.runtime` — the handler registry and :func:`~core.jobs.runtime.execute`,
  which runs one job with a heartbeat and a cancel flag.

This package sits below ``core.services`` (services enqueue through it); the handlers, which
call services, live with the worker entry point (:mod:`core.worker`).
"""
