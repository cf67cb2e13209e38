"""The worker's scheduled work (huey periodic tasks, run by whichever worker's scheduler is up):

- every minute: put the jobs of dead workers back on the queue (:func:`core.jobs.records.reap`),
  deliver the outbox: e-mails (:func:`core.services.outbox_delivery.deliver_due`) and
  webhooks (:func:`core.services.webhook_delivery.deliver_due`), as two tasks so a slow
  receiver never holds up the e-mails, and sync the channels' stock figures
  (:func:`core.services.channel_stock.sync`: ``stock.changed`` events);
- every :data:`SUMMARY_MINUTES` minutes: queue a summary refresh when something was written
  since the last one — the dashboards' freshness (they only read);
- every minute: queue a scheduled backup when one is due, and raise the alert when the newest
  good backup is older than its schedule (:func:`core.services.backup_schedule.tick`);
- every minute: merge open orders to the same door when the shop turned the rule on
  (:func:`core.services.merging.auto_merge`; nothing while the setting is off);
- daily: delete finished jobs older than 30 days; re-match the payout statements and alert on
  money unmatched for more than ``finance.alert_days`` days, and alert on exported accounting
  days whose journal changed since (docs/finance.md).

Several workers on one queue each run a scheduler; the work is safe to do twice at once (the
reaper's updates are conditional, outbox rows are leased, a summary refresh and a backup are
queued at most once at a time, a channel stock figure is replaced — and published — by a
conditional write).
"""

from __future__ import annotations

import logging

from huey import Huey, crontab

from core.analytics import summary
from core.jobs import kinds, records
from core.permissions import SYSTEM
from core.services import (
    accounting_export,
    backup_schedule,
    channel_stock,
    merging,
    outbox_delivery,
    settlements,
    webhook_delivery,
)

log = logging.getLogger("oms.worker")

SUMMARY_MINUTES = 5


def reap() -> None:
    requeued = records.reap()
    if requeued:
        log.warning("put back on the queue (their worker is gone): jobs %s", requeued)


def deliver_outbox() -> None:
    outbox_delivery.deliver_due()


def deliver_webhooks() -> None:
    webhook_delivery.deliver_due()


def sync_channel_stock() -> None:
    result = channel_stock.sync()
    if result.published:
        log.info("channel stock: %d of %d figures changed enough to publish", result.published, result.checked)


def refresh_summaries() -> int | None:
    """Queue a summary refresh if the summaries are behind the data; the new job's id."""
    if summary.is_current():
        return None
    return records.request_system_job(kinds.SUMMARY)


def backups() -> int | None:
    """Queue a scheduled backup when one is due; the new job's id."""
    return backup_schedule.tick()


def merge_orders() -> None:
    made = merging.auto_merge()
    if made:
        log.info("merged orders: %d shipments (%s)", len(made), ", ".join(m.group for m in made[:10]))


def purge() -> None:
    deleted = records.purge()
    if deleted:
        log.info("deleted %d finished jobs older than %s", deleted, records.KEEP_FINISHED)


def reconcile() -> None:
    counts = settlements.daily_reconciliation()
    if counts["alerts"]:
        log.warning("settlement reconciliation: %d differences unmatched for too long", counts["alerts"])


def journal_check() -> None:
    """Exported days whose journal changed since (a late shipment, a new refund): one alert each."""
    raised = accounting_export.alert_changed_exports(SYSTEM)
    if raised:
        log.warning("accounting export: %d exported days changed since their export", raised)


def register(huey: Huey) -> None:
    """Schedule the periodic work on ``huey`` (every worker process does this at start)."""
    huey.periodic_task(crontab(), name="oms.reap")(reap)
    huey.periodic_task(crontab(), name="oms.outbox")(deliver_outbox)
    huey.periodic_task(crontab(), name="oms.webhooks")(deliver_webhooks)
    huey.periodic_task(crontab(), name="oms.channel_stock")(sync_channel_stock)
    huey.periodic_task(crontab(minute=f"*/{SUMMARY_MINUTES}"), name="oms.summaries")(refresh_summaries)
    huey.periodic_task(crontab(), name="oms.backups")(backups)
    huey.periodic_task(crontab(), name="oms.merge_orders")(merge_orders)
    huey.periodic_task(crontab(minute="7", hour="3"), name="oms.purge")(purge)
    huey.periodic_task(crontab(minute="17", hour="3"), name="oms.reconcile")(reconcile)
    huey.periodic_task(crontab(minute="27", hour="3"), name="oms.journal_check")(journal_check)
