"""Forecast runs: start (status ``running``), heartbeat, finish (``succeeded``) or fail.

A run takes minutes and happens outside any one transaction, so its life is three short ones:
:func:`start_run` claims the run, :func:`finish_run` writes every forecast, the per-series
accuracy and the pooled metrics *in one transaction* (a run is never half-stored), and
:func:`fail_run` records why it stopped. A process killed mid-run cannot fail its own run;
its heartbeat stops instead, and the next :func:`start_run` marks such a run failed (at once
when the dead process was on this machine, after :data:`STALE_AFTER` otherwise), so a crash
never blocks the nightly run for good.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import insert, select, text, update
from sqlalchemy.orm import Session

from core import audit, processes
from core.db import unit_of_work
from core.errors import Conflict, FieldIssue, IllegalTransition, NotFound, ValidationError
from core.models import Forecast, ForecastRun, ForecastSeries
from core.permissions import Actor, require
from core.timeutil import utcnow

BACKENDS = ("local", "dask")
MIN_HORIZON, MAX_HORIZON = 7, 180
STALE_AFTER = dt.timedelta(minutes=15)
RUN_LOCK = 7_001  # PostgreSQL advisory lock: one run start at a time
MAX_ERROR = 2_000
FORECAST_COLUMNS = ["product_id", "warehouse_id", "ds", "yhat", "yhat_lower", "yhat_upper", "model"]
SERIES_COLUMNS = ["product_id", "warehouse_id", "model", "history_days", "folds", "lead_time_days", "wape_weekly",
                  "wape_lead_time", "mase", "bias", "sigma_daily", "sigma_lead_time", "metrics"]


@dataclass(frozen=True)
class RunInfo:
    id: int
    status: str
    series: int
    metrics: dict[str, Any]


def _abandoned(run: ForecastRun, now: dt.datetime) -> str | None:
    """Why a ``running`` run is dead, or None if it may still be working."""
    params = run.params or {}
    if params.get("host") == processes.here() and isinstance(params.get("pid"), int) \
            and not processes.alive_here(params["pid"]):
        return f"abandoned: process {params['pid']} is gone"
    last = run.heartbeat_at or run.started_at
    if now - last > STALE_AFTER:
        return f"abandoned: no heartbeat since {last:%Y-%m-%d %H:%M} UTC"
    return None


def check_params(horizon: object, backend: object) -> None:
    """Refuse a horizon or backend a run cannot take (also checked before a run is queued)."""
    issues = []
    if not isinstance(horizon, int) or not MIN_HORIZON <= horizon <= MAX_HORIZON:
        issues.append(FieldIssue("horizon", "issue.whole_between", value=horizon,
                                 params={"low": MIN_HORIZON, "high": MAX_HORIZON}))
    if backend not in BACKENDS:
        issues.append(FieldIssue("backend", "issue.one_of", value=backend, params={"choices": ", ".join(BACKENDS)}))
    if issues:
        raise ValidationError(issues)


@unit_of_work
def start_run(session: Session, actor: Actor, *, horizon: int, backend: str,
              params: dict[str, Any] | None = None) -> int:
    """Claim a new run (``running``); refuses while another live run is working."""
    require(actor, "forecast.run")
    check_params(horizon, backend)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": RUN_LOCK})
    now = utcnow()
    for run in session.execute(select(ForecastRun).where(ForecastRun.status == "running")).scalars():
        reason = _abandoned(run, now)
        if reason is None:
            raise Conflict.coded("plan.run_busy", run_id=run.id, started=f"{run.started_at:%H:%M} UTC")
        run.status, run.finished_at, run.error = "failed", now, reason
        audit.record(session, actor, "forecast.abandon", "forecast_run", run.id, before={"status": "running"},
                     after={"status": "failed", "error": reason})
    run = ForecastRun(started_at=now, heartbeat_at=now, status="running", horizon=horizon, backend=backend,
                      params={**(params or {}), "pid": os.getpid(), "host": processes.here()},
                      metrics={}, created_by=actor.username)
    session.add(run)
    session.flush()
    audit.record(session, actor, "forecast.start", "forecast_run", run.id,
                 after={"horizon": horizon, "backend": backend, **(params or {})})
    return run.id


@unit_of_work
def heartbeat(session: Session, run_id: int) -> None:
    """Tell the world this run is alive (no audit row: it is bookkeeping, not a change)."""
    session.execute(update(ForecastRun).where(ForecastRun.id == run_id, ForecastRun.status == "running")
                    .values(heartbeat_at=utcnow()))


def _running(session: Session, run_id: int) -> ForecastRun:
    run = session.execute(select(ForecastRun).where(ForecastRun.id == run_id)).scalar_one_or_none()
    if run is None:
        raise NotFound(f"no forecast run {run_id}", run_id=run_id)
    if run.status != "running":
        raise IllegalTransition(f"forecast run #{run_id} is {run.status}, not running", run_id=run_id)
    return run


def _records(frame: pd.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    missing = set(columns) - set(frame.columns)
    if missing:
        raise ValueError(f"missing columns: {sorted(missing)}")
    records: list[dict[str, Any]] = frame[columns].astype(object).where(frame[columns].notna(), None).to_dict("records")
    return records


@unit_of_work
def finish_run(session: Session, run_id: int, forecasts: pd.DataFrame, series: pd.DataFrame,
               metrics: dict[str, Any], actor: Actor) -> RunInfo:
    """Store a run's results and mark it succeeded — all in this one transaction.

    ``forecasts`` has :data:`FORECAST_COLUMNS` (``ds`` dates), ``series`` :data:`SERIES_COLUMNS`.
    """
    require(actor, "forecast.run")
    run = _running(session, run_id)
    rows = _records(forecasts, FORECAST_COLUMNS)
    for chunk in range(0, len(rows), 20_000):
        session.execute(insert(Forecast), [{**r, "run_id": run_id} for r in rows[chunk:chunk + 20_000]])
    series_rows = _records(series, SERIES_COLUMNS)
    if series_rows:
        session.execute(insert(ForecastSeries), [{**r, "run_id": run_id} for r in series_rows])
    run.status, run.finished_at, run.heartbeat_at, run.metrics = "succeeded", utcnow(), utcnow(), metrics
    session.flush()
    audit.record(session, actor, "forecast.finish", "forecast_run", run_id, before={"status": "running"},
                 after={"status": "succeeded", "series": len(series_rows), "forecast_rows": len(rows)})
    return RunInfo(run_id, run.status, len(series_rows), metrics)


@unit_of_work
def fail_run(session: Session, run_id: int, error: str, actor: Actor,
             reason: tuple[str, dict[str, Any]] | None = None) -> None:
    """Record why a run stopped; nothing of it was stored, so simply run again. ``reason`` is
    the message code and parameters of a run refused for its data (no history before the
    as-of date, ...), kept in the metrics so the page can say why in the user's language."""
    run = _running(session, run_id)
    run.status, run.finished_at, run.error = "failed", utcnow(), error[:MAX_ERROR]
    if reason is not None:
        run.metrics = {**(run.metrics or {}), "failure": {"code": reason[0], "params": reason[1]}}
    session.flush()
    audit.record(session, actor, "forecast.fail", "forecast_run", run_id, before={"status": "running"},
                 after={"status": "failed", "error": run.error, **({"code": reason[0]} if reason else {})})
