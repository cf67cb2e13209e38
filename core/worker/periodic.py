"""The worker's scheduled work (huey periodic tasks, run by whichever worker's scheduler is up):

- every minute: put the jobs of dead workers back on the queue (:func:`core.jobs.records.reap`)
  and deliver the outbox (:func:`core.services.outbox_delivery.deliver_due`);
- every :data:`SUMMARY_MINUTES` minutes: queue a summary refresh when something was written
  since the last one — the dashboards' freshness (they only read);
- daily: delete finished jobs older than 30 days; re-match the payout statements and alert on
  money unmatched for more than ``finance.alert_days`` days (docs/finance.md).

Several workers on one queue each run a scheduler; the work is safe to do twice at once (the
reaper's updates are conditional, outbox rows are leased, a summary refresh is queued at most
once at a time).
"""

from __future__ import annotations

import logging

from huey import Huey, crontab

from core.analytics import summary
from core.jobs import kinds, records
from core.services import outbox_delivery, settlements

log = logging.getLogger("oms.worker")

SUMMARY_MINUTES = 5


def reap() -> None:
    requeued = records.reap()
    if requeued:
        log.warning("put back on the queue (their worker is gone): jobs %s", requeued)


def deliver_outbox() -> None:
    outbox_delivery.deliver_due()


def refresh_summaries() -> int | None:
    """Queue a summary refresh if the summaries are behind the data; the new job's id."""
    if summary.is_current():
        return None
    return records.request_system_job(kinds.SUMMARY)


def purge() -> None:
    deleted = records.purge()
    if deleted:
        log.info("deleted %d finished jobs older than %s", deleted, records.KEEP_FINISHED)


def reconcile() -> None:
    counts = settlements.daily_reconciliation()
    if counts["alerts"]:
        log.warning("settlement reconciliation: %d differences unmatched for too long", counts["alerts"])


def register(huey: Huey) -> None:
    """Schedule the periodic work on ``huey`` (every worker process does this at start)."""
    huey.periodic_task(crontab(), name="oms.reap")(reap)
    huey.periodic_task(crontab(), name="oms.outbox")(deliver_outbox)
    huey.periodic_task(crontab(minute=f"*/{SUMMARY_MINUTES}"), name="oms.summaries")(refresh_summaries)
    huey.periodic_task(crontab(minute="7", hour="3"), name="oms.purge")(purge)
    huey.periodic_task(crontab(minute="17", hour="3"), name="oms.reconcile")(reconcile)
