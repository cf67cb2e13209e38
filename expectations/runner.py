"""Run a Great Expectations suite on a DataFrame and return plain results.

Suites are code (``expectations.imports``, ``expectations.database``): lists of GX expectations
whose ``meta`` says what a failure means for a person — a reason ``code``, the OMS ``field`` and a
``severity`` (error | warning | info). This module is the only one that talks to GX:

- GX is imported lazily (it costs ~2 s), on the first validation, never at app start;
- one ephemeral context per process with one pandas datasource/batch definition, reused for
  every frame (a fresh context costs ~40 ms; re-adding a datasource name raises);
- progress bars and usage statistics are off;
- validation runs under a lock: the GX context is shared and not documented as thread-safe,
  and Streamlit serves sessions from threads.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

_lock = threading.Lock()
_batch_definition: Any = None
_CHECK = "oms_check"  # meta key numbering a suite's checks, to match GX's results back to them


def gx() -> Any:
    """The ``great_expectations`` module (imported on first use)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations

    return great_expectations


def expectations() -> Any:
    """``great_expectations.expectations`` — the classes suites are built from."""
    gx()
    import great_expectations.expectations as gxe

    return gxe


def _batch_def() -> Any:
    global _batch_definition
    if _batch_definition is None:
        from great_expectations.data_context.types.base import ProgressBarsConfig

        ctx = gx().get_context(mode="ephemeral")
        ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
        _batch_definition = (ctx.data_sources.add_pandas("oms").add_dataframe_asset("frame")
                             .add_batch_definition_whole_dataframe("whole"))
    return _batch_definition


def warm_up() -> None:
    """Import GX and build the context now (benchmarks, long-running workers)."""
    with _lock:
        _batch_def()


@dataclass(frozen=True)
class ExpectationResult:
    """One expectation's outcome; ``failing`` holds the index columns (and checked values) of
    every failing row."""

    expectation: str
    columns: tuple[str, ...]
    code: str
    field: str
    severity: str
    success: bool
    element_count: int
    unexpected_count: int
    failing: pd.DataFrame
    observed: Any = None
    detail: str | None = None  # a column of the frame that explains each failing row

    def to_json(self, max_rows: int) -> dict[str, Any]:
        rows = self.failing.head(max_rows)
        return {
            "expectation": self.expectation, "columns": list(self.columns), "code": self.code, "field": self.field,
            "severity": self.severity, "success": self.success, "element_count": self.element_count,
            "unexpected_count": self.unexpected_count, "observed": _plain(self.observed),
            "failing": [{k: _plain(v) for k, v in r.items()} for r in rows.to_dict("records")],
        }


@dataclass(frozen=True)
class SuiteResult:
    suite: str
    rows: int
    results: tuple[ExpectationResult, ...]

    @property
    def success(self) -> bool:
        """True when no *error* expectation failed (warnings are reported, not fatal)."""
        return all(r.success for r in self.results if r.severity == "error")

    def failed(self) -> list[ExpectationResult]:
        return [r for r in self.results if not r.success]

    def stats(self) -> dict[str, Any]:
        failed = self.failed()
        return {"rows": self.rows, "expectations": len(self.results),
                "failed_expectations": sum(r.severity == "error" for r in failed),
                "warnings": sum(r.severity != "error" for r in failed),
                "failing_rows": int(sum(r.unexpected_count for r in failed))}

    def to_json(self, max_rows: int = 200) -> list[dict[str, Any]]:
        return [r.to_json(max_rows) for r in self.results]


def _plain(value: Any) -> Any:
    """numpy/pandas scalars → JSON-friendly Python values."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value)


def _columns(kwargs: dict[str, Any]) -> tuple[str, ...]:
    for key in ("column", "column_A"):
        if key in kwargs:
            return (kwargs[key], kwargs["column_B"]) if key == "column_A" else (kwargs[key],)
    return tuple(kwargs.get("column_list", ()))


def _complete_needed(check: Any, success: bool) -> bool:
    """Whether a check's quick (``BOOLEAN_ONLY``) outcome is not the whole result: it failed
    (its failing rows are wanted), it is not a row-by-row expectation (an aggregate reports an
    observed value), or it tolerates some failing rows (``mostly``), whose count is reported."""
    from great_expectations.expectations.expectation import (
        ColumnMapExpectation,
        ColumnPairMapExpectation,
        MulticolumnMapExpectation,
    )

    row_wise = isinstance(check, ColumnMapExpectation | ColumnPairMapExpectation | MulticolumnMapExpectation)
    mostly = getattr(check, "mostly", None)
    return not success or not row_wise or (mostly is not None and mostly < 1)


def _run(name: str, checks: list[Any], narrow: pd.DataFrame, result_format: dict[str, Any]) -> list[Any]:
    suite = gx().ExpectationSuite(name=name, expectations=checks)
    batch = _batch_def().get_batch(batch_parameters={"dataframe": narrow})
    outcome = batch.validate(suite, result_format=result_format)
    for r in outcome.results:
        if r.exception_info and r.exception_info.get("raised_exception"):
            raise RuntimeError(f"{name}: {r.expectation_config.type} failed to run: "
                               f"{r.exception_info.get('exception_message')}")
    return list(outcome.results)


def validate(name: str, frame: pd.DataFrame, build: Callable[[Any], list[Any]],
             index_columns: list[str]) -> SuiteResult:
    """Validate ``frame`` with the suite ``build(gxe)`` returns; failing rows are identified by
    ``index_columns`` (e.g. the source row number, or SKU × warehouse).

    Two passes: every check runs with ``BOOLEAN_ONLY`` (pass/fail), then only the checks whose
    outcome needs more (see :func:`_complete_needed`: typically the failing ones) run again
    with ``COMPLETE`` to list their failing rows. A passing row-wise check's full result is
    known without asking (no failing rows, every row counted), and ``COMPLETE`` costs GX
    about twice as much per check (≈0.3 s of 0.7 s for a clean 100k-line import).
    """
    gxe = expectations()
    checks = build(gxe)
    for i, check in enumerate(checks):  # results come back in GX's order, not the suite's
        check.meta = {**(check.meta or {}), _CHECK: i}
    used = dict.fromkeys([*index_columns, *(c for e in checks for c in _columns(e.configuration.kwargs))])
    narrow = frame[[c for c in used if c in frame.columns]]  # GX copies the frame per metric: pass what it checks
    with _lock:
        quick = _run(name, checks, narrow, {"result_format": "BOOLEAN_ONLY"})
        again = [checks[r.expectation_config.meta[_CHECK]] for r in quick
                 if _complete_needed(checks[r.expectation_config.meta[_CHECK]], bool(r.success))]
        complete = _run(name, again, narrow, {"result_format": "COMPLETE",
                                              "unexpected_index_column_names": index_columns}) if again else []
    full = {r.expectation_config.meta[_CHECK]: r for r in complete}
    results = []
    for r in (full.get(q.expectation_config.meta[_CHECK], q) for q in quick):
        config = r.expectation_config
        meta = config.meta or {}
        failing = pd.DataFrame(r.result.get("unexpected_index_list") or [],
                               columns=None if r.result.get("unexpected_index_list") else index_columns)
        failing = failing[[*index_columns, *(c for c in failing.columns if c not in index_columns)]]
        results.append(ExpectationResult(
            expectation=config.type, columns=_columns(config.kwargs), code=meta.get("code", config.type),
            field=meta.get("field", ""), severity=meta.get("severity", "error"), success=bool(r.success),
            element_count=int(r.result.get("element_count") or len(frame)),
            unexpected_count=int(r.result.get("unexpected_count") or (0 if r.success else len(failing))),
            failing=failing, observed=r.result.get("observed_value"), detail=meta.get("detail"),
        ))
    return SuiteResult(name, len(frame), tuple(results))
