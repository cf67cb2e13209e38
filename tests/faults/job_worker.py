"""``oms worker`` with one fault injected, for the tests that kill a worker mid-job.

``OMS_TEST_HOLD=KIND:MESSAGE[:N]``: when a job of KIND reports progress with the message code
MESSAGE for the N-th time (default the first), the worker prints ``held <job id>`` and stays
there — still noticing a cancel — until the test kills it. (An import reports
``imp.progress.writing`` once before its write transaction and then from inside it, so ``:2``
holds it inside.) Everything else is the real worker: the real handlers, services, queue and
heartbeat.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from core.jobs.runtime import Handler, JobContext
from core.worker import consumer, handlers


def held(handler: Handler, message: str, occurrence: int) -> Handler:
    def run(ctx: JobContext) -> dict[str, Any] | None:
        report = ctx.progress
        seen = 0

        def progress(done: int, total: int, code: str | None = None, **params: Any) -> None:
            nonlocal seen
            seen += code == message
            if code == message and seen == occurrence:
                print(f"held {ctx.job_id}", flush=True)
                while True:
                    ctx.check_cancel()
                    time.sleep(0.05)
            report(done, total, code, **params)

        ctx.progress = progress  # type: ignore[method-assign, assignment]
        return handler(ctx)

    return run


if __name__ == "__main__":
    kind, message, *count = os.environ["OMS_TEST_HOLD"].split(":")
    handlers.HANDLERS[kind] = held(handlers.HANDLERS[kind], message, int(count[0]) if count else 1)
    sys.exit(consumer.run(1))
