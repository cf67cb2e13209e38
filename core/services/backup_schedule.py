"""Scheduled backups: an encrypted backup into a second location at the shop's chosen time,
verified by a trial restore, keeping N generations, with an alert when one fails or none is
recent enough.

The schedule lives in Shop settings (``backup_schedule``: enabled, hour and minute in the
shop's timezone, every N days, generations to keep); the location is the server's
``OMS_BACKUP_TARGET_DIR`` — another directory or a mounted disk, set by whoever runs the
server, not from a web page (a page that picks server paths would let an admin write files
anywhere). Without it the backups go to ``<OMS_BACKUP_DIR>/scheduled`` and the Backup page
says that this is the same disk as the database.

Each run is a job (kind ``backup.scheduled``, :mod:`core.jobs`): the worker's scheduler calls
:func:`tick` every minute, which raises or clears the *overdue* alert and queues a run when
one is due (one at a time). The job row is the run's record — last run, outcome, the
generations kept — so no table of its own is needed. :func:`run_scheduled`:

1. writes the backup (:func:`core.services.backup.backup`: encrypted, with its manifest) as
   ``FILE.partial`` and renames it when complete;
2. restores it into a scratch database — a temporary SQLite file, or a scratch PostgreSQL
   database on the same server — with every check a real restore makes (key, authentication,
   integrity, schema, invariants, checksums equal to the manifest);
3. only then deletes the oldest generations beyond ``keep``.

A failing step deletes the new file (an unverified backup is not a generation), raises a
``backup_failed`` alert and fails the job with the refusal's message code; the next attempt
comes an hour later. A worker killed mid-run leaves at most a ``.partial`` file, no generation
is lost (pruning comes last), and the reaper re-runs the job.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from core import audit, backup_crypto, config, db
from core.db import read_only, unit_of_work
from core.errors import (
    Message,
    OMSError,
    Refused,
    stored,
)
from core.jobs import kinds, records
from core.jobs.records import JobView
from core.models import Alert, Job
from core.permissions import Actor, require
from core.services import backup, jobs, shop_settings
from core.timeutil import shop_tz, utcnow

TARGET_ENV = "OMS_BACKUP_TARGET_DIR"
GRACE = dt.timedelta(hours=2)  # a backup is overdue this long after the time it should have run
RETRY_AFTER = dt.timedelta(hours=1)  # after a failed run, the next attempt
ALERT_ENTITY = "backup"
FAILED, OVERDUE = "backup_failed", "backup_overdue"
PERMISSION = "backup.run"

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class Schedule:
    enabled: bool
    hour: int
    minute: int
    every_days: int
    keep: int


@dataclass(frozen=True)
class ScheduleStatus:
    """What the Backup page shows about scheduled backups."""

    schedule: Schedule
    target: Path
    same_disk: bool | None  # None: cannot tell (PostgreSQL on another machine)
    key_id: str | None  # None: no usable backup key — every run would fail
    key_problem: OMSError | None
    last_run: JobView | None
    last_success_at: dt.datetime | None
    next_run_at: dt.datetime | None  # None when disabled
    overdue: bool
    generations: pd.DataFrame  # file, created_at, size_mb (newest first)


def target_dir() -> Path:
    """The second location (``OMS_BACKUP_TARGET_DIR``, default ``<OMS_BACKUP_DIR>/scheduled``)."""
    return Path(os.environ.get(TARGET_ENV) or backup.backup_dir() / "scheduled")


def _schedule(session: Session) -> Schedule:
    values = shop_settings.current_values(session)
    return Schedule(bool(values["backup_schedule.enabled"]), int(values["backup_schedule.hour"]),
                    int(values["backup_schedule.minute"]), int(values["backup_schedule.every_days"]),
                    int(values["backup_schedule.keep"]))


def slot_after(instant: dt.datetime, schedule: Schedule) -> dt.datetime:
    """The first time after ``instant`` (naive UTC) at the schedule's hour:minute in the shop's
    timezone, as naive UTC."""
    tz = shop_tz()
    local = instant.replace(tzinfo=dt.UTC).astimezone(tz)
    day = local.date()
    while True:
        candidate = dt.datetime.combine(day, dt.time(schedule.hour, schedule.minute), tz)
        utc = candidate.astimezone(dt.UTC).replace(tzinfo=None)
        if utc > instant:
            return utc
        day += dt.timedelta(days=1)


@dataclass(frozen=True)
class _History:
    last_run: JobView | None
    last_success_at: dt.datetime | None
    last_failure_at: dt.datetime | None
    first_run_at: dt.datetime | None
    active: bool


def _history(session: Session) -> _History:
    mine = Job.kind == kinds.BACKUP
    latest = session.execute(select(Job).where(mine).order_by(Job.id.desc()).limit(1)).scalar_one_or_none()
    success = session.execute(select(func.max(Job.finished_at)).where(mine, Job.status == "succeeded")).scalar()
    failure = session.execute(select(func.max(Job.finished_at)).where(mine, Job.status == "failed")).scalar()
    first = session.execute(select(func.min(Job.created_at)).where(mine)).scalar()
    return _History(records.view(latest) if latest else None, success, failure, first,
                    latest is not None and latest.status in records.ACTIVE)


def _next_run(schedule: Schedule, history: _History, now: dt.datetime) -> dt.datetime | None:
    if not schedule.enabled:
        return None
    # no backup yet: now (a new shop is protected from its first worker minute on)
    planned = (slot_after(history.last_success_at + dt.timedelta(days=schedule.every_days - 1), schedule)
               if history.last_success_at else now)
    if history.last_failure_at and (history.last_success_at is None
                                    or history.last_failure_at > history.last_success_at):
        planned = max(planned, history.last_failure_at + RETRY_AFTER)
    return planned


def _overdue(schedule: Schedule, history: _History, now: dt.datetime) -> bool:
    """Enabled, and the newest good backup is older than its schedule allows (by :data:`GRACE`);
    with no good backup at all: runs were tried for longer than the grace."""
    if not schedule.enabled:
        return False
    if history.last_success_at is None:
        return history.first_run_at is not None and now - history.first_run_at > GRACE
    due = slot_after(history.last_success_at + dt.timedelta(days=schedule.every_days - 1), schedule)
    return now > due + GRACE


def _same_disk(target: Path) -> bool | None:
    url = make_url(config.database_url())
    if url.get_backend_name() != "sqlite" or not url.database:
        return None
    existing = target
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    with contextlib.suppress(OSError):
        return os.stat(existing).st_dev == os.stat(Path(url.database).resolve().parent).st_dev
    return None


def _generations(folder: Path) -> pd.DataFrame:
    rows = [(p.name, dt.datetime.fromtimestamp(p.stat().st_mtime, dt.UTC).replace(tzinfo=None),
             round(p.stat().st_size / 1e6, 2)) for p in backup.backup_files(folder) if p.suffix == backup.SUFFIX]
    return pd.DataFrame(rows, columns=["file", "created_at", "size_mb"])


@read_only
def schedule_status(session: Session, actor: Actor, now: dt.datetime | None = None) -> ScheduleStatus:
    """The schedule, the last run, the next one, whether backups are overdue, the generations."""
    require(actor, PERMISSION)
    now = now or utcnow()
    schedule, history = _schedule(session), _history(session)
    try:
        key_id, key_problem = backup_crypto.load_key().key_id, None
    except OMSError as exc:
        key_id, key_problem = None, exc
    target = target_dir()
    return ScheduleStatus(schedule, target, _same_disk(target), key_id, key_problem, history.last_run,
                          history.last_success_at, _next_run(schedule, history, now), _overdue(schedule, history, now),
                          _generations(target))


# --- the worker's side -----------------------------------------------------------------------


def tick(now: dt.datetime | None = None) -> int | None:
    """The scheduler's minute: raise (or clear) the overdue alert, and queue a run when one is
    due and none is waiting or running. Returns the queued job's id."""
    if _check(now or utcnow()):
        return records.request_system_job(kinds.BACKUP, {"permission": PERMISSION})
    return None


@unit_of_work
def _check(session: Session, now: dt.datetime) -> bool:
    schedule, history = _schedule(session), _history(session)
    if _overdue(schedule, history, now):
        since = history.last_success_at.isoformat(sep=" ", timespec="minutes") if history.last_success_at else ""
        _raise(session, OVERDUE, "backups.alert_overdue" if since else "backups.alert_never", {"since": since}, now)
    else:
        _resolve(session, (OVERDUE,), now)
    planned = _next_run(schedule, history, now)
    return planned is not None and planned <= now and not history.active


def _raise(session: Session, kind: str, code: str, params: dict[str, Any], now: dt.datetime) -> None:
    """One open alert of ``kind`` at a time (a repeated failure does not pile up alerts)."""
    open_alert = session.execute(select(Alert.id).where(Alert.kind == kind, Alert.resolved_at.is_(None))).first()
    if open_alert is None:
        session.execute(insert(Alert).values(kind=kind, severity="critical", entity=ALERT_ENTITY,
                                             entity_id=kind, **stored("message", Message(code, params)),
                                             created_at=now))


def _resolve(session: Session, which: tuple[str, ...], now: dt.datetime) -> None:
    session.execute(update(Alert).where(Alert.kind.in_(which), Alert.resolved_at.is_(None)).values(resolved_at=now))


@unit_of_work
def _failed(session: Session, reason: str) -> None:
    _raise(session, FAILED, "backups.alert_failed", {"reason": reason[:500]}, utcnow())


@unit_of_work
def _succeeded(session: Session, actor: Actor, details: dict[str, Any]) -> None:
    _resolve(session, (FAILED, OVERDUE), utcnow())
    audit.record(session, actor, "backup.scheduled", "database", None, after=details)


def _keep(session: Session) -> int:
    return _schedule(session).keep


def run_scheduled(actor: Actor, progress: Progress | None = None) -> dict[str, Any]:
    """One scheduled backup: write, verify by a trial restore, prune (see the module doc)."""
    require(actor, PERMISSION)
    report = progress or (lambda _done, _total, _message: None)
    folder = target_dir()
    path = backup.new_backup_path(folder, utcnow())
    try:
        report(0, 3, "backups.progress.writing")
        made = backup.backup(path, actor)
        report(1, 3, "backups.progress.verifying")
        try:
            trial = trial_restore(made.path, actor)
        except BaseException:
            path.unlink(missing_ok=True)  # not a generation: it did not restore
            raise
        report(2, 3, "backups.progress.pruning")
        with db.transaction(readonly=True) as session:
            keep = _keep(session)
        removed = prune(folder, keep)
    except Exception as exc:  # a refusal or a crash alike: the alert says which, the job keeps the details
        _failed(str(exc) if isinstance(exc, OMSError) else f"{type(exc).__name__}: {exc}")
        raise
    details = {"file": made.path.name, "folder": str(folder), "bytes": made.size_bytes, "tables": made.tables,
               "rows": made.rows, "key_id": made.key_id, "verified_rows": trial, "removed": removed, "keep": keep}
    _succeeded(actor, details)
    return details


def trial_restore(path: Path, actor: Actor) -> int:
    """Restore ``path`` into a scratch database of the app's backend (every check of a real
    restore); returns the rows restored. The scratch database is dropped afterwards."""
    live = make_url(config.database_url())
    if live.get_backend_name() == "sqlite":
        with tempfile.TemporaryDirectory(prefix="oms-trial-") as tmp:
            return _restore_into(path, actor, f"sqlite:///{Path(tmp) / 'trial.db'}")
    with backup.scratch_database(live, "oms_backup_trial") as scratch:
        return _restore_into(path, actor, scratch.render_as_string(hide_password=False))


def _restore_into(path: Path, actor: Actor, url: str) -> int:
    try:
        return backup.restore(path, actor, url=url).rows
    finally:
        db.dispose(url)  # the scratch database's pooled connections, before it is deleted


def prune(folder: Path, keep: int) -> list[str]:
    """Delete the encrypted backups in ``folder`` beyond the newest ``keep``; their names."""
    old = [p for p in backup.backup_files(folder) if p.suffix == backup.SUFFIX][keep:]
    for file in old:
        file.unlink(missing_ok=True)
    return [p.name for p in old]


@unit_of_work
def record_run(session: Session, actor: Actor) -> int:
    """A job row for a run its caller executes in the foreground (``oms backup-schedule run``),
    not queued: it counts as a scheduled run like the worker's. Refused while one is active."""
    require(actor, PERMISSION)
    running = records.active_job(session, kinds.BACKUP)
    if running is not None:
        raise Refused("job.already_active", job=running.id)
    return records.create(session, kinds.BACKUP, {"permission": PERMISSION}, actor)


def run_now(actor: Actor) -> int:
    """Queue a scheduled-style run at once (the Backup page's button, to try the set-up);
    refused (``job.already_active``) while one is queued or running."""
    return jobs.submit(kinds.BACKUP, {}, actor, PERMISSION)
