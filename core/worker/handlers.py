"""One handler per job kind: the job's parameters in, one service call as the user who started
it, a small result out (what the page shows). Progress goes to the job row; a cancel stops the
handler at its next progress report (:class:`core.jobs.runtime.JobCancelled`).

Every handler may run twice for one job (a retry after its worker died): each service it calls
writes its results in one transaction at the end (a forecast run, the suggestions, an import
batch, a summary refresh), so a killed attempt left nothing behind and the next one starts clean
— except the names' conversion, whose batches are each complete and idempotent, so the next
attempt resumes after the last one committed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.analytics import summary
from core.jobs import kinds
from core.jobs.runtime import Handler, JobContext, register
from core.services import (
    accounting_export,
    backup_schedule,
    customer_names,
    forecast_pipeline,
    imports,
    replenishment,
)


def _day(text: object) -> dt.date | None:
    return dt.date.fromisoformat(str(text)) if text else None


def forecast(ctx: JobContext) -> dict[str, Any]:
    """A forecast run (``core.services.forecast_pipeline.run_forecast``), progress per batch of series."""
    p = ctx.params
    info = forecast_pipeline.run_forecast(
        ctx.actor, horizon=int(p["horizon"]), backend=str(p["backend"]), as_of=_day(p.get("as_of")),
        from_last_sale=bool(p.get("from_last_sale")),
        progress=lambda done, total: ctx.progress(done, total, "plan.progress"))
    return {"run": info.id, "series": info.series, "seconds": info.metrics.get("seconds")}


def suggestions(ctx: JobContext) -> dict[str, Any]:
    """Replenishment suggestions (one transaction: reads the stock position, writes the rows)."""
    p = ctx.params
    ctx.progress(0, 1, "job.msg.computing")
    s = replenishment.generate_suggestions(ctx.actor, service_level=float(p["service_level"]),
                                           review_days=int(p["review_days"]), run_id=p.get("run_id"),
                                           as_of=_day(p.get("as_of")))
    return {"run_id": s.run_id, "suggestions": s.suggestions, "units": s.units, "value": str(s.value),
            "superseded": s.superseded, "as_of": s.as_of.isoformat() if s.as_of else None, "checked": s.checked,
            "reason": s.reason, "cost_unknown": s.cost_unknown}


def import_files(ctx: JobContext) -> dict[str, Any]:
    """A large import; its files come from the job (``job_files``)."""
    files = [imports.SourceFile(name, data) for name, data in ctx.files()]
    report = imports.run_import(files, imports.options_from_params(ctx.params), ctx.actor,
                                progress=lambda fraction, stage: ctx.progress(round(fraction * 1000), 1000,
                                                                              f"imp.progress.{stage}"))
    return {"batch_id": report.batch_id, "status": report.status, "rows": report.rows, "accepted": report.accepted,
            "rejected": report.rejected, "files": list(report.files)}


def refresh_summaries(ctx: JobContext) -> dict[str, Any]:
    """The dashboards' summary tables (incremental; nothing to do when they are current)."""
    result = summary.refresh(progress=lambda fraction, _stage: ctx.progress(round(fraction * 100), 100,
                                                                           "an.refreshing"))
    return {"skipped": result.skipped, "full": result.full, "days": result.days, "seconds": result.seconds}


def scheduled_backup(ctx: JobContext) -> dict[str, Any]:
    """An encrypted backup into the second location, verified by a trial restore, old
    generations pruned; a failure raises an alert (``core.services.backup_schedule``)."""
    return backup_schedule.run_scheduled(ctx.actor, progress=lambda done, total, message: ctx.progress(
        done, total, message))


def journal_export(ctx: JobContext) -> dict[str, Any]:
    """The accountant's voucher file of a long range; the file is kept with the job."""
    p = ctx.params
    ctx.progress(0, 1, "job.msg.computing")
    result = accounting_export.export_to_job(ctx.job_id, dt.date.fromisoformat(p["start"]),
                                             dt.date.fromisoformat(p["end"]), str(p["layout"]), ctx.actor,
                                             again=bool(p.get("again")), lang=str(p.get("lang") or "zh"))
    return {"name": result.name, "days": result.days, "vouchers": result.vouchers, "debit": result.debit}


def convert_names(ctx: JobContext) -> dict[str, Any]:
    """Customers' names to the setting's state, in resumable batches (a killed attempt's
    batches stay done: the next attempt carries on from the recorded position)."""
    result = customer_names.convert_names(ctx.actor, progress=lambda last_id, top: ctx.progress(
        last_id, top, "names.progress"))
    return {"encrypt": result.encrypt, "rewritten": result.rewritten, "verified": result.verified}


HANDLERS: dict[str, Handler] = {kinds.FORECAST: forecast, kinds.REPLENISH: suggestions, kinds.IMPORT: import_files,
            kinds.SUMMARY: refresh_summaries, kinds.BACKUP: scheduled_backup, kinds.JOURNAL: journal_export,
            kinds.NAMES: convert_names}


def register_all() -> None:
    """Make this process run every kind of job."""
    for kind, handler in HANDLERS.items():
        register(kind, handler)
