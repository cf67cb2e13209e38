"""Data quality of the database itself, validated with the GX suites of ``expectations.database``.

``run_checks`` reads three frames with aggregate SQL in one consistent snapshot — stock per
product × warehouse (on hand, reserved, Σ ledger, Σ open reservations, last movement), orders
(amounts in cents, status, line count, timestamps; read in id ranges so a million orders never
sit in memory at once) and orphan order lines — validates them, and stores one ``dq_runs`` row
per suite in a short write transaction. The reads take no write lock, so checking a large
database never blocks the shop.

The history (``list_runs``) includes every ``dq_runs`` row: these checks, each import batch's
validation (suite ``import.<kind>``) and any other feature's stored checks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from core import audit
from core.db import read_only, transaction, unit_of_work
from core.errors import NotFound
from core.models import DQRun, Order, OrderLine, Product, StockLevel, StockMovement, Warehouse, cents
from core.permissions import Actor, require
from core.services.orders import OPEN_STATUSES, ORDER_PAYMENT_STATUSES, STATUSES
from core.timeutil import utcnow
from expectations import database as suites
from expectations.runner import ExpectationResult, SuiteResult, validate

TARGET = "database"
CLOCK_SKEW = dt.timedelta(minutes=5)
ORDER_CHUNK = 200_000  # orders validated per GX call
STORED_ROWS = 200  # failing rows kept per expectation in dq_runs.results (counts stay exact)
RUN_COLUMNS = ["id", "at", "suite", "target", "success", "rows", "expectations", "failed_expectations",
               "failing_rows", "created_by"]
RESULT_COLUMNS = ["expectation", "code", "columns", "severity", "success", "element_count", "unexpected_count"]

Progress = Callable[[float, str], object]  # what it returns is ignored (a page's bar.progress)


def _silent(_fraction: float, _stage: str) -> None:
    pass


@dataclass(frozen=True)
class DQReport:
    at: dt.datetime
    results: tuple[SuiteResult, ...]
    run_ids: tuple[int, ...]

    @property
    def success(self) -> bool:
        return all(r.success for r in self.results)

    def failures(self) -> list[tuple[str, ExpectationResult]]:
        return [(s.suite, r) for s in self.results for r in s.failed()]


# --- frames ------------------------------------------------------------------------------------


def stock_frame(session: Session) -> pd.DataFrame:
    """One row per product × warehouse that has a stock level, a movement or a reservation."""
    levels = pd.DataFrame(session.execute(select(
        StockLevel.product_id, StockLevel.warehouse_id, StockLevel.on_hand, StockLevel.reserved)).all(),
        columns=["product_id", "warehouse_id", "on_hand", "reserved"])
    ledger = pd.DataFrame(session.execute(
        select(StockMovement.product_id, StockMovement.warehouse_id, func.sum(StockMovement.qty_delta),
               func.max(StockMovement.at)).group_by(StockMovement.product_id, StockMovement.warehouse_id)).all(),
        columns=["product_id", "warehouse_id", "ledger_sum", "last_movement_at"])
    held = pd.DataFrame(session.execute(
        select(OrderLine.warehouse_id, OrderLine.product_id, func.sum(OrderLine.qty_reserved))
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.status.in_(OPEN_STATUSES))
        .group_by(OrderLine.product_id, OrderLine.warehouse_id)).all(),
        columns=["warehouse_id", "product_id", "open_reserved"])
    keys = ["product_id", "warehouse_id"]
    frame = levels.merge(ledger, on=keys, how="outer").merge(held, on=keys, how="outer")
    for col in ("on_hand", "reserved", "ledger_sum", "open_reserved"):
        frame[col] = frame[col].fillna(0).astype("int64")
    frame["last_movement_at"] = pd.to_datetime(frame["last_movement_at"])
    skus = dict(session.execute(select(Product.id, Product.sku)).all())
    codes = dict(session.execute(select(Warehouse.id, Warehouse.code)).all())
    frame.insert(0, "sku", frame["product_id"].map(skus))
    frame.insert(1, "warehouse", frame["warehouse_id"].map(codes))
    return frame.drop(columns=keys)


def _order_chunk(session: Session, low: int, high: int) -> pd.DataFrame:
    lines = (select(OrderLine.order_id, cents(func.sum(OrderLine.line_total)).label("lines_cents"),
                    cents(func.sum(OrderLine.discount_share)).label("shares_cents"),
                    func.count(OrderLine.id).label("line_count"))
             .where(OrderLine.order_id.between(low, high)).group_by(OrderLine.order_id).subquery())
    rows = session.execute(
        select(Order.number, Order.status, Order.payment_status, cents(Order.subtotal), cents(Order.discount),
               cents(Order.shipping_fee), cents(Order.total), lines.c.lines_cents, lines.c.shares_cents,
               lines.c.line_count, Order.placed_at, Order.shipped_at, Order.updated_at)
        .outerjoin(lines, lines.c.order_id == Order.id).where(Order.id.between(low, high))
    ).all()
    frame = pd.DataFrame(rows, columns=["number", "status", "payment_status", "subtotal_cents", "discount_cents",
                                        "shipping_cents", "total_cents", "lines_cents", "shares_cents", "line_count",
                                        "placed_at", "shipped_at", "updated_at"])
    for col in ("lines_cents", "shares_cents", "line_count"):
        frame[col] = frame[col].fillna(0).astype("int64")
    frame["expected_total_cents"] = frame["lines_cents"] - frame["discount_cents"] + frame["shipping_cents"]
    # the lines carry the order discount that fits the goods (core.domain.totals), no more, no less
    frame["expected_shares_cents"] = frame[["discount_cents", "lines_cents"]].min(axis=1)
    for col in ("placed_at", "shipped_at", "updated_at"):
        frame[col] = pd.to_datetime(frame[col])
    return frame


def orphan_frame(session: Session) -> pd.DataFrame:
    """Order lines whose order does not exist (foreign keys forbid it; a restored or hand-edited
    database may not have enforced them)."""
    rows = session.execute(
        select(OrderLine.id, OrderLine.order_id).outerjoin(Order, Order.id == OrderLine.order_id)
        .where(Order.id.is_(None))).all()
    frame = pd.DataFrame(rows, columns=["line_id", "order_id"])
    frame["has_order"] = False
    return frame


# --- validation --------------------------------------------------------------------------------


def _combine(name: str, parts: list[SuiteResult]) -> SuiteResult:
    """One result for a suite validated chunk by chunk: counts add up, failing rows are kept
    up to what is stored anyway."""
    if len(parts) == 1:
        return parts[0]
    merged: dict[tuple[str, str], list[ExpectationResult]] = {}
    for part in parts:
        for r in part.results:
            merged.setdefault((r.expectation, r.code), []).append(r)
    results = []
    for group in merged.values():
        first = group[0]
        failing = pd.concat([g.failing for g in group if len(g.failing)] or [first.failing]).head(STORED_ROWS * 5)
        results.append(ExpectationResult(
            first.expectation, first.columns, first.code, first.field, first.severity, all(g.success for g in group),
            sum(g.element_count for g in group), sum(g.unexpected_count for g in group), failing.reset_index(drop=True),
            None, first.detail))
    return SuiteResult(name, sum(p.rows for p in parts), tuple(results))


def _measure(session: Session, now: dt.datetime, progress: Progress) -> list[SuiteResult]:
    limit = now + CLOCK_SKEW
    progress(0.05, "stock")
    results = [validate("db.stock_levels", stock_frame(session), suites.stock_suite(limit), suites.STOCK_INDEX)]
    low, high = session.execute(select(func.min(Order.id), func.max(Order.id))).one()
    parts: list[SuiteResult] = []
    build = suites.order_suite(limit, STATUSES, ORDER_PAYMENT_STATUSES)
    if low is not None:
        for start in range(low, high + 1, ORDER_CHUNK):
            progress(0.3 + 0.6 * (start - low) / max(high - low + 1, 1), "orders")
            parts.append(validate("db.orders", _order_chunk(session, start, start + ORDER_CHUNK - 1), build,
                                  suites.ORDER_INDEX))
    else:
        parts.append(validate("db.orders", _order_chunk(session, 0, -1), build, suites.ORDER_INDEX))
    results.append(_combine("db.orders", parts))
    progress(0.92, "lines")
    results.append(validate("db.order_lines", orphan_frame(session), suites.orphan_suite(), suites.LINE_INDEX))
    return results


def run_checks(actor: Actor, progress: Progress | None = None) -> DQReport:
    """Validate the database and store the result (one ``dq_runs`` row per suite)."""
    require(actor, "dq.run")
    report = progress or _silent
    now = utcnow()
    with transaction(readonly=True) as s:
        if s.get_bind().dialect.name == "postgresql":  # one snapshot for every query of the run
            s.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        results = _measure(s, now, report)
    report(0.97, "storing")
    ids = _store(now, results, actor)
    report(1.0, "done")
    return DQReport(now, tuple(results), tuple(ids))


@unit_of_work
def _store(session: Session, now: dt.datetime, results: list[SuiteResult], actor: Actor) -> list[int]:
    ids = [session.execute(insert(DQRun).values(
        at=now, suite=r.suite, target=TARGET, success=r.success, stats=r.stats(), results=r.to_json(STORED_ROWS),
        created_by=actor.username).returning(DQRun.id)).scalar_one() for r in results]
    audit.record(session, actor, "dq.run", "dq_run", ids[0], after={
        "success": all(r.success for r in results), "suites": {r.suite: r.stats() for r in results}})
    return ids


# --- reads -------------------------------------------------------------------------------------


@read_only
def list_runs(session: Session, actor: Actor, limit: int = 500) -> pd.DataFrame:
    """Stored checks, newest first (every suite, including import batches)."""
    require(actor, "dq.view")
    rows = session.execute(select(DQRun.id, DQRun.at, DQRun.suite, DQRun.target, DQRun.success, DQRun.stats,
                                  DQRun.created_by).order_by(DQRun.id.desc()).limit(limit)).all()
    out = []
    for r in rows:
        stats = r.stats or {}
        out.append([r.id, r.at, r.suite, r.target, bool(r.success), stats.get("rows"), stats.get("expectations"),
                    stats.get("failed_expectations"), stats.get("failing_rows"), r.created_by])
    return pd.DataFrame(out, columns=RUN_COLUMNS)


@dataclass(frozen=True)
class RunDetail:
    run: dict[str, Any]
    expectations: pd.DataFrame  # RESULT_COLUMNS, failed first
    failing: dict[str, pd.DataFrame]  # code → failing rows (as stored)


@read_only
def run_detail(session: Session, run_id: int, actor: Actor) -> RunDetail:
    """One stored run: each expectation's outcome and the failing rows kept with it.

    Runs stored by other features with their own result layout are shown as a table of
    their result rows under the code ``result``."""
    require(actor, "dq.view")
    run = session.get(DQRun, run_id)
    if run is None:
        raise NotFound(f"no data-quality run {run_id}", run_id=run_id)
    header = {"id": run.id, "at": run.at, "suite": run.suite, "target": run.target, "success": run.success,
              "stats": run.stats or {}, "created_by": run.created_by}
    stored = run.results or []
    if not stored or not all(isinstance(r, dict) and "expectation" in r for r in stored):
        frame = pd.json_normalize(stored) if stored else pd.DataFrame()
        return RunDetail(header, pd.DataFrame(columns=RESULT_COLUMNS), {"result": frame} if len(frame) else {})
    rows = [[r["expectation"], r["code"], ", ".join(r.get("columns") or []), r.get("severity", "error"),
             bool(r["success"]), r.get("element_count"), r.get("unexpected_count")] for r in stored]
    table = pd.DataFrame(rows, columns=RESULT_COLUMNS).sort_values(["success", "code"], kind="stable")
    failing = {r["code"]: pd.DataFrame(r.get("failing") or []) for r in stored if not r["success"]}
    return RunDetail(header, table.reset_index(drop=True), failing)
