"""The worker: the entry point that runs background jobs (``oms worker``, docs/jobs.md).

Like the pages and the CLI it sits above ``core.services``: :mod:`core.worker.handlers` turns
each job kind into one service call, :mod:`core.worker.periodic` holds the scheduled work
(dead-worker reaper, outbox delivery, summary refresh, clean-up) and
:mod:`core.worker.consumer` runs the huey consumer.
"""
