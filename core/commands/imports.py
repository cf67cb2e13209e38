"""``oms import orders|products|stock|customers|settlements FILE…`` and ``oms dq run``.

Both call the same services as the Import and Data Quality pages. Exit codes: 0 — everything
imported (or a clean dry run / all checks passed); 1 — rows were rejected or quarantined, or a
check failed (the printed report says which and why); 2 — the file could not be read or the
arguments are wrong (nothing written; core.cli prints the one-line reason).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core import exports
from core.errors import FieldIssue, ValidationError
from core.importing.fields import KINDS
from core.importing.issues import ImportFileError, group_line
from core.importing.profile import REPEATED_LINES
from core.importing.reader import max_bytes
from core.permissions import SYSTEM
from core.services import data_quality, imports

SHOWN_ISSUES = 50
SHOWN_ROWS = 10


def _files(paths: list[str]) -> list[imports.SourceFile]:
    missing = [p for p in paths if not Path(p).is_file()]
    if missing:
        raise ValidationError([FieldIssue("file", "issue.no_such_file", value=p, params={"value": p}) for p in missing])
    limit = max_bytes()
    for p in paths:  # refuse a huge file before reading it into memory
        if (size := Path(p).stat().st_size) > limit:
            raise ImportFileError("too_large", Path(p).name, size_mb=f"{size / 1048576:.1f}",
                                  limit_mb=f"{limit / 1048576:.0f}")
    return [imports.SourceFile(Path(p).name, Path(p).read_bytes()) for p in paths]


def _progress(fraction: float, stage: str) -> None:
    if sys.stderr.isatty():
        print(f"\r[{fraction:5.0%}] {stage:<12}", end="", file=sys.stderr, flush=True)


def _import(args: argparse.Namespace) -> int:
    profile = imports.load_profile(args.profile) if args.profile else imports.default_profile(args.kind)
    options = imports.ImportOptions(
        kind=args.kind, profile=profile, channel=args.channel, warehouse=args.warehouse, on_error=args.on_error,
        dry_run=args.dry_run, create_missing_products=args.create_missing_products, deduct_stock=args.deduct_stock,
        repeated_lines=args.repeated_lines)
    report = imports.run_import(_files(args.files), options, SYSTEM, progress=_progress)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(f"batch #{report.batch_id} ({report.profile}): {report.summary()}")
    groups = report.groups()
    shown = groups[groups["severity"] != "info"]
    for _, g in shown.head(SHOWN_ISSUES).iterrows():  # one line per root cause, not per row
        print("  " + group_line(g))
    if len(shown) > SHOWN_ISSUES:
        print(f"  … {len(shown) - SHOWN_ISSUES} more causes (use --report FILE.csv for all of them)")
    if len(report.merges):
        print(f"  {len(report.merges)} customers merged with existing ones by phone or e-mail")
    if args.report:
        _write_report(report, Path(args.report))
        print(f"report written to {args.report} (one line per cause; every row in the rows column)")
    if report.status == "partial":
        print(f"failing rows kept in batch #{report.batch_id}: fix and re-import them from the Import page "
              f"(download) or the report")
    return 0 if report.errors == 0 and report.status in ("imported", "dry_run") else 1


def _write_report(report: imports.ImportReport, path: Path) -> None:
    """The report file: one line per root cause with its row count, first rows and *all* rows
    (space-separated), so nothing of the per-row detail is lost."""
    groups = report.groups()
    columns = ["severity", "code", "field", "column", "reason", "count", "first_rows", "examples", "file", "rows"]
    exports.write_csv(groups[columns], path)  # the file's values, formulas neutralised


def _dq_run(_args: argparse.Namespace) -> int:
    report = data_quality.run_checks(SYSTEM)
    for suite in report.results:
        stats = suite.stats()
        print(f"{'PASS' if suite.success else 'FAIL'} {suite.suite}: {stats['rows']} rows, "
              f"{stats['expectations']} expectations, {stats['failed_expectations']} failed")
        for r in suite.failed():
            print(f"  ✗ {r.code} ({r.expectation}, {r.unexpected_count} of {r.element_count} rows)")
            for row in r.failing.head(SHOWN_ROWS).to_dict("records"):
                print("      " + ", ".join(f"{k}={v}" for k, v in row.items()))
    print("data quality: " + ("all checks passed" if report.success else "checks FAILED"))
    return 0 if report.success else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("import", help="import orders, products, stock counts, customers or settlement statements from files")
    p.add_argument("kind", choices=KINDS)
    p.add_argument("files", nargs="+", metavar="FILE", help="CSV/XLSX file(s); several for a multi-file export")
    p.add_argument("--profile", help="mapping profile: a .yaml path or a saved/shipped name "
                                     "(default: generic-<kind>)")
    p.add_argument("--channel", help="channel code for rows that do not name one (orders, customers)")
    p.add_argument("--warehouse", help="warehouse code for rows that do not name one (stock)")
    p.add_argument("--on-error", choices=imports.ON_ERROR, default="reject",
                   help="reject: write nothing if any row fails (default); quarantine: import the valid rows")
    p.add_argument("--dry-run", action="store_true",
                   help="validate and say what would be imported (N orders, M lines, K refused); writes no data")
    p.add_argument("--create-missing-products", action="store_true", help="orders: create unknown SKUs")
    p.add_argument("--deduct-stock", action="store_true",
                   help="orders: shipped history also reduces today's stock (default: history leaves stock alone)")
    p.add_argument("--repeated-lines", choices=REPEATED_LINES, default=None,
                   help="orders without a line-number column: identical lines of one order are summed into one "
                        "line (sum) or kept as separate numbered lines (number); default: the profile's (sum)")
    p.add_argument("--report", metavar="FILE.csv",
                   help="write the report to this CSV: one line per cause with its row count and every row")
    p.set_defaults(func=_import)
    dq = subparsers.add_parser("dq", help="data-quality checks").add_subparsers(dest="dq_command", required=True)
    p = dq.add_parser("run", help="validate the database (ledger, reservations, order totals, statuses, dates)")
    p.set_defaults(func=_dq_run)
