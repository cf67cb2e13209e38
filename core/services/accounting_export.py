"""The accountant's export (issue 21): the daily journal of sales, cost of goods, refunds, fees
and cash / receivable movements as balanced vouchers (``core.domain.journal``), written in a
generic CSV/XLSX layout or a 金蝶 / 用友 voucher-import layout, with the shop's account mapping.

Every export marks its days (``journal_exports``: layout, checksum of the day's journal, who,
when). Exporting a day already exported is refused unless the caller says ``again=True`` (the
page asks for a confirmation) — an accountant importing a day twice books it twice. A day whose
journal changed after its export (a late shipment, a new refund, a statement imported later)
is flagged by :func:`exported_days` on the Finance page and raised as an alert by the
worker's daily check (:func:`alert_changed_exports`).

The journal's figures are the finance views' (``finance_views.daily_cents``), so the export
ties to the Finance page to the cent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from core import audit
from core.db import read_only, unit_of_work
from core.domain import journal
from core.errors import (
    FieldIssue,
    Message,
    Refused,
    ValidationError,
    stored,
)
from core.exports import to_csv_bytes, to_xlsx_bytes
from core.i18n import translate
from core.jobs import kinds
from core.models import AccountMapping, Alert, JournalExport, JournalFile
from core.permissions import Actor, require
from core.services import jobs
from core.services.finance_views import MAX_DAYS, daily_cents, direct_cents
from core.timeutil import local_day_start_utc, local_today, utcnow

ENTRIES, LAYOUTS = journal.ENTRIES, journal.LAYOUTS  # for the page (pages do not import core.domain)
MAPPING_COLUMNS = ["entry", "code", "name", "default_code", "default_name"]
EXPORT_COLUMNS = ["day", "layout", "exported_at", "exported_by", "changed"]
ALERT_KIND = "journal_changed"
JOB_DAYS = 31  # a longer range is built by a background job (a year took 9–17 s on a loaded machine)


@dataclass(frozen=True)
class VoucherFile:
    """One export: the file's name and bytes, and what it holds."""

    name: str
    data: bytes
    days: int
    vouchers: int
    debit: int  # total debits in cents (= total credits)
    again: tuple[dt.date, ...]  # days that had been exported before


def _accounts(session: Session) -> dict[str, tuple[str, str]]:
    stored = {e: (c, n) for e, c, n in session.execute(
        select(AccountMapping.entry, AccountMapping.code, AccountMapping.name)).all()}
    return {entry: stored.get(entry, journal.DEFAULT_ACCOUNTS[entry]) for entry in journal.ENTRIES}


@read_only
def account_mapping(session: Session, actor: Actor) -> pd.DataFrame:
    """:data:`MAPPING_COLUMNS`: the account each journal entry books to, beside its default."""
    require(actor, "finance.view")
    accounts = _accounts(session)
    return pd.DataFrame([(e, *accounts[e], *journal.DEFAULT_ACCOUNTS[e]) for e in journal.ENTRIES],
                        columns=MAPPING_COLUMNS)


@unit_of_work
def set_account_mapping(session: Session, accounts: Mapping[str, tuple[str, str]], actor: Actor) -> None:
    """Store the shop's account code and name for the given entries (the rest keep theirs).
    Refused with the entry and why for an unknown entry, an empty or over-long code or name, or a
    code that is not digits (金蝶 and 用友 科目代码 are digits, levels joined with dots)."""
    require(actor, "finance.export")
    issues = []
    for row, (entry, (code, name)) in enumerate(accounts.items(), start=1):
        code, name = (code or "").strip(), (name or "").strip()
        if entry not in journal.ENTRIES:
            issues.append(FieldIssue("entry", "fin_export.unknown_entry", row, entry))
        if not code or not name:
            issues.append(FieldIssue("code" if not code else "name", "issue.required", row, entry))
        elif len(code) > journal.MAX_CODE or len(name) > journal.MAX_NAME:
            issues.append(FieldIssue("code" if len(code) > journal.MAX_CODE else "name", "fin_export.too_long", row,
                                     code if len(code) > journal.MAX_CODE else name,
                                     params={"limit": journal.MAX_CODE if len(code) > journal.MAX_CODE
                                             else journal.MAX_NAME}))
        elif not code.replace(".", "").isdigit():
            issues.append(FieldIssue("code", "fin_export.code_digits", row, code))
    if issues:
        raise ValidationError(issues)
    before = _accounts(session)
    clean = {entry: (code.strip(), name.strip()) for entry, (code, name) in accounts.items()}
    session.execute(delete(AccountMapping).where(AccountMapping.entry.in_(list(clean))))
    session.execute(insert(AccountMapping), [
        {"entry": e, "code": c, "name": n, "updated_by": actor.username, "updated_at": utcnow()}
        for e, (c, n) in clean.items()])
    audit.record(session, actor, "finance.set_accounts", "account_mapping", None,
                 {e: list(before[e]) for e in clean}, {e: list(v) for e, v in clean.items()})


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    """The local days ``start..end`` — refused (field, why) past today or beyond :data:`MAX_DAYS`."""
    if end < start:
        raise ValidationError([FieldIssue("end", "fin_export.end_before_start", value=end.isoformat())])
    if end > local_today():
        raise ValidationError([FieldIssue("end", "fin_export.future", value=end.isoformat())])
    count = (end - start).days + 1
    if count > MAX_DAYS:
        raise ValidationError([FieldIssue("start", "rb.between", value=count, params={"low": 1, "high": MAX_DAYS})])
    return [start + dt.timedelta(days=i) for i in range(count)]


def _lines(session: Session, start: dt.date, end: dt.date) -> pd.DataFrame:
    """The journal of the local days ``start..end`` in cents (every channel: the books are whole)."""
    stop = local_day_start_utc(end + dt.timedelta(days=1)) - dt.timedelta(microseconds=1)
    since = local_day_start_utc(start)
    daily = daily_cents(session, since, stop).merge(direct_cents(session, since, stop), on=["day", "channel"],
                                                    how="outer")
    lines = journal.journal_lines(daily.fillna(0))
    if journal.unbalanced(lines):  # never, by construction: a guard against a future posting
        raise Refused("fin_export.unbalanced")
    return lines


def _summary(lang: str) -> journal.Summary:
    return lambda kind, channel, day: translate(f"fin_voucher.{kind}", lang, channel=channel, day=day.isoformat())


@read_only
def journal_preview(session: Session, actor: Actor, start: dt.date, end: dt.date, *, lang: str = "zh") -> pd.DataFrame:
    """The journal of ``start..end`` in the generic layout (what an export of it would hold)."""
    require(actor, "finance.view")
    _days(start, end)
    lines = _lines(session, start, end)
    return journal.voucher_file(lines, "generic_csv", _accounts(session), _summary(lang), actor.username)


def _latest_exports(session: Session, days: list[dt.date] | None = None) -> pd.DataFrame:
    latest = (select(JournalExport.day, func.max(JournalExport.id).label("id")).group_by(JournalExport.day)
              .where(JournalExport.day.in_(days) if days is not None else JournalExport.day.is_not(None))
              .subquery())
    rows = session.execute(select(JournalExport.day, JournalExport.layout, JournalExport.at, JournalExport.actor,
                                  JournalExport.checksum).join(latest, latest.c.id == JournalExport.id)
                           .order_by(JournalExport.day)).all()
    return pd.DataFrame(rows, columns=["day", "layout", "exported_at", "exported_by", "checksum"])


@unit_of_work
def export_journal(session: Session, start: dt.date, end: dt.date, layout: str, actor: Actor, *,
                   again: bool = False, lang: str = "zh") -> VoucherFile:
    """The voucher file of the local days ``start..end`` in ``layout``
    (:data:`core.domain.journal.LAYOUTS`), and every day of it marked exported (audited).

    Refused (``fin_export.already_exported``, with the days) when a day was exported before,
    unless ``again``: the accountant would book it twice."""
    days, done = _checked(session, start, end, layout, actor, again)
    lines = _lines(session, start, end)
    rows = journal.voucher_file(lines, layout, _accounts(session), _summary(lang), actor.username)
    data = to_csv_bytes(rows) if layout == "generic_csv" else to_xlsx_bytes(rows, "凭证" if layout in (
        "kingdee", "yonyou") else "journal")
    now = utcnow()
    checksums = journal.day_checksums(lines, days)
    session.execute(insert(JournalExport), [
        {"day": day, "layout": layout, "checksum": checksums[day], "actor": actor.username, "at": now}
        for day in days])
    vouchers = int(lines[["day", "voucher"]].drop_duplicates().shape[0])
    debit = int(lines["debit"].sum())
    audit.record(session, actor, "finance.export_journal", "journal", f"{start.isoformat()}..{end.isoformat()}",
                 None, {"layout": layout, "days": len(days), "vouchers": vouchers, "debit_cents": debit,
                        "again": [d.isoformat() for d in done]})
    suffix = "csv" if layout == "generic_csv" else "xlsx"
    return VoucherFile(f"journal_{start:%Y%m%d}_{end:%Y%m%d}_{layout}.{suffix}", data, len(days), vouchers, debit,
                       done)


def _checked(session: Session, start: dt.date, end: dt.date, layout: str, actor: Actor,
             again: bool) -> tuple[list[dt.date], tuple[dt.date, ...]]:
    """An export's checks: the right, the layout, the range, and the days exported before
    (refused unless ``again``). Returns the days and those exported before."""
    require(actor, "finance.export")
    if layout not in journal.LAYOUTS:
        raise ValidationError([FieldIssue("layout", "fin_export.unknown_layout", value=layout)])
    days = _days(start, end)
    done = tuple(sorted(_latest_exports(session, days)["day"]))
    if done and not again:
        shown = ", ".join(d.isoformat() for d in done[:5]) + (" …" if len(done) > 5 else "")
        raise Refused("fin_export.already_exported", days=shown, count=len(done))
    return days, done


@read_only
def _check_export(session: Session, start: dt.date, end: dt.date, layout: str, actor: Actor, again: bool) -> None:
    _checked(session, start, end, layout, actor, again)


def start_export(start: dt.date, end: dt.date, layout: str, actor: Actor, *, again: bool = False,
                 lang: str = "zh") -> int:
    """The export of a long range as a background job (:data:`core.jobs.kinds.JOURNAL`): the
    same checks now (so a refusal shows at once), the file kept with the job
    (:func:`job_file`). Returns the job's id."""
    _check_export(start, end, layout, actor, again)
    return jobs.submit(kinds.JOURNAL, {"start": start.isoformat(), "end": end.isoformat(), "layout": layout,
                                       "again": again, "lang": lang}, actor, "finance.export")


@unit_of_work
def export_to_job(session: Session, job_id: int, start: dt.date, end: dt.date, layout: str, actor: Actor, *,
                  again: bool = False, lang: str = "zh") -> VoucherFile:
    """The job's work: :func:`export_journal` and its file stored with the job, one transaction
    (a worker killed half-way leaves neither marks nor file, and the retry starts clean)."""
    result = export_journal(start, end, layout, actor, again=again, lang=lang, session=session)
    session.add(JournalFile(job_id=job_id, name=result.name, data=result.data, at=utcnow()))
    return result


@read_only
def job_file(session: Session, job_id: int, actor: Actor) -> tuple[str, bytes] | None:
    """The voucher file an export job built (None while it has none)."""
    require(actor, "finance.export")
    found = session.execute(select(JournalFile.name, JournalFile.data).where(JournalFile.job_id == job_id)).first()
    return None if found is None else (found.name, bytes(found.data))


@read_only
def exported_days(session: Session, actor: Actor, *, changed_only: bool = False) -> pd.DataFrame:
    """:data:`EXPORT_COLUMNS`: each exported day's latest export and whether its journal has
    changed since (``changed``): the days the accountant must correct or import again."""
    require(actor, "finance.view")
    latest = _latest_exports(session)
    if latest.empty:
        return pd.DataFrame(columns=EXPORT_COLUMNS)
    now: dict[dt.date, str] = {}
    days = sorted(latest["day"])
    chunk_start = 0
    while chunk_start < len(days):  # the journal of at most MAX_DAYS days at a time
        first = days[chunk_start]
        chunk = [d for d in days[chunk_start:] if (d - first).days < MAX_DAYS]
        now.update(journal.day_checksums(_lines(session, first, chunk[-1]), chunk))
        chunk_start += len(chunk)
    latest["changed"] = [now[d] != c for d, c in zip(latest["day"], latest["checksum"], strict=True)]
    if changed_only:
        latest = latest[latest["changed"]]
    return latest[EXPORT_COLUMNS].reset_index(drop=True)


@unit_of_work
def alert_changed_exports(session: Session, actor: Actor) -> int:
    """The daily check: one ``journal_changed`` alert (Alerts page) per exported day whose
    journal changed since its latest export; an export is alerted once (exporting the day
    again clears the flag and a later change alerts anew). Returns the alerts raised."""
    require(actor, "finance.export")
    changed = exported_days(actor, changed_only=True, session=session)
    if changed.empty:
        return 0
    ids = dict(session.execute(select(JournalExport.day, func.max(JournalExport.id))
                               .where(JournalExport.day.in_(list(changed["day"]))).group_by(JournalExport.day)).all())
    alerted = set(session.execute(select(Alert.entity_id).where(Alert.kind == ALERT_KIND)).scalars())
    fresh = [(day, ids[day]) for day in changed["day"] if str(ids[day]) not in alerted]
    if fresh:
        now = utcnow()
        session.execute(insert(Alert), [dict(
            kind=ALERT_KIND, severity="warning", entity="journal_export", entity_id=str(export_id),
            **stored("message", Message("alert_msg.journal_changed", {"day": day.isoformat()})), created_at=now,
            acknowledged_by=None, acknowledged_at=None, resolved_at=None) for day, export_id in fresh])
    return len(fresh)
