"""Stock reconciliation as a service: run the checks of :mod:`core.reconcile` for a user, store
the daily report (a ``dq_runs`` row, suite ``stock_reconciliation``) and keep one
``reconciliation`` alert open while anything disagrees.

``oms reconcile`` and the Alerts page call these; :mod:`core.invariants` runs the checks
directly (``core.reconcile.stock_report``), outside any user action.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from core import audit
from core.db import read_only, unit_of_work
from core.errors import Message, stored
from core.models import Alert, DQRun
from core.permissions import Actor, require
from core.reconcile import COLUMNS, ReconcileReport, stock_report

SUITE = "stock_reconciliation"
VIEW_PERMISSION = "dq.view"  # reading reports: the data-quality audience
RUN_PERMISSION = "dq.run"
STORED_ROWS = 1000  # discrepancies kept in the stored report (the count is always exact)
REPORT_COLUMNS = ["id", "at", "success", "discrepancies", "movements", "seconds", "created_by"]


@read_only
def reconcile(session: Session, actor: Actor) -> ReconcileReport:
    """Run every check and return the report (nothing stored)."""
    require(actor, VIEW_PERMISSION)
    return stock_report(session)


def json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-safe dicts (pandas' missing values become null, not NaN)."""
    records: list[dict[str, Any]] = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return records


@unit_of_work
def run_reconciliation(session: Session, actor: Actor) -> ReconcileReport:
    """The daily report: reconcile, store it (``dq_runs``), and keep one ``reconciliation`` alert
    open while anything disagrees (resolved by the first clean run)."""
    require(actor, RUN_PERMISSION)
    report = stock_report(session)
    by_check = report.discrepancies["check"].value_counts().to_dict() if not report.ok else {}
    session.execute(insert(DQRun).values(
        at=report.at, suite=SUITE, target="stock", success=report.ok,
        stats={"movements": report.movements, "stock_rows": report.stock_rows, "seconds": report.seconds,
               "discrepancies": len(report.discrepancies), "by_check": {str(k): int(v) for k, v in by_check.items()}},
        results=json_records(report.discrepancies.head(STORED_ROWS)), created_by=actor.username))
    open_alert = session.execute(select(Alert.id).where(Alert.kind == "reconciliation",
                                                        Alert.resolved_at.is_(None))).scalar()
    if report.ok and open_alert is not None:
        session.execute(update(Alert).where(Alert.id == open_alert).values(resolved_at=report.at))
    elif not report.ok and open_alert is None:
        session.execute(insert(Alert).values(
            kind="reconciliation", severity="critical", entity="stock", entity_id=SUITE, created_at=report.at,
            **stored("message", Message("alert_msg.reconciliation", {
                "n": len(report.discrepancies), "detail": ", ".join(f"{k} {v}" for k, v in sorted(by_check.items()))}))))
    audit.record(session, actor, "stock.reconcile", "dq_run", SUITE,
                 after={"ok": report.ok, "discrepancies": len(report.discrepancies)})
    return report


@read_only
def reconciliation_history(session: Session, actor: Actor, limit: int = 60) -> pd.DataFrame:
    """Stored reports, newest first."""
    require(actor, VIEW_PERMISSION)
    rows = session.execute(
        select(DQRun.id, DQRun.at, DQRun.success, DQRun.stats, DQRun.created_by)
        .where(DQRun.suite == SUITE).order_by(DQRun.at.desc(), DQRun.id.desc()).limit(limit)).all()
    return pd.DataFrame([(r.id, r.at, r.success, int(r.stats.get("discrepancies", 0)), int(r.stats.get("movements", 0)),
                          float(r.stats.get("seconds", 0)), r.created_by) for r in rows], columns=REPORT_COLUMNS)


@read_only
def stored_report(session: Session, run_id: int, actor: Actor) -> pd.DataFrame:
    """The discrepancies of one stored report."""
    require(actor, VIEW_PERMISSION)
    results = session.execute(select(DQRun.results).where(DQRun.id == run_id, DQRun.suite == SUITE)).scalar()
    return pd.DataFrame(results or [], columns=COLUMNS)
