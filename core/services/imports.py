"""The one import service, behind the Import page and ``oms import``.

``run_import`` = read → stage → validate (GX) → decide → write, where everything up to the
decision happens without a write lock and the write is **one transaction**: the batch record,
the imported rows, the quarantined ones with their reasons, the validation result (``dq_runs``)
and the audit row commit together or not at all.

- ``on_error="reject"``: any error → the data is not written (the attempt and its report are).
- ``on_error="quarantine"``: valid units (an order with all its lines; a product; a count) are
  written, failing rows are kept in ``import_errors`` with reasons and can be downloaded in the
  source format, fixed and imported again.
- ``dry_run``: report only; the attempt is logged as ``dry_run``.
- ``check_import``: the same report without logging anything — the Import page's live check
  while a profile is being built.

Every attempt — also a file that cannot be read at all — is recorded in ``import_batches`` with
the files' SHA-256 and the counts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from core import audit, environment, i18n
from core.db import read_only, transaction, unit_of_work
from core.errors import (
    Conflict,
    FieldIssue,
    Message,
    NotFound,
    OMSError,
    Refused,
    ValidationError,
)
from core.importing import profile as profiles
from core.importing.bulk import digests_shared, roomy_cache
from core.importing.fields import FIELDS, HISTORICAL, KINDS, ORDER_TARGETS
from core.importing.guess import SAMPLE_ROWS, guess_mapping
from core.importing.identity import resolve
from core.importing.issues import ISSUE_COLUMNS, ImportFileError, Issue, group_issues, issues_frame
from core.importing.prepare import ON_ERROR, ImportOptions, Prepared, existing_orders, prepare, without
from core.importing.profile import NAME_PATTERN, REPEATED_LINES, Profile
from core.importing.reader import RawTable, SourceFile, read_table
from core.jobs import kinds, records
from core.models import Channel, DQRun, ImportBatch, ImportError_, ImportProfile
from core.permissions import Actor, require
from core.services import jobs
from core.services.import_master import create_missing_products, write_customers, write_products, write_stock
from core.services.import_orders import order_heads, per_line, shortfalls, write_history, write_open
from core.services.settlements import write_lines
from core.timeutil import utcnow

__all__ = [
    "FIELDS", "KINDS", "ON_ERROR", "ORDER_TARGETS", "REPEATED_LINES", "FileInfo", "ImportOptions", "ImportReport",
    "Profile", "SourceFile", "batch_issues", "batch_report", "group_issues", "inspect_files", "new_profile",
    "options_from_params", "options_to_params", "profile_from_dict", "runs_in_background", "start_import",
    "check_import", "default_profile", "delete_profile", "list_batches", "list_profiles", "load_profile", "quarantine_rows",
    "run_import", "save_profile",
]

KIND_PERMISSION = {"orders": "order.import", "customers": "order.import", "products": "stock.import",
                   "stock": "stock.import", "settlements": "finance.import"}
PREVIEW_ROWS = 20
STORED_MERGES = 500
WROTE = ("imported", "partial")  # statuses of an import that wrote rows
BATCH_STATS = ("skipped", "errors", "warnings", "merges")  # stored with a batch beside its counts
BATCH_COLUMNS = ["id", "created_at", "kind", "channel", "file_name", "profile", "status", "rows", "accepted",
                 "rejected", "skipped", "created_by", "message"]

Progress = Callable[[float, str], None]


def _silent(_fraction: float, _stage: str) -> None:
    pass


@dataclass(frozen=True)
class ImportReport:
    """What an import (or check) found and did. ``issues`` is the per-row report
    (``core.importing.issues.ISSUE_COLUMNS``); ``merges`` lists customers matched by phone or
    e-mail; ``preview`` shows the first rows as the profile maps them."""

    kind: str
    status: str  # checked | dry_run | rejected | imported | partial
    batch_id: int | None
    profile: str
    files: tuple[str, ...]
    sha256: str
    rows: int
    accepted: int
    rejected: int
    skipped: int
    counts: dict[str, int] = field(default_factory=dict)
    issues: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ISSUE_COLUMNS))
    merges: pd.DataFrame = field(default_factory=pd.DataFrame)
    preview: pd.DataFrame = field(default_factory=pd.DataFrame)

    def count(self, severity: str) -> int:
        return int((self.issues["severity"] == severity).sum()) if len(self.issues) else 0

    def groups(self) -> pd.DataFrame:
        """The issues as one line per root cause (core.importing.issues.group_issues)."""
        return group_issues(self.issues)

    def would_import(self) -> dict[str, int]:
        """What a dry run would have imported: orders and lines (orders), else rows; and how
        many units (orders or rows) it would refuse."""
        return {k: self.counts.get(f"would_{k}", 0) for k in ("orders", "lines", "rows", "refused")}

    @property
    def errors(self) -> int:
        return self.count("error")

    def summary(self) -> str:
        """One English line for the CLI and logs."""
        if self.status == "dry_run":
            w = self.would_import()
            key = "imh.dry_run" if self.kind == "orders" else "imh.dry_run_rows"
            return i18n.translate(key, "en", orders=f"{w['orders']:,}", lines=f"{w['lines']:,}",
                                  rows=f"{w['rows']:,}", refused=f"{w['refused']:,}")
        extra = ", ".join(f"{k} {v}" for k, v in self.counts.items() if v)
        return (f"{self.status}: {self.rows} rows, {self.accepted} imported, {self.rejected} rejected, "
                f"{self.skipped} skipped; {self.errors} errors, {self.count('warning')} warnings"
                + (f" ({extra})" if extra else ""))


# --- helpers ---------------------------------------------------------------------------------


def _require_any(actor: Actor, actions: tuple[str, ...]) -> None:
    if not any(actor.can(a) for a in actions):
        require(actor, actions[0])


def _files_sha(files: list[SourceFile]) -> str:
    if len(files) == 1:
        return files[0].sha256
    return hashlib.sha256("".join(sorted(f.sha256 for f in files)).encode()).hexdigest()


def _authorise(options: ImportOptions, actor: Actor) -> None:
    """The kind's permission; creating products or moving stock from an order import also
    needs the catalogue/stock permission."""
    require(actor, KIND_PERMISSION.get(options.kind, "order.import"))
    if options.create_missing_products or options.deduct_stock:
        require(actor, "stock.import")



def _not_one_of(field: str, value: object, allowed: tuple[str, ...] | list[str]) -> FieldIssue:
    """A choice outside ``allowed``, as a message code (``issue.one_of``) naming the choices."""
    return FieldIssue(field, "issue.one_of", value=value, params={"choices": ", ".join(allowed)})


def _check_options(options: ImportOptions) -> None:
    issues = []
    if options.kind not in KINDS:
        issues.append(_not_one_of("kind", options.kind, KINDS))
    elif options.profile.kind != options.kind:
        issues.append(FieldIssue("profile", "imh.issue.profile_kind", value=options.profile.name, params={
            "name": options.profile.name, "profile_kind": options.profile.kind, "kind": options.kind}))
    if options.on_error not in ON_ERROR:
        issues.append(_not_one_of("on_error", options.on_error, ON_ERROR))
    if options.repeated_lines is not None and options.repeated_lines not in REPEATED_LINES:
        issues.append(_not_one_of("repeated_lines", options.repeated_lines, REPEATED_LINES))
    if issues:
        raise ValidationError(issues)


def _read(files: list[SourceFile], profile: Profile) -> list[RawTable]:
    if not files:
        raise ImportFileError("no_files", "-")
    return [read_table(f, encoding=profile.encoding, delimiter=profile.delimiter, sheet=profile.sheet) for f in files]


def _preview(p: Prepared) -> pd.DataFrame:
    names = [f.name for f in FIELDS[p.options.kind] if p.options.profile.is_mapped(f.name)
             or (f.name in ("province", "city", "district", "address") and p.options.profile.is_mapped("full_address"))]
    frame = p.staged.frame.head(PREVIEW_ROWS)
    return frame[["_file", "_row", *names]].rename(columns={"_file": "file", "_row": "row"})


def _unjoinable_rows(p: Prepared) -> int:
    return sum(i.code in ("orphan_line", "no_lines") for i in p.issues)


# --- inspect and check (no writes) -----------------------------------------------------------


DISTINCT_LIMIT = 40  # a column with at most this many distinct values is offered for code mapping


@dataclass(frozen=True)
class FileInfo:
    """What the profile editor needs to know about uploaded files before any mapping."""

    files: tuple[str, ...]
    encodings: tuple[str, ...]
    columns: tuple[str, ...]  # every column of every file, in file order
    rows: int
    preview: pd.DataFrame  # the first rows of the first file, as text
    distinct: dict[str, tuple[str, ...]]  # column → its values, for columns with few distinct values
    guesses: dict[str, str] = field(default_factory=dict)  # OMS field → column, by header and content


def inspect_files(files: list[SourceFile], profile: Profile, actor: Actor) -> FileInfo:
    """Read ``files`` with the profile's read settings (encoding, delimiter, sheet) and describe
    them: columns, row count, a preview and the distinct values of code-like columns."""
    _require_any(actor, ("order.import", "stock.import"))
    tables = _read(files, profile)
    columns = list(dict.fromkeys(c for t in tables for c in t.columns))
    distinct: dict[str, tuple[str, ...]] = {}
    for t in tables:
        for col in t.columns:
            values = t.frame[col][t.frame[col] != ""].drop_duplicates()
            if 0 < len(values) <= DISTINCT_LIMIT and col not in distinct:
                distinct[col] = tuple(sorted(values.astype(str)))
    sample = pd.concat([t.frame.head(SAMPLE_ROWS).reset_index(drop=True) for t in tables], axis=1)
    sample = sample.loc[:, ~sample.columns.duplicated()]
    return FileInfo(tuple(t.name for t in tables), tuple(t.encoding for t in tables), tuple(columns),
                    sum(len(t.frame) for t in tables), tables[0].frame.head(PREVIEW_ROWS).reset_index(), distinct,
                    guess_mapping(profile.kind, sample))




def check_import(files: list[SourceFile], options: ImportOptions, actor: Actor,
                 *, limit_rows: int | None = None) -> ImportReport:
    """Validate ``files`` as ``options`` says and report, writing nothing at all (not even the
    attempt): the live check of the profile editor. ``limit_rows`` checks only the first rows."""
    _authorise(options, actor)
    _check_options(options)
    tables = _read(files, options.profile)
    with transaction(readonly=True) as s:
        p = prepare(s, tables, options, utcnow(), limit_rows)
    failed = p.failed_units()
    in_failed = p.frame[p.unit_column].isin(failed) if len(p.frame) else pd.Series([], dtype=bool)
    rejected = int(in_failed.sum()) + _unjoinable_rows(p)
    return ImportReport(options.kind, "checked", None, options.profile.name, tuple(f.name for f in files),
                        _files_sha(files), len(p.staged.frame) + _unjoinable_rows(p), len(p.frame) - int(in_failed.sum()),
                        rejected, p.skipped_rows, {}, issues_frame(p.issues), pd.DataFrame(), _preview(p))


# --- run -------------------------------------------------------------------------------------


def run_import(files: list[SourceFile], options: ImportOptions, actor: Actor,
               progress: Progress | None = None) -> ImportReport:
    """Import ``files`` (see the module docstring). Raises ImportFileError when the files cannot
    be read or do not fit the profile (the failed attempt is recorded); otherwise returns the
    report, whose ``status`` says what happened."""
    report = progress or _silent
    _authorise(options, actor)
    _check_options(options)
    names, sha = tuple(f.name for f in files), _files_sha(files)
    try:
        report(0.02, "reading")
        tables = _read(files, options.profile)
        report(0.15, "validating")
        with transaction(readonly=True) as s:
            prepared = prepare(s, tables, options, utcnow())
    except ImportFileError as exc:
        _record_failure(options, names, sha, exc, actor)
        raise
    report(0.4, "writing")
    result = _commit(prepared, names, sha, actor,
                     lambda f: report(0.4 + 0.58 * f, "writing"))
    if result.status in WROTE:
        records.refresh_summaries_soon()  # the dashboards' summaries follow the writer
    report(1.0, "done")
    return result


# --- large files: imported by the worker ----------------------------------------------------


def runs_in_background(files: list[SourceFile]) -> bool:
    """True when the upload is larger than ``OMS_IMPORT_JOB_MB``: the worker imports it
    (:func:`start_import`) and the page shows its progress; smaller files import at once."""
    return sum(len(f.data) for f in files) > environment.import_background_bytes()


def start_import(files: list[SourceFile], options: ImportOptions, actor: Actor) -> int:
    """Queue the import of ``files`` for the worker; returns the job's id. The permission and
    the options are checked now; the files travel in the database (``job_files``), so a worker
    on another machine reads them too."""
    _authorise(options, actor)
    _check_options(options)
    if not files:
        raise ImportFileError("no_files", "-")
    return jobs.submit(kinds.IMPORT, options_to_params(options), actor, KIND_PERMISSION[options.kind],
                       files=[(f.name, f.data) for f in files])


def options_to_params(options: ImportOptions) -> dict[str, Any]:
    """The options as the job's JSON parameters (the profile as its YAML structure)."""
    return {"kind": options.kind, "profile": options.profile.to_dict(), "channel": options.channel,
            "warehouse": options.warehouse, "on_error": options.on_error, "dry_run": options.dry_run,
            "create_missing_products": options.create_missing_products, "repeated_lines": options.repeated_lines,
            "deduct_stock": options.deduct_stock}


def options_from_params(params: dict[str, Any]) -> ImportOptions:
    """The options a job was started with (:func:`options_to_params` reversed)."""
    return ImportOptions(kind=params["kind"], profile=profiles.from_dict(params["profile"]),
                         channel=params.get("channel"), warehouse=params.get("warehouse"),
                         on_error=params.get("on_error", "reject"), dry_run=bool(params.get("dry_run")),
                         create_missing_products=bool(params.get("create_missing_products")),
                         repeated_lines=params.get("repeated_lines"), deduct_stock=bool(params.get("deduct_stock")))


@read_only
def batch_report(session: Session, batch_id: int, actor: Actor, lang: str = "en") -> ImportReport:
    """A stored batch as the report the import returned (what a background import shows when
    it is done, also after a reload): counts, every issue, the customer merges."""
    _require_any(actor, _VIEW)
    detail = batch_issues(batch_id, actor, lang, session=session)
    batch, stats = detail.batch, dict(detail.batch.get("stats") or {})
    counts = {k: int(v) for k, v in stats.items() if k not in BATCH_STATS and isinstance(v, int)}
    return ImportReport(batch["kind"], batch["status"], batch_id, batch.get("profile") or "",
                        tuple(n.strip() for n in (batch.get("file_name") or "").split(",")), batch.get("sha256") or "",
                        int(batch.get("rows") or 0), int(batch.get("accepted") or 0), int(batch.get("rejected") or 0),
                        int(stats.get("skipped", 0)), counts, detail.issues, detail.merges)


@unit_of_work
def _record_failure(session: Session, options: ImportOptions, names: tuple[str, ...], sha: str,
                    exc: ImportFileError, actor: Actor) -> None:
    batch_id = session.execute(insert(ImportBatch).values(
        kind=options.kind, channel_id=_channel_id(session, options.channel), file_name=", ".join(names)[:300],
        sha256=sha, profile=options.profile.name or None, rows=0, accepted=0, rejected=0, status="failed",
        message=str(exc), stats={"code": exc.code}, created_at=utcnow(), created_by=actor.username,
    ).returning(ImportBatch.id)).scalar_one()
    audit.record(session, actor, f"import.{options.kind}", "import_batch", batch_id,
                 after={"status": "failed", "files": list(names), "reason": str(exc)})


def _channel_id(session: Session, code: str | None) -> int | None:
    if not code:
        return None
    return session.execute(select(Channel.id).where(Channel.code == code)).scalar_one_or_none()


@dataclass
class _Outcome:
    counts: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # unit → reason (refused while writing)
    merges: pd.DataFrame = field(default_factory=pd.DataFrame)


@unit_of_work
def _commit(session: Session, p: Prepared, names: tuple[str, ...], sha: str, actor: Actor,
            progress: Callable[[float], None]) -> ImportReport:
    options = p.options
    now = utcnow()
    batch_id = session.execute(insert(ImportBatch).values(
        kind=options.kind, channel_id=_channel_id(session, options.channel), file_name=", ".join(names)[:300],
        sha256=sha, profile=options.profile.name or None, status="running", created_at=now,
        created_by=actor.username, rows=0, accepted=0, rejected=0,
    ).returning(ImportBatch.id)).scalar_one()
    unit = p.unit_column
    if options.kind == "orders" and len(p.frame):
        _skip_imported_meanwhile(session, p)
    failed = p.failed_units()
    has_errors = bool(failed) or any(i.severity == "error" for i in p.issues)
    accepted = without(p.frame, p.frame[unit].isin(failed)) if len(p.frame) else p.frame
    outcome = _Outcome()
    if options.dry_run:
        status = "dry_run"
        outcome = _Outcome(_would_import(p, accepted, failed))
    elif has_errors and options.on_error == "reject" or (has_errors and accepted.empty):
        status = "rejected"
    else:
        status = "partial" if has_errors else "imported"
        try:
            with roomy_cache(session.connection()), digests_shared(), session.begin_nested():
                outcome = _write(session, p, accepted, batch_id, actor, progress)
                if outcome.failed and options.on_error == "reject":
                    raise _Refused(outcome.failed)
        except _Refused as refused:
            outcome = _Outcome(failed=refused.failed)
            status = "rejected"
        except OMSError as exc:  # a refusal the suite could not foresee (a race): nothing written
            outcome = _Outcome(failed={str(k): exc.message for k in set(accepted[unit])})
            status = "rejected"
        if outcome.failed:
            p.issues += _refusal_issues(p, outcome.failed)
            failed |= set(outcome.failed)
            if status == "imported":
                status = "partial"
    in_failed = p.frame[unit].isin(failed) if len(p.frame) else pd.Series([], dtype=bool)
    rows = len(p.staged.frame) + _unjoinable_rows(p)
    if status == "rejected":
        written, rejected_rows = 0, len(p.frame) + _unjoinable_rows(p)
    else:  # a dry run reports what it would have imported
        written, rejected_rows = int((~in_failed).sum()), int(in_failed.sum()) + _unjoinable_rows(p)
    _store_issues(session, batch_id, p, failed)
    if p.suite is not None:
        session.execute(insert(DQRun).values(
            at=now, suite=p.suite.suite, target=f"import_batch:{batch_id}", success=p.suite.success,
            stats=p.suite.stats() | {"batch_id": batch_id}, results=p.suite.to_json(max_rows=0),  # rows: import_errors
            created_by=actor.username))
    stats: dict[str, Any] = dict(outcome.counts) | {"skipped": p.skipped_rows, "errors": _n(p, "error"),
                                                    "warnings": _n(p, "warning")}
    if len(outcome.merges):
        stats["merges"] = outcome.merges.head(STORED_MERGES).astype(object).where(
            outcome.merges.head(STORED_MERGES).notna(), None).to_dict("records")
    message = _message(status, p, outcome)
    session.execute(update(ImportBatch).where(ImportBatch.id == batch_id).values(
        status=status, rows=rows, accepted=written, rejected=rejected_rows, stats=stats, message=message))
    audit.record(session, actor, f"import.{options.kind}", "import_batch", batch_id, after={
        "status": status, "files": list(names), "sha256": sha, "profile": options.profile.name,
        "rows": rows, "accepted": written, "rejected": rejected_rows} | dict(outcome.counts))
    return ImportReport(options.kind, status, batch_id, options.profile.name, names, sha, rows, written,
                        rejected_rows, p.skipped_rows, dict(outcome.counts), issues_frame(p.issues),
                        outcome.merges, _preview(p))


def _would_import(p: Prepared, accepted: pd.DataFrame, failed: set[str]) -> dict[str, int]:
    """A dry run's answer: what the import would write and how many units it would refuse
    (orders for order files — with their lines —, rows otherwise; rows that could not even be
    joined to an order count as refused too)."""
    refused = len(failed) + _unjoinable_rows(p)
    if p.options.kind != "orders":
        return {"would_rows": len(accepted), "would_refused": refused}
    walk_in = int((~accepted["_has_customer"]).groupby(accepted["_okey"], sort=False).first().sum()) \
        if len(accepted) else 0
    return {"would_orders": int(accepted["_okey"].nunique()) if len(accepted) else 0, "would_lines": len(accepted),
            "would_refused": refused, "walk_in": walk_in}


def _n(p: Prepared, severity: str) -> int:
    return sum(i.severity == severity for i in p.issues)


def _message(status: str, p: Prepared, outcome: _Outcome) -> str:
    already = sum(i.code == "already_imported" for i in p.issues)
    parts = [status]
    if already:
        parts.append(f"{already} orders already imported")
    if outcome.failed:
        parts.append(f"{len(outcome.failed)} refused while writing")
    return "; ".join(parts)


class _Refused(Exception):
    def __init__(self, failed: dict[str, str]) -> None:
        super().__init__("refused")
        self.failed = failed


def _skip_imported_meanwhile(session: Session, p: Prepared) -> None:
    """Orders another import committed since validation: skipped (and said so), not duplicated."""
    found = existing_orders(session, p.frame, p.ref)
    if not found:
        return
    gone = p.frame["_okey"].isin(set(found))
    heads = p.frame[gone].drop_duplicates("_okey")
    p.issues += [Issue("already_imported", "external_ref", f, int(r), None, str(ref), found[k], "info", ref)
                 for f, r, ref, k in zip(heads["_ofile"], heads["_orow"], heads["external_ref"], heads["_okey"],
                                         strict=True)]
    p.skipped_rows += int(gone.sum())
    p.frame = without(p.frame, gone).reset_index(drop=True)


def _refusal_issues(p: Prepared, failed: dict[str, str]) -> list[Issue]:
    heads = p.frame[p.frame[p.unit_column].isin(set(failed))].drop_duplicates(p.unit_column)
    return [Issue("refused", "external_ref" if p.options.kind == "orders" else "sku", str(f), int(r), None, None,
                  failed[k], "error", ref if p.options.kind == "orders" else None)
            for f, r, k, ref in zip(heads["_ofile"], heads["_orow"], heads[p.unit_column],
                                    heads["external_ref"] if "external_ref" in heads.columns else heads["_unit"],
                                    strict=True)]


# --- writing per kind ------------------------------------------------------------------------


def _write(session: Session, p: Prepared, rows: pd.DataFrame, batch_id: int, actor: Actor,
           progress: Callable[[float], None]) -> _Outcome:
    kind = p.options.kind
    if kind == "orders":
        return _write_orders(session, p, rows, batch_id, actor, progress)
    if kind == "products":
        mapped = set(p.options.profile.columns) | set(p.options.profile.constants)
        pr = write_products(session, rows, mapped, actor)
        return _Outcome({"products_created": pr.created, "products_updated": pr.updated,
                         "products_unchanged": pr.unchanged, "suppliers_created": pr.suppliers_created})
    if kind == "stock":
        sr = write_stock(session, rows, actor=actor, batch_id=batch_id, progress=progress)
        failed = {rows["_unit"].loc[pos]: f"counted {int(rows['qty_v'].loc[pos])} but {reserved} reserved"
                  for pos, reserved in sr.failed.items()}
        return _Outcome({"initial": sr.initial, "counted": sr.counted, "unchanged": sr.unchanged,
                         "backorders_confirmed": len(sr.backorders_confirmed)}, failed)
    if kind == "settlements":
        return _Outcome(write_lines(session, rows, channel_ids={code: c.id for code, c in p.ref.channels.items()},
                                    batch_id=batch_id))
    people = _people(rows, p)
    cr = write_customers(session, people, rows, actor=actor, channel_codes={c.id: c.code for c in p.ref.channels.values()})
    return _Outcome({"customers_created": cr.resolution.created, "customers_matched": cr.resolution.matched,
                     "customers_updated": cr.updated}, merges=cr.resolution.merges)


def _people(rows: pd.DataFrame, p: Prepared) -> pd.DataFrame:
    """One row per person-bearing row: the columns ``core.importing.identity.resolve`` reads
    (plain Python values, None when missing)."""
    ids = {c.code: c.id for c in p.ref.channels.values()}

    def col(name: str) -> list[Any]:
        values: list[Any] = rows[name].astype(object).where(rows[name].notna(), None).tolist()
        return values

    return pd.DataFrame({
        "row": col("_orow"), "name": col("customer_name"), "phone": col("phone_v"), "email": col("email_v"),
        "buyer_id": col("buyer_id"), "channel_id": [ids.get(c) for c in col("channel_v")],
        "province": col("province"), "city": col("city"), "district": col("district"), "address": col("address"),
    }, dtype=object)


def _write_orders(session: Session, p: Prepared, rows: pd.DataFrame, batch_id: int, actor: Actor,
                  progress: Callable[[float], None]) -> _Outcome:
    options = p.options
    products: dict[str, Any] = p.lookups["products"]
    product_ids = {sku: row.id for sku, row in products.items()}
    counts: dict[str, int] = {}
    if options.create_missing_products:
        created = create_missing_products(session, rows, set(product_ids))
        product_ids |= created
        counts["products_created"] = len(created)
    historical = rows["_target"].isin(HISTORICAL)
    failed: dict[str, str] = {}
    if options.deduct_stock:
        failed = shortfalls(session, rows[historical], p.ref, product_ids)
        rows = without(rows, rows["_okey"].isin(set(failed)))
        historical = rows["_target"].isin(HISTORICAL)
    heads = order_heads(rows)
    named = heads["_has_customer"].to_numpy(dtype=bool)  # the others are walk-in sales: no customer
    resolution = resolve(session, _people(heads[named], p), {c.id: c.code for c in p.ref.channels.values()})
    customer_ids = np.full(len(heads), None, dtype=object)
    customer_ids[named] = resolution.customer_ids
    rows = pd.concat([rows, pd.DataFrame({"customer_id": per_line(rows, customer_ids.tolist())}, index=rows.index)],
                     axis=1)  # one block added, not one more insert into a frame a hundred columns wide
    note = Message("note.imported", {"batch": batch_id, "profile": p.options.profile.name or "-"})
    n_hist = int(historical.sum())
    share = n_hist / max(len(rows), 1)
    history = write_history(session, without(rows, ~historical), actor=actor, ref=p.ref, note=note, product_ids=product_ids,
                            deduct_stock=options.deduct_stock, progress=lambda f: progress(f * share))
    opened = write_open(session, rows[~historical], actor=actor, quarantine=options.on_error == "quarantine",
                        progress=lambda f: progress(share + f * (1 - share)))
    failed |= opened.failed
    statuses = pd.Series(list(opened.created.values()), dtype=object)
    counts |= {
        "orders_created": history.orders + len(opened.created), "historical": history.orders,
        "open": len(opened.created), "lines": history.lines + int((~historical).sum()),
        "backordered": int((statuses == "backordered").sum()), "on_hold": int((statuses == "on_hold").sum()),
        "pending_review": int((statuses == "pending_review").sum()),
        "customers_created": resolution.created, "customers_matched": resolution.matched,
        "merges": len(resolution.merges), "movements": history.movements, "walk_in": int((~named).sum()),
    }
    return _Outcome(counts, failed, resolution.merges)


# --- stored issues ---------------------------------------------------------------------------


def _source_rows(p: Prepared, keys: set[tuple[str, int]]) -> dict[tuple[str, int], dict[str, str]]:
    """The source row (all its columns, as text) behind each (file, row): the joined row for
    staged lines, the file's own row for rows that could not be joined. The header row of a
    multi-file order has none: its reasons travel with the order's lines (quarantine_rows)."""
    if not keys:
        return {}
    staged = p.staged.frame
    wanted = [(f, int(r), pos) for f, r, pos in zip(staged["_file"], staged["_row"], staged["_pos"], strict=True)
              if (f, int(r)) in keys]
    lines = {(f, r) for f, r, _ in wanted}
    headers = {(f, int(r)) for f, r in zip(staged["_ofile"], staged["_orow"], strict=True)} - lines
    keys = keys - headers
    found: dict[tuple[str, int], dict[str, str]] = {}
    if wanted:
        records = p.staged.source.iloc[[pos for _, _, pos in wanted]].to_dict("records")
        found.update({(f, r): rec for (f, r, _), rec in zip(wanted, records, strict=True)})
    for table in p.staged.tables:
        rows = sorted({r for f, r in keys if f == table.name and (f, r) not in found and r in table.frame.index})
        if rows:
            found.update({(table.name, r): rec for r, rec in zip(rows, table.frame.loc[rows].to_dict("records"),
                                                                  strict=True)})
    return {k: {str(c): "" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v) for c, v in rec.items()}
            for k, rec in found.items()}


def _store_issues(session: Session, batch_id: int, p: Prepared, failed: set[str]) -> None:
    """Every issue as an ``import_errors`` row; rows of a failed unit without an issue of their
    own are stored too (reason ``order_failed``), so the quarantine download holds whole orders.
    ``raw`` keeps the source row (to download and fix) and the reason code (to translate)."""
    issues = list(p.issues)
    if failed and len(p.frame):
        own = {(i.file, i.row) for i in issues if i.severity == "error"}
        sib = p.frame[p.frame[p.unit_column].isin(failed)]
        issues += [Issue("order_failed", "external_ref", f, int(r), None, None, "", "error",
                         ref if p.options.kind == "orders" else None)
                   for f, r, ref in zip(sib["_file"], sib["_row"],
                                        sib["external_ref"] if "external_ref" in sib.columns else sib["_unit"],
                                        strict=True)
                   if (f, int(r)) not in own]
    sources = _source_rows(p, {(i.file, i.row) for i in issues if i.severity == "error" and i.row is not None})
    rows = [dict(batch_id=batch_id, row=i.row or 0, field=i.field[:64], value=i.value, message=i.message(),
                 raw={"code": i.code, "severity": i.severity, "file": i.file, "column": i.column,
                      "detail": i.detail, "order": i.order,
                      "source": sources.get((i.file, i.row)) if i.severity == "error" and i.row is not None else None})
            for i in issues]
    for start in range(0, len(rows), 5000):
        session.execute(insert(ImportError_), rows[start:start + 5000])


# --- batches ---------------------------------------------------------------------------------


_VIEW = ("order.import", "stock.import", "dq.view")


@read_only
def list_batches(session: Session, actor: Actor, limit: int = 200) -> pd.DataFrame:
    """The latest import attempts, newest first (BATCH_COLUMNS)."""
    _require_any(actor, _VIEW)
    rows = session.execute(
        select(ImportBatch.id, ImportBatch.created_at, ImportBatch.kind, Channel.code, ImportBatch.file_name,
               ImportBatch.profile, ImportBatch.status, ImportBatch.rows, ImportBatch.accepted,
               ImportBatch.rejected, ImportBatch.stats, ImportBatch.created_by, ImportBatch.message)
        .outerjoin(Channel, Channel.id == ImportBatch.channel_id)
        .order_by(ImportBatch.id.desc()).limit(limit)
    ).all()
    frame = pd.DataFrame(rows, columns=[*BATCH_COLUMNS[:10], "stats", "created_by", "message"])
    frame.insert(10, "skipped", [int((s or {}).get("skipped", 0)) for s in frame["stats"]])
    return frame.drop(columns=["stats"])


@dataclass(frozen=True)
class BatchDetail:
    batch: dict[str, Any]
    issues: pd.DataFrame
    merges: pd.DataFrame


@read_only
def batch_issues(session: Session, batch_id: int, actor: Actor, lang: str = "en") -> BatchDetail:
    """One batch: its record, every stored issue (reasons in ``lang``) and its customer merges."""
    _require_any(actor, _VIEW)
    batch = session.get(ImportBatch, batch_id)
    if batch is None:
        raise NotFound(f"no import batch {batch_id}", batch_id=batch_id)
    record = {c.key: getattr(batch, c.key) for c in ImportBatch.__table__.columns}
    stored = session.execute(select(ImportError_).where(ImportError_.batch_id == batch_id)
                             .order_by(ImportError_.id)).scalars().all()
    frame = issues_frame([_stored_issue(e) for e in stored], lang)
    merges = pd.DataFrame((batch.stats or {}).get("merges") or [])
    return BatchDetail(record, frame, merges)


def _stored_issue(e: ImportError_) -> Issue:
    raw = e.raw or {}
    return Issue(raw.get("code", "stored"), e.field or "", raw.get("file", ""), e.row or None, raw.get("column"),
                 e.value, raw.get("detail", ""), raw.get("severity", "error"), raw.get("order"))


@read_only
def quarantine_rows(session: Session, batch_id: int, actor: Actor, lang: str = "en") -> pd.DataFrame:
    """The rows a batch did not import because of errors, in their source columns plus an
    ``errors`` column (reasons in ``lang``): fix them in a spreadsheet and import the file again
    with the same profile."""
    _require_any(actor, _VIEW)
    stored = session.execute(select(ImportError_).where(ImportError_.batch_id == batch_id)
                             .order_by(ImportError_.id)).scalars().all()
    if not stored and session.get(ImportBatch, batch_id) is None:
        raise NotFound(f"no import batch {batch_id}", batch_id=batch_id)
    rows: dict[tuple[str, int], dict[str, Any]] = {}
    reasons: dict[tuple[str, int], list[str]] = {}
    orders: dict[tuple[str, int], str] = {}
    by_order: dict[str, list[str]] = {}  # reasons stated on an order's header row (multi-file exports)
    for e in stored:
        raw = e.raw or {}
        if raw.get("severity") != "error":
            continue
        issue = _stored_issue(e)
        text = (f"{issue.field}: " if issue.code != "order_failed" else "") + issue.message(lang)
        if not raw.get("source"):
            if issue.order:
                by_order.setdefault(issue.order, []).append(text)
            continue
        key = (issue.file, e.row)
        rows.setdefault(key, raw["source"])
        reasons.setdefault(key, []).append(text)
        if issue.order:
            orders[key] = issue.order
    if not rows:
        return pd.DataFrame(columns=["errors"])
    keys = sorted(rows)
    frame = pd.DataFrame([rows[k] for k in keys]).fillna("")
    frame["errors"] = ["; ".join(dict.fromkeys(reasons[k] + by_order.get(orders.get(k, ""), []))) for k in keys]
    return frame


# --- profiles --------------------------------------------------------------------------------


@read_only
def list_profiles(session: Session, actor: Actor, kind: str | None = None) -> pd.DataFrame:
    """Shipped and saved profiles ``[name, kind, source, description, updated_by, updated_at]``."""
    _require_any(actor, ("order.import", "stock.import"))
    rows: list[list[Any]] = [[p.name, p.kind, "shipped", p.description, None, None] for p in profiles.shipped().values()]
    for r in session.execute(select(ImportProfile).order_by(ImportProfile.name)).scalars():
        rows.append([r.name, r.kind, "saved", (r.definition or {}).get("description", ""), r.updated_by,
                     r.updated_at])
    frame = pd.DataFrame(rows, columns=["name", "kind", "source", "description", "updated_by", "updated_at"])
    return frame[frame["kind"] == kind].reset_index(drop=True) if kind else frame


@read_only
def load_profile(session: Session, name_or_path: str) -> Profile:
    """A profile by file path, else by saved name, else by shipped name (``--profile``)."""
    path = Path(name_or_path)
    if path.suffix.lower() in (".yaml", ".yml") and path.is_file():
        return profiles.load_file(path)
    row = session.execute(select(ImportProfile).where(ImportProfile.name == name_or_path)).scalar_one_or_none()
    if row is not None:
        return profiles.from_dict(row.definition)
    shipped = profiles.shipped()
    if name_or_path in shipped:
        return shipped[name_or_path]
    raise NotFound(f"no import profile {name_or_path!r} (names: {', '.join(sorted(shipped))}, or a .yaml path)",
                   name=name_or_path)


def default_profile(kind: str) -> Profile:
    """The shipped profile of the generic OMS format for ``kind``."""
    return profiles.shipped()[f"generic-{kind}"]


@unit_of_work
def save_profile(session: Session, profile: Profile, actor: Actor, *, overwrite: bool = True) -> Profile:
    """Save a user profile where the CLI's ``--profile NAME`` finds it (``import_profiles``).
    An existing profile of that name is replaced only with ``overwrite`` (the page asks
    first); shipped names are reserved: copy one under a new name. A name is a plain word
    (letters, digits, ``_ . -``) so it can also be a file name (the YAML download)."""
    require(actor, KIND_PERMISSION[profile.kind])
    checked = profiles.from_dict(profile.to_dict())  # the same validation a YAML file gets
    if not NAME_PATTERN.match(checked.name):
        raise ValidationError([FieldIssue("profile.name", "imh.issue.profile_name", value=checked.name,
                                          params={"name": checked.name})])
    if checked.name in profiles.shipped():
        raise Conflict.coded("imh.builtin_profile", name=checked.name)
    row = session.execute(select(ImportProfile).where(ImportProfile.name == checked.name)
                          .with_for_update()).scalar_one_or_none()
    before = row.definition if row is not None else None
    if row is not None and row.kind != checked.kind:
        raise Conflict.coded("imh.profile_other_kind", name=checked.name, kind=row.kind)
    if row is not None and not overwrite:
        raise Refused("imh.overwrite_needed", name=checked.name)
    definition = checked.to_dict()
    if row is None:
        session.add(ImportProfile(name=checked.name, kind=checked.kind, definition=definition,
                                  updated_at=utcnow(), updated_by=actor.username))
    else:
        row.definition, row.updated_at, row.updated_by = definition, utcnow(), actor.username
    session.flush()
    audit.record(session, actor, "import_profile.save", "import_profile", checked.name, before=before,
                 after=definition)
    return checked


@unit_of_work
def delete_profile(session: Session, name: str, actor: Actor) -> None:
    row = session.execute(select(ImportProfile).where(ImportProfile.name == name)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no saved import profile {name!r}", name=name)
    require(actor, KIND_PERMISSION[row.kind])
    audit.record(session, actor, "import_profile.delete", "import_profile", name, before=row.definition)
    session.delete(row)


def profile_yaml(profile: Profile) -> str:
    """A profile as a YAML file (download, edit, pass to ``oms import --profile``)."""
    return profiles.to_yaml(profile)


def profile_from_yaml(text: str) -> Profile:
    return profiles.from_yaml(text)


def profile_from_dict(definition: dict[str, Any]) -> Profile:
    """A profile from the editor's form (the same validation a YAML file gets)."""
    return profiles.from_dict(definition)


def new_profile(kind: str) -> Profile:
    """An empty, unnamed profile of ``kind``: the editor's starting point."""
    return profiles.default_for(kind)

