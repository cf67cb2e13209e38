"""Settlement reconciliation: payout statements matched to payments and refunds (issue 21).

Statements come in through the one import service (kind ``settlements``, profiles in
``data/profiles``): read → stage → validate with row, field and reason → :func:`write_lines`
in the import's transaction, which also re-matches the statement's channel. Matching itself is
pure (:mod:`core.domain.settlement_match`); here it is loaded, run and written:

- every run matches a channel's lines and payments **from scratch** (deterministic; a payment
  recorded after its payout line simply matches next time) and writes only what changed;
- unresolved differences are replaced by the run's; a **resolved** difference (who, when, why —
  :func:`resolve_difference`, audited) is kept and not raised again;
- :func:`daily_reconciliation` (the worker, daily) re-matches every channel and raises an alert
  for each open difference whose money moved more than ``finance.alert_days`` days ago.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from core import audit, refdata
from core.analytics.sqltime import epoch_seconds
from core.db import read_only, unit_of_work
from core.domain import settlement_match as rules
from core.domain.money import from_cents
from core.errors import (
    Conflict,
    FieldIssue,
    Message,
    NotFound,
    ValidationError,
    stored,
)
from core.importing.bulk import Cents, Same, insert_columns
from core.models import Alert, Channel, Order, Payment, SettlementDifference, SettlementLine, cents
from core.permissions import SYSTEM, Actor, require
from core.timeutil import utcnow

DEFAULT_ALERT_DAYS = 7
MAX_REASON = 500
ALERT_KIND = "unmatched_money"
_L, _D, _P = SettlementLine.__table__, SettlementDifference.__table__, Payment.__table__
_DAY = 86_400
CHUNK = 20_000
PG_CHUNK = 100_000  # lines per PostgreSQL update (three arrays of this length travel as parameters)
SQLITE_CACHE_KIB = 256 * 1024
KEY_CHUNK = 500  # order references per look-up query (bound parameters stay well below SQLite's limit)


# --- import step -----------------------------------------------------------------------------


def write_lines(session: Session, rows: pd.DataFrame, *, channel_ids: dict[str, int], batch_id: int) -> dict[str, int]:
    """Store a validated statement (``rows``: the staged settlement frame) and re-match its
    channels. A step inside ``run_import``'s transaction (which checked ``finance.import``)."""
    amount = rows["amount_v"].to_numpy(dtype=float)
    kind = rows["kind_v"].where(rows["kind_v"].notna(), pd.Series(np.where(amount < 0, "refund", "payment"),
                                                                    index=rows.index))
    gross = np.abs(amount)
    # as the statement says: a refund row's negative commission is commission given back
    fee = rows["fee_v"].fillna(0).to_numpy(dtype=float)
    commission = rows["commission_v"].fillna(0).to_numpy(dtype=float)
    sign = np.where(kind.to_numpy() == "refund", -1.0, 1.0)
    net = rows["net_v"].where(rows["net_v"].notna(), pd.Series(sign * gross - fee - commission, index=rows.index))
    channel = rows["channel_v"].map(channel_ids)
    insert_columns(session.connection(), _L, {
        "batch_id": Same(batch_id), "row": rows["_row"].astype(int).tolist(), "channel_id": channel.tolist(),
        "kind": kind.tolist(), "provider_ref": rows["provider_ref"].tolist(), "order_ref": rows["order_ref"].tolist(),
        "amount": Cents(pd.Series(gross)), "fee": Cents(pd.Series(fee)), "commission": Cents(pd.Series(commission)),
        "net": Cents(net.astype(float)), "settled_at": rows["settled_at_v"],
        "note": rows["note"].map(lambda v: v[:200] if isinstance(v, str) else None).tolist(),
        "payment_id": Same(None), "matched_by": Same(None),
    })
    counts = rematch(session, sorted(set(channel.astype(int))))
    return {"settlement_lines": len(rows)} | counts


# --- matching --------------------------------------------------------------------------------


def _columns(conn: Connection, stmt: Any, columns: list[str]) -> pd.DataFrame:
    """A query's rows as columns, straight from the driver's cursor: a million rows through
    SQLAlchemy's Row objects and pandas' per-row probing cost seconds; plain tuples transposed
    by ``zip`` cost a fraction (only integers and strings are read: days and cents are computed
    by the database)."""
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    args = tuple(params[k] for k in compiled.positiontup or ()) if compiled.positional else params
    rows = conn.exec_driver_sql(compiled.string, args).cursor.fetchall()
    data = list(zip(*rows, strict=True))
    # text stays numpy objects: pandas' default Arrow strings cost a conversion at every lookup
    return pd.DataFrame({c: pd.Series(data[i] if data else [], dtype=object) if c in _TEXT else
                         np.array(data[i] if data else [], dtype=np.int64) for i, c in enumerate(columns)})


_TEXT = {"kind", "provider_ref", "order_ref", "key", "external_ref"}


def _day(column: Any, dialect: str) -> Any:
    """Whole UTC days since 1970-01-01, computed by the database."""
    return epoch_seconds(column, dialect) // _DAY


def _load(conn: Connection, channel_ids: list[int]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The channels' statement lines and succeeded payments, and the orders named by the
    ``order_ref`` of lines whose transaction number names no payment (looked up by chunks of
    references, not loaded whole)."""
    o, dialect = Order.__table__, conn.dialect.name
    lines = _columns(conn, select(
        _L.c.id, _L.c.channel_id, _L.c.kind, _L.c.provider_ref, _L.c.order_ref, cents(_L.c.amount),
        cents(_L.c.fee + _L.c.commission), _day(_L.c.settled_at, dialect), func.coalesce(_L.c.payment_id, -1))
        .where(_L.c.channel_id.in_(channel_ids)), [*rules.LINE_COLUMNS, "payment_id"])
    payments = _columns(conn, select(
        _P.c.id, _P.c.order_id, o.c.channel_id, _P.c.kind, _P.c.provider_ref, cents(_P.c.amount),
        _day(_P.c.at, dialect))
        .join(o, o.c.id == _P.c.order_id)
        .where(o.c.channel_id.in_(channel_ids), _P.c.status == "succeeded"), rules.PAYMENT_COLUMNS)
    wanted = lines.loc[rules.by_provider_ref(lines, payments) < 0, "order_ref"].dropna().unique().tolist()
    keys = [_columns(conn, select(o.c.id, o.c.channel_id, o.c.number, o.c.external_ref)
                     .where(o.c.channel_id.in_(channel_ids),
                            or_(o.c.number.in_(chunk), o.c.external_ref.in_(chunk))),
                     ["order_id", "channel_id", "key", "external_ref"])
            for chunk in (wanted[i:i + KEY_CHUNK] for i in range(0, len(wanted), KEY_CHUNK))]
    found = pd.concat(keys, ignore_index=True) if keys else \
        pd.DataFrame({c: [] for c in ["order_id", "channel_id", "key", "external_ref"]})
    order_keys = pd.concat([found[rules.ORDER_KEY_COLUMNS],
                            found[["order_id", "channel_id", "external_ref"]].dropna()
                            .set_axis(rules.ORDER_KEY_COLUMNS, axis=1)], ignore_index=True)
    return lines, payments, order_keys


def rematch(session: Session, channel_ids: list[int], window_days: int = rules.DEFAULT_WINDOW_DAYS) -> dict[str, int]:
    """Match the lines and payments of ``channel_ids`` from scratch and store the result: the
    lines' payment, and the open differences (resolved ones are kept). A step inside the
    caller's transaction, which checked its permission."""
    if not channel_ids:
        return {"matched": 0, "differences": 0}
    conn = session.connection()
    with _big_cache(conn):
        lines, payments, order_keys = _load(conn, channel_ids)
        result = rules.match(lines[rules.LINE_COLUMNS], payments, order_keys, window_days=window_days)
        _store_pairs(conn, lines, result.pairs)
        found = _store_differences(conn, channel_ids, result.differences)
    return {"matched": len(result.pairs), "differences": found}


@contextmanager
def _big_cache(conn: Connection) -> Iterator[None]:
    """SQLite's page cache (2 MB by default) raised for one run: a million line updates in one
    transaction touch the table and its payment index far beyond 2 MB, and pages evicted from
    the cache are read back again and again. Restored afterwards (the connection is pooled)."""
    if conn.dialect.name != "sqlite":
        yield
        return
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar_one()
    conn.exec_driver_sql(f"PRAGMA cache_size = {-SQLITE_CACHE_KIB}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size = {int(before)}")


def _store_pairs(conn: Connection, lines: pd.DataFrame, pairs: pd.DataFrame) -> None:
    """Write each line's payment and how it matched — only for lines whose match changed —
    through the driver in chunks: compiling parameters per row through SQLAlchemy would cost
    more than the updates themselves (the table and column names are ours, not input).
    SQLite takes an ``executemany`` of updates by id; PostgreSQL one update per chunk joined
    to the chunk's arrays (an executemany there is a round trip per line)."""
    ids = lines["id"].to_numpy(np.int64)
    at = pd.Index(ids).get_indexer(pairs["line_id"].to_numpy(np.int64))
    after = np.full(len(ids), -1, dtype=np.int64)
    after[at] = pairs["payment_id"].to_numpy(np.int64)
    how = np.full(len(ids), None, dtype=object)
    how[at] = pairs["matched_by"].to_numpy(dtype=object)
    changed = np.flatnonzero(after != lines["payment_id"].to_numpy(np.int64))
    pids = [p if p >= 0 else None for p in after[changed].tolist()]
    hows, line_ids = how[changed].tolist(), ids[changed].tolist()
    if conn.dialect.name == "postgresql":
        sql = (f"UPDATE {_L.name} AS l SET payment_id = v.p, matched_by = v.m "
               "FROM unnest(%s::bigint[], %s::bigint[], %s::text[]) AS v(i, p, m) WHERE l.id = v.i")
        for start in range(0, len(line_ids), PG_CHUNK):
            end = start + PG_CHUNK
            conn.exec_driver_sql(sql, (line_ids[start:end], pids[start:end], hows[start:end]))
        return
    sql = f"UPDATE {_L.name} SET payment_id = ?, matched_by = ? WHERE id = ?"
    records = list(zip(pids, hows, line_ids, strict=True))
    for start in range(0, len(records), CHUNK):
        conn.exec_driver_sql(sql, records[start:start + CHUNK])


def _store_differences(conn: Connection, channel_ids: list[int], diffs: pd.DataFrame) -> int:
    """Keep each difference's row (its id, which alerts name, and when it was first found) while
    a run still finds it; delete the open ones no longer found; add the new ones. A resolved
    difference stays resolved."""
    stored = {(k, -1 if line is None else line, -1 if pay is None else pay): (did, done) for did, k, line, pay, done
              in conn.execute(select(_D.c.id, _D.c.kind, _D.c.line_id, _D.c.payment_id, _D.c.resolved_at)
                              .where(_D.c.channel_id.in_(channel_ids)))}
    found = list(zip(diffs["kind"], diffs["line_id"].astype(np.int64).tolist(),
                     diffs["payment_id"].astype(np.int64).tolist(), strict=True))
    now_found = set(found)
    gone = sorted(did for key, (did, done) in stored.items() if done is None and key not in now_found)
    for start in range(0, len(gone), CHUNK):
        conn.execute(delete(_D).where(_D.c.id.in_(gone[start:start + CHUNK])))
    diffs = diffs[np.array([key not in stored for key in found], dtype=bool)] if found else diffs
    if diffs.empty:
        return sum(1 for key in found if stored.get(key, (0, None))[1] is None)
    insert_columns(conn, _D, {
        "kind": diffs["kind"].tolist(), "channel_id": diffs["channel_id"].tolist(),
        "line_id": [i if i >= 0 else None for i in diffs["line_id"].astype(np.int64).tolist()],
        "payment_id": [i if i >= 0 else None for i in diffs["payment_id"].astype(np.int64).tolist()],
        "expected": Cents(diffs["expected"].astype(float)), "actual": Cents(diffs["actual"].astype(float)),
        "day": pd.Series((diffs["day"].to_numpy() * _DAY).astype("datetime64[s]")),
        "found_at": Same(utcnow()), "resolved_at": Same(None), "resolved_by": Same(None), "reason": Same(None),
    })
    return sum(1 for key in found if stored.get(key, (0, None))[1] is None)


@unit_of_work
def reconcile_settlements(session: Session, actor: Actor, window_days: int = rules.DEFAULT_WINDOW_DAYS
                          ) -> dict[str, int]:
    """Re-match every channel that has statement lines (e.g. after payments were recorded)."""
    require(actor, "finance.import")
    channels = sorted(session.execute(select(_L.c.channel_id).distinct()).scalars())
    return rematch(session, channels, window_days)


# --- differences -----------------------------------------------------------------------------

DIFFERENCE_VIEW = ["id", "kind", "channel", "day", "order", "reference", "expected", "actual", "difference",
                   "resolved_at", "resolved_by", "reason"]


@read_only
def list_differences(session: Session, actor: Actor, *, open_only: bool = True, channel: str | None = None,
                     kinds: list[str] | None = None, limit: int = 5000) -> pd.DataFrame:
    """The differences, newest money first: which order or statement line, what the orders
    say (``expected``), what the statement says (``actual``) and the difference."""
    require(actor, "finance.view")
    d, line, pay, o = _D, _L, _P, Order.__table__
    stmt = (select(d.c.id, d.c.kind, Channel.code, d.c.day, o.c.number, line.c.provider_ref, line.c.order_ref,
                   d.c.expected, d.c.actual, d.c.resolved_at, d.c.resolved_by, d.c.reason)
            .join(Channel, Channel.id == d.c.channel_id)
            .outerjoin(line, line.c.id == d.c.line_id)
            .outerjoin(pay, pay.c.id == func.coalesce(d.c.payment_id, line.c.payment_id))
            .outerjoin(o, o.c.id == pay.c.order_id)
            .order_by(d.c.day.desc(), d.c.id).limit(max(1, min(limit, 100_000))))
    if open_only:
        stmt = stmt.where(d.c.resolved_at.is_(None))
    if channel:
        stmt = stmt.where(Channel.code == channel)
    if kinds:
        stmt = stmt.where(d.c.kind.in_(kinds))
    rows = session.execute(stmt).all()
    frame = pd.DataFrame(rows, columns=["id", "kind", "channel", "day", "order", "provider_ref", "order_ref",
                                        "expected", "actual", "resolved_at", "resolved_by", "reason"])
    frame["reference"] = frame["provider_ref"].where(frame["provider_ref"].notna(), frame["order_ref"])
    frame["difference"] = [a - e for a, e in zip(frame["actual"], frame["expected"], strict=True)]
    frame = frame[DIFFERENCE_VIEW].astype(object)
    return frame.where(frame.notna(), None)


@unit_of_work
def resolve_difference(session: Session, difference_id: int, reason: str, actor: Actor) -> None:
    """Finance closes a difference with a reason (a platform penalty, a payout in next
    month's statement …): kept as resolved, never raised again, audited."""
    require(actor, "finance.resolve")
    text = (reason or "").strip()
    if not text:
        raise ValidationError([FieldIssue("reason", "issue.required")])
    if len(text) > MAX_REASON:
        raise ValidationError([FieldIssue("reason", "issue.too_long", value=text[:20] + "…", params={"n": MAX_REASON})])
    row = session.execute(select(_D).where(_D.c.id == difference_id).with_for_update()).first()
    if row is None:
        raise NotFound(f"no settlement difference {difference_id}", id=difference_id)
    if row.resolved_at is not None:
        raise Conflict.coded("fin.already_resolved", id=difference_id, by=row.resolved_by)
    now = utcnow()
    session.execute(update(_D).where(_D.c.id == difference_id).values(resolved_at=now, resolved_by=actor.username,
                                                                     reason=text))
    session.execute(update(Alert).where(Alert.kind == ALERT_KIND, Alert.entity_id == str(difference_id),
                                        Alert.resolved_at.is_(None)).values(resolved_at=now))
    audit.record(session, actor, "finance.resolve_difference", "settlement_difference", difference_id,
                 before={"kind": row.kind, "expected": row.expected, "actual": row.actual},
                 after={"reason": text})


@read_only
def settlement_summary(session: Session, actor: Actor) -> pd.DataFrame:
    """Per channel: statement lines, how many matched, gross, fees, commissions, net paid out
    and open differences."""
    require(actor, "finance.view")
    line = _L
    rows = session.execute(
        select(Channel.code, line.c.kind, line.c.payment_id.is_not(None), cents(line.c.amount), cents(line.c.fee),
               cents(line.c.commission), cents(line.c.net))
        .select_from(line).join(Channel, Channel.id == line.c.channel_id)).all()
    frame = pd.DataFrame(rows, columns=["channel", "kind", "matched", "amount", "fee", "commission", "net"])
    counts = pd.Series(dict(session.execute(
        select(Channel.code, func.count()).select_from(_D).join(Channel, Channel.id == _D.c.channel_id)
        .where(_D.c.resolved_at.is_(None)).group_by(Channel.code)).all()), dtype="int64")
    if frame.empty:
        return pd.DataFrame(columns=["channel", "lines", "matched", "gross", "fees", "commissions", "net",
                                     "open_differences"])
    out = frame.groupby("channel").agg(lines=("kind", "size"), matched=("matched", "sum"), gross=("amount", "sum"),
                                       fees=("fee", "sum"), commissions=("commission", "sum"), net=("net", "sum"))
    for column in ("gross", "fees", "commissions", "net"):
        out[column] = out[column].map(from_cents)
    out["open_differences"] = counts.reindex(out.index).fillna(0).astype(int)
    return out.reset_index()


# --- the daily run ---------------------------------------------------------------------------


def daily_reconciliation(now: dt.datetime | None = None) -> dict[str, int]:
    """The worker's daily run: re-match everything, then alert on old unmatched money."""
    counts = reconcile_settlements(SYSTEM)
    return counts | {"alerts": raise_overdue_alerts(SYSTEM, now=now)}


@unit_of_work
def raise_overdue_alerts(session: Session, actor: Actor, *, now: dt.datetime | None = None,
                         days: int | None = None) -> int:
    """One alert per open difference whose money moved more than ``days`` (the shop setting
    ``finance.alert_days``, default 7) ago; a difference already alerted is not alerted again."""
    require(actor, "finance.import")
    limit = days if days is not None else int(refdata.snapshot(session).setting("finance", "alert_days",
                                                                                DEFAULT_ALERT_DAYS))
    moment = now or utcnow()
    cutoff = moment - dt.timedelta(days=limit)
    alerted = set(session.execute(select(Alert.entity_id).where(Alert.kind == ALERT_KIND)).scalars())
    rows = [r for r in session.execute(
        select(_D.c.id, _D.c.kind, Channel.code, _D.c.expected, _D.c.actual, _D.c.day)
        .select_from(_D).join(Channel, Channel.id == _D.c.channel_id)
        .where(_D.c.resolved_at.is_(None), _D.c.day <= cutoff).order_by(_D.c.id)).all() if str(r.id) not in alerted]
    if rows:
        session.execute(insert(Alert), [dict(
            kind=ALERT_KIND, severity="warning", entity="settlement_difference", entity_id=str(r.id),
            **stored("message", Message("alert_msg.settlement_difference", {
                "channel": r.code, "kind": {"key": f"fin_kind.{r.kind}"}, "day": r.day.date().isoformat(),
                "expected": str(r.expected), "actual": str(r.actual)})),
            created_at=moment, acknowledged_by=None, acknowledged_at=None, resolved_at=None) for r in rows])
    return len(rows)
