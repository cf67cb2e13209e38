"""Running the huey consumer: ``oms worker [--workers N]`` (and ``make run``, which starts one
beside the app).

At start the worker puts back on the queue the jobs its dead predecessors left ``running``
(:func:`core.jobs.records.reap`) and asks for a summary refresh if the data moved on, then
consumes the queue with ``N`` worker threads; its scheduler runs the periodic work
(:mod:`core.worker.periodic`). SIGINT stops it after the running jobs finished; SIGTERM at once
(the jobs it was running are put back on the queue by the next worker that starts).
"""

from __future__ import annotations

import logging

from huey.consumer import Consumer

from core.jobs import queue
from core.worker import handlers, periodic

log = logging.getLogger("oms.worker")

POLL_SECONDS = 1.0  # the longest an idle worker waits before it looks at an SQLite queue again


def build(workers: int = 1, *, scheduled: bool = True) -> Consumer:
    """A consumer of the current environment's queue running every job kind."""
    handlers.register_all()
    huey = queue.get_huey()
    if scheduled:
        periodic.register(huey)
    return huey.create_consumer(workers=workers, worker_type="thread", periodic=scheduled, initial_delay=0.1,
                                backoff=1.15, max_delay=POLL_SECONDS, check_worker_health=True)


def prepare() -> None:
    """What a worker does before it takes jobs: adopt the jobs of dead workers, catch the
    summaries up."""
    handlers.register_all()
    periodic.reap()
    periodic.refresh_summaries()


def run(workers: int = 1) -> int:
    """Run a worker in the foreground until SIGINT/SIGTERM; the exit code."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    consumer = build(workers)
    log.info("oms worker: %d thread(s) on %s, %d message(s) waiting", workers, queue.backend().describe(),
             queue.pending())
    prepare()
    consumer.run()
    return 0
