"""Background jobs on a real huey queue — an SQLite file and Redis — run by a real worker
(consumer threads, or ``oms worker`` as a subprocess): a forecast, a replenishment computation
and a large import run as jobs and report progress in the job row; a cancel stops a job with
nothing written; a worker SIGKILLed mid-job leaves nothing half-written and the next worker runs
the job again; jobs whose worker died are recognised; a queue that cannot be reached is a clear
refusal. (The pages that show jobs: tests/pages/test_job_pages.py and tests/browser/test_jobs.py.)
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import func, select, update

from core import db
from core.analytics import summary
from core.errors import PermissionDenied, Refused, ValidationError
from core.jobs import kinds, queue, records
from core.models import (
    AuditLog,
    Forecast,
    ForecastRun,
    ImportBatch,
    Job,
    JobFile,
    Order,
    ReplenishmentSuggestion,
)
from core.permissions import SYSTEM
from core.services import imports, jobs
from core.services.forecast_pipeline import start_forecast
from core.services.orders import create_order
from core.services.replenishment import start_suggestions
from core.timeutil import local_today, utcnow
from core.worker import periodic
from tests.factories import BUYER, CLERK, MANAGER, make_product, order_input
from tests.jobs_support import WorkerProcess, job, running_worker, until, wait_for
from tests.planning_data import daily_sales, make_supplier, stored_run
from tests.services.test_faults import _order_file

REDIS_URL = os.environ.get("OMS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
IMPORT_ORDERS = 150  # a write transaction that lasts a moment


def _redis_answers() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture(params=["sqlite", "redis"])
def backend(request: pytest.FixtureRequest, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The test runs once on SqliteHuey (a file beside the test database) and once on RedisHuey
    (a queue name of its own on the Redis server, flushed afterwards)."""
    if request.param == "sqlite":
        yield "sqlite"
        return
    if not _redis_answers():
        pytest.skip(f"no Redis answers at {REDIS_URL} (.ci/ensure-redis starts one)")
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    monkeypatch.setenv("OMS_JOBS_QUEUE", f"oms-test-{uuid.uuid4().hex[:12]}")
    queue.forget()
    yield "redis"
    queue.get_huey().storage.flush_all()
    queue.forget()


@pytest.fixture
def fast_heartbeat(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMS_JOB_HEARTBEAT_SECONDS", "0.2")


def _history() -> int:
    """Three weeks of daily sales of one product, up to yesterday: something to forecast."""
    tea = make_product("TEA", "10.00", {"SH": 1_000})
    daily_sales("TEA", local_today() - dt.timedelta(days=1), 21, 2)
    return tea


def _count(model: type, *where: Any) -> int:
    with db.transaction(readonly=True) as s:
        return int(s.execute(select(func.count()).select_from(model).where(*where)).scalar_one())


def _runs() -> list[tuple[int, str, str | None]]:
    with db.transaction(readonly=True) as s:
        return [(r.id, r.status, r.error) for r in s.execute(select(ForecastRun).order_by(ForecastRun.id)).scalars()]


# --- jobs run on a real worker -----------------------------------------------------------------


def test_a_forecast_runs_as_a_job_and_reports_progress(backend: str) -> None:
    _history()
    job_id = start_forecast(BUYER, horizon=14)
    assert job(job_id).status == "queued" and queue.pending() == 1
    with running_worker():
        done = wait_for(job_id)
    assert done.status == "succeeded", done.error_detail
    assert done.attempts == 1 and done.total > 0 and done.done == done.total and done.fraction == 1.0
    assert done.created_by == BUYER.username and done.worker and done.heartbeat_at is not None
    run_id = done.result["run"] if done.result else None
    assert _runs() == [(run_id, "succeeded", None)]
    assert done.result and done.result["series"] == 1 == _count(Forecast, Forecast.run_id == run_id) // 14
    assert _count(AuditLog, AuditLog.action == "job.start", AuditLog.entity_id == str(job_id)) == 1


def test_a_replenishment_computation_runs_as_a_job(backend: str) -> None:
    tea = make_product("TEA", "20.00", {"SH": 10})
    make_supplier("茶具厂", 7, 1, tea)
    stored_run({(tea, "SH"): 10.0})
    job_id = start_suggestions(BUYER, service_level=0.95, review_days=7)
    with running_worker():
        done = wait_for(job_id)
    assert done.status == "succeeded", done.error_detail
    assert done.result is not None and done.result["suggestions"] == 1 == _count(ReplenishmentSuggestion)
    assert done.result["as_of"] == local_today().isoformat() and done.result["reason"] is None


def test_a_large_import_is_a_job_and_the_summaries_follow(backend: str, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    make_product("TEA", "10.00", {"SH": 500})
    path = _order_file(tmp_path / "orders.csv", 40)
    files = [imports.SourceFile(path.name, path.read_bytes())]
    options = imports.ImportOptions(kind="orders", profile=imports.load_profile("generic-orders"))
    assert not imports.runs_in_background(files)  # a small file: imported on the spot
    monkeypatch.setenv("OMS_IMPORT_JOB_MB", "0.001")  # ~1 KB: this file now counts as large
    assert imports.runs_in_background(files)
    job_id = imports.start_import(files, options, MANAGER)
    assert _count(JobFile, JobFile.job_id == job_id) == 1 and _count(Order) == 0
    with running_worker():
        done = wait_for(job_id)
        assert done.status == "succeeded", done.error_detail
        assert done.result and done.result["status"] == "imported" and done.result["accepted"] == 40
        # the import asked for a summary refresh; the worker ran it
        refresh = max(j.id for j in _jobs_of(kinds.SUMMARY))
        assert wait_for(refresh).status == "succeeded"
    assert _count(Order, Order.external_ref.like("KILL-%")) == 40
    assert _count(JobFile) == 0  # a succeeded job's upload is not kept
    assert summary.is_current()
    report = imports.batch_report(done.result["batch_id"], MANAGER)
    assert (report.status, report.accepted, report.kind) == ("imported", 40, "orders")


def _jobs_of(kind: str) -> list[records.JobView]:
    with db.transaction(readonly=True) as s:
        return [records.view(j) for j in s.execute(select(Job).where(Job.kind == kind)).scalars()]


def test_a_failed_job_keeps_the_refusal_and_can_be_retried(backend: str) -> None:
    job_id = start_forecast(BUYER)  # no sales at all: the run is refused with a reason
    with running_worker():
        failed = wait_for(job_id)
        assert failed.status == "failed" and failed.error_code == "asof.no_history"
        error = failed.error()
        assert isinstance(error, Refused) and error.key == "asof.no_history"
        assert error.params == {"as_of": local_today().isoformat()}
        _history()
        jobs.retry_job(job_id, BUYER)
        retried = wait_for(job_id)
    assert (retried.status, retried.attempts, retried.error_code) == ("succeeded", 2, None)
    assert [status for _, status, _ in _runs()] == ["failed", "succeeded"]


def test_a_validation_error_is_stored_with_its_field_issues(backend: str) -> None:
    job_id = start_suggestions(BUYER)
    with db.transaction() as s:  # a parameter the start checked, broken afterwards: the service refuses it
        s.execute(update(Job).where(Job.id == job_id).values(params={"service_level": 7, "review_days": 7,
                                                                     "permission": "replenish.decide"}))
    with running_worker():
        failed = wait_for(job_id)
    error = failed.error()
    assert isinstance(error, ValidationError) and [i.field for i in error.issues] == ["service_level"]


# --- starting, refusing, cancelling ------------------------------------------------------------


def test_starting_checks_the_permission_and_the_inputs_first(db_url: str) -> None:
    with pytest.raises(PermissionDenied):
        start_forecast(CLERK)
    with pytest.raises(ValidationError) as refused:
        start_forecast(BUYER, horizon=3)
    assert [i.field for i in refused.value.issues] == ["horizon"]
    with pytest.raises(ValidationError):
        start_suggestions(BUYER, service_level=2.0)
    assert _count(Job) == 0 and queue.pending() == 0


def test_one_forecast_at_a_time(db_url: str) -> None:
    first = start_forecast(BUYER)
    with pytest.raises(Refused) as refused:
        start_forecast(MANAGER)
    assert refused.value.key == "job.already_active" and refused.value.params == {"job": first}
    assert jobs.cancel_job(first, BUYER) == "cancelled"
    second = start_forecast(MANAGER)
    assert second != first


def test_a_job_cancelled_while_queued_never_runs(backend: str) -> None:
    _history()
    job_id = start_forecast(BUYER)
    assert jobs.cancel_job(job_id, MANAGER) == "cancelled"
    with running_worker():
        until(lambda: queue.pending() == 0)  # the worker took the message …
    cancelled = job(job_id)
    assert (cancelled.status, cancelled.attempts, cancelled.cancelled_by) == ("cancelled", 0, MANAGER.username)
    assert _runs() == []  # … and skipped it
    with pytest.raises(Refused) as refused:
        jobs.cancel_job(job_id, BUYER)
    assert refused.value.key == "job.not_active"


def test_cancelling_a_running_forecast_stops_it_with_nothing_stored(backend: str, fast_heartbeat: None) -> None:
    _history()
    job_id = start_forecast(BUYER, horizon=14)
    worker = WorkerProcess("tests.faults.job_worker", (), {"OMS_TEST_HOLD": f"{kinds.FORECAST}:plan.progress"})
    try:
        worker.start().read_until(f"held {job_id}")
        assert job(job_id).status == "running" and _runs()[0][1] == "running"
        assert jobs.cancel_job(job_id, BUYER) == "running"  # running: it stops at its next step
        done = wait_for(job_id, timeout=30)
    finally:
        worker.stop()
    assert (done.status, done.cancelled_by) == ("cancelled", BUYER.username)
    run_id, status, _error = _runs()[0]
    assert status == "failed" and _count(Forecast, Forecast.run_id == run_id) == 0
    with db.transaction(readonly=True) as s:
        failure = s.get(ForecastRun, run_id).metrics["failure"]  # type: ignore[union-attr]
    assert failure == {"code": "job.cancelled", "params": {}}


# --- killed workers ------------------------------------------------------------------------------


def test_a_worker_killed_mid_import_leaves_nothing_and_the_next_worker_reruns_it(
        backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_product("TEA", "10.00", {"SH": 500})
    monkeypatch.setenv("OMS_IMPORT_JOB_MB", "0")
    path = _order_file(tmp_path / "orders.csv", IMPORT_ORDERS)
    options = imports.ImportOptions(kind="orders", profile=imports.load_profile("generic-orders"))
    job_id = imports.start_import([imports.SourceFile(path.name, path.read_bytes())], options, MANAGER)
    # held at the second "writing" report: inside the import's one write transaction
    held = WorkerProcess("tests.faults.job_worker", (), {"OMS_TEST_HOLD": f"{kinds.IMPORT}:imp.progress.writing:2"})
    worker = WorkerProcess()
    try:
        held.start().read_until(f"held {job_id}")
        held.kill()
        assert job(job_id).status == "running"  # nobody could say otherwise: its worker died
        assert _count(Order) == 0 and _count(ImportBatch) == 0  # not one order, not even the batch row
        worker.start()  # a new worker adopts the dead worker's job at start
        done = wait_for(job_id)
    finally:
        worker.stop()
    assert (done.status, done.attempts) == ("succeeded", 2), done.error_detail
    assert _count(Order, Order.external_ref.like("KILL-%")) == IMPORT_ORDERS
    assert _count(ImportBatch) == 1 and done.result and done.result["accepted"] == IMPORT_ORDERS


def test_a_worker_killed_mid_forecast_leaves_no_forecast_and_the_next_worker_reruns_it(backend: str) -> None:
    _history()
    job_id = start_forecast(BUYER, horizon=14)
    held = WorkerProcess("tests.faults.job_worker", (), {"OMS_TEST_HOLD": f"{kinds.FORECAST}:plan.progress"})
    worker = WorkerProcess()
    try:
        held.start().read_until(f"held {job_id}")
        held.kill()
        worker.start()
        done = wait_for(job_id)
    finally:
        worker.stop()
    assert (done.status, done.attempts) == ("succeeded", 2), done.error_detail
    (first, first_status, error), (second, second_status, _) = _runs()
    assert (first_status, second_status) == ("failed", "succeeded") and "abandoned" in (error or "")
    assert done.result and done.result["run"] == second
    assert _count(Forecast, Forecast.run_id == first) == 0 and _count(Forecast, Forecast.run_id == second) == 14


# --- dead workers are recognised -------------------------------------------------------------


def _running_job(worker: str, heartbeat: dt.datetime, attempts: int = 1) -> int:
    with db.transaction() as s:
        job_id = records.create(s, kinds.FORECAST, {"permission": "forecast.run"}, BUYER)
        s.execute(update(Job).where(Job.id == job_id).values(status="running", worker=worker, attempts=attempts,
                                                             started_at=heartbeat, heartbeat_at=heartbeat))
    return job_id


def _gone_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_jobs_of_dead_workers_are_recognised_and_put_back(backend: str) -> None:
    now, here = utcnow(), socket.gethostname()
    stale = now - dt.timedelta(minutes=11)  # OMS_JOB_STALE_SECONDS: 10 minutes
    dead_here = _running_job(f"{here}:{_gone_pid()}", now)  # its process is gone: at once
    silent_elsewhere = _running_job("another-host:4242", stale)  # no heartbeat for 11 minutes
    alive_elsewhere = _running_job("another-host:4243", now - dt.timedelta(minutes=2))
    alive_here = _running_job(f"{here}:{os.getpid()}", now)
    worn_out = _running_job(f"{here}:{_gone_pid()}", now, attempts=records.MAX_ATTEMPTS)
    unwanted = _running_job(f"{here}:{_gone_pid()}", now)
    jobs.cancel_job(unwanted, BUYER)  # asked to stop, but its worker is dead: nobody will
    assert [job(j).abandoned() for j in (dead_here, silent_elsewhere, alive_elsewhere, alive_here, worn_out)] == [
        True, True, False, False, True]
    assert records.reap() == [dead_here, silent_elsewhere]
    assert queue.pending() == 2  # both are on the queue again
    assert [job(j).status for j in (dead_here, silent_elsewhere, alive_elsewhere, alive_here)] == [
        "queued", "queued", "running", "running"]
    given_up = job(worn_out)
    assert (given_up.status, given_up.error_code) == ("failed", "job.abandoned")
    assert job(unwanted).status == "cancelled"
    assert records.reap() == []  # twice is harmless
    with pytest.raises(Refused) as refused:
        jobs.retry_job(alive_here, BUYER)  # its worker lives: not retryable
    assert refused.value.key == "job.not_retryable"


def test_a_queue_that_cannot_be_reached_is_a_clear_refusal(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:9/0")  # nothing listens on port 9
    queue.forget()
    with pytest.raises(Refused) as refused:
        start_forecast(BUYER)
    failed = job(refused.value.params["job"])
    assert (refused.value.key, failed.status, failed.error_code) == ("job.queue_unavailable", "failed",
                                                                     "job.queue_unavailable")


# --- the scheduled work ----------------------------------------------------------------------


def test_the_periodic_summary_refresh_queues_one_refresh_only_when_behind(backend: str) -> None:
    summary.refresh()
    assert periodic.refresh_summaries() is None  # current: nothing to do
    make_product("TEA", "10.00", {"SH": 5})
    create_order(order_input(("TEA", 1)), CLERK)  # a write: the summaries are behind
    first = periodic.refresh_summaries()
    assert first is not None and periodic.refresh_summaries() is None  # one at a time
    with running_worker():
        assert wait_for(first).status == "succeeded"
    assert summary.is_current() and job(first).created_by == SYSTEM.username


def test_finished_jobs_are_purged_after_a_month(db_url: str) -> None:
    old = start_forecast(BUYER)
    jobs.cancel_job(old, BUYER)
    with db.transaction() as s:
        s.execute(update(Job).where(Job.id == old).values(finished_at=utcnow() - dt.timedelta(days=31)))
    recent = start_forecast(BUYER)
    assert records.purge() == 1
    assert _count(Job) == 1 and job(recent).status == "queued"
