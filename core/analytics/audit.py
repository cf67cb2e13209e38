"""Read-only queries over the audit trail: who changed what and when, and the before/after diff.

The audit log is written by every service in the same transaction as the change it records
(``core.audit.record``) and the database refuses to update or delete its rows (migration
0007), so what these queries show is what happened. Only ``audit.view`` may read it: rows can
carry customers' phones and addresses in their before/after values.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from core import paging
from core.analytics import _read
from core.errors import NotFound
from core.models import AuditLog, User
from core.permissions import Actor, require

ENTRY_COLUMNS = ["id", "at", "actor", "action", "entity", "entity_id", "changed"]
RAW_COLUMNS = ["id", "at", "actor", "action", "entity", "entity_id", "before", "after"]
DIFF_COLUMNS = ["field", "before", "after", "differs"]


@dataclass(frozen=True)
class AuditEntry:
    """One audit row with its changes laid out field by field."""

    id: int
    at: dt.datetime
    actor: str
    action: str
    entity: str
    entity_id: str | None  # as stored: the page's "history of this record" filters on it
    diff: pd.DataFrame  # DIFF_COLUMNS
    record: str | None = None  # the record as shown: a user by name, else the entity id


def _log_stmt(entity: str | None, entity_id: str | None, username: str | None, action: str | None,
              date_from: dt.datetime | None, date_to: dt.datetime | None) -> Select[*tuple[Any, ...]]:
    """The one statement behind the list, its count and its full download: newest first, the
    id breaking ties. Filter values are bound parameters (``entity_id`` is matched with LIKE
    escaping), so any text typed into the page is only ever data."""
    stmt = select(AuditLog.id, AuditLog.at, AuditLog.actor, AuditLog.action, AuditLog.entity, AuditLog.entity_id,
                  AuditLog.before, AuditLog.after)
    if entity:
        stmt = stmt.where(AuditLog.entity == entity)
    if entity_id and entity_id.strip():
        stmt = stmt.where(AuditLog.entity_id.contains(entity_id.strip(), autoescape=True))
    if username:
        stmt = stmt.where(AuditLog.actor == username)
    if action:
        stmt = stmt.where(AuditLog.action == action)
    if date_from is not None:
        stmt = stmt.where(AuditLog.at >= date_from)
    if date_to is not None:
        stmt = stmt.where(AuditLog.at < date_to)
    return stmt.order_by(AuditLog.at.desc(), AuditLog.id.desc())


@dataclass(frozen=True)
class _People:
    """Who the log's usernames and user ids are: people are shown by name ("张三"), not by login
    or by "user 7" (a user row's audit entries carry its id)."""

    by_username: dict[str, str]
    by_id: dict[str, str]

    @classmethod
    def load(cls, session: Session) -> _People:
        rows = session.execute(select(User.id, User.username, User.display_name)).all()
        return cls({r.username: r.display_name or r.username for r in rows},
                   {str(r.id): r.display_name or r.username for r in rows})

    def actor(self, username: str) -> str:
        return self.by_username.get(username, username)

    def record(self, entity: str, entity_id: str | None) -> str | None:
        return self.by_id.get(entity_id or "", entity_id) if entity == "user" else entity_id


def _entries(raw: pd.DataFrame, people: _People) -> pd.DataFrame:
    """Raw audit rows as ``ENTRY_COLUMNS``: people by name, before/after reduced to the names of
    changed fields."""
    return pd.DataFrame(
        [(r.id, r.at, people.actor(r.actor), r.action, r.entity, people.record(r.entity, r.entity_id),
          ", ".join(changed_fields(r.before, r.after)))
         for r in raw.itertuples()],
        columns=ENTRY_COLUMNS,
    )


def audit_log(
    actor: Actor,
    *,
    entity: str | None = None,
    entity_id: str | None = None,
    username: str | None = None,
    action: str | None = None,
    date_from: dt.datetime | None = None,
    date_to: dt.datetime | None = None,
    limit: int = 500,
    offset: int = 0,
    session: Session | None = None,
) -> pd.DataFrame:
    """One page of audit rows (``offset``, ``limit``), newest first, filtered by entity, entity
    id (substring), user, action and a UTC time window ``[date_from, date_to)``; columns
    ``ENTRY_COLUMNS``, ``changed`` naming the fields whose value differs between before and
    after. :func:`count_audit` says how many match, :func:`export_audit` feeds them all."""
    require(actor, "audit.view")
    stmt = _log_stmt(entity, entity_id, username, action, date_from, date_to)
    return _read(session, lambda s: _entries(paging.page_rows(s, stmt, RAW_COLUMNS, offset, limit), _People.load(s)))


def count_audit(
    actor: Actor,
    *,
    entity: str | None = None,
    entity_id: str | None = None,
    username: str | None = None,
    action: str | None = None,
    date_from: dt.datetime | None = None,
    date_to: dt.datetime | None = None,
    session: Session | None = None,
) -> int:
    """How many audit rows :func:`audit_log` finds with the same filters, exactly."""
    require(actor, "audit.view")
    stmt = _log_stmt(entity, entity_id, username, action, date_from, date_to)
    return _read(session, lambda s: paging.count_rows(s, stmt))


def export_audit(
    actor: Actor,
    sink: Callable[[pd.DataFrame], object],
    *,
    entity: str | None = None,
    entity_id: str | None = None,
    username: str | None = None,
    action: str | None = None,
    date_from: dt.datetime | None = None,
    date_to: dt.datetime | None = None,
    chunk_size: int = paging.EXPORT_CHUNK,
    session: Session | None = None,
) -> int:
    """Every audit row :func:`audit_log` finds, no cap, handed to ``sink`` in chunks of
    ``ENTRY_COLUMNS`` from one snapshot; returns the number of rows."""
    require(actor, "audit.view")
    stmt = _log_stmt(entity, entity_id, username, action, date_from, date_to)
    def feed(s: Session) -> int:
        people = _People.load(s)
        return paging.feed_chunks(s, stmt, RAW_COLUMNS, lambda raw: sink(_entries(raw, people)), chunk_size)

    return _read(session, feed)


def audit_entry(entry_id: int, actor: Actor, *, session: Session | None = None) -> AuditEntry:
    """One audit row and its field-by-field before/after diff."""
    require(actor, "audit.view")
    row, people = _read(session, lambda s: (
        s.execute(select(AuditLog).where(AuditLog.id == entry_id)).scalar_one_or_none(), _People.load(s)))
    if row is None:
        raise NotFound(f"no audit entry {entry_id}", entry_id=entry_id)
    return AuditEntry(row.id, row.at, people.actor(row.actor), row.action, row.entity, row.entity_id,
                      diff(row.before, row.after), people.record(row.entity, row.entity_id))


def audit_facets(actor: Actor, *, session: Session | None = None) -> dict[str, list[str]]:
    """The distinct entities, users and actions in the log, for the page's filter lists."""
    require(actor, "audit.view")

    def query(s: Session) -> dict[str, list[str]]:
        return {
            name: sorted(v for v in s.execute(select(column).distinct()).scalars() if v)
            for name, column in (("entity", AuditLog.entity), ("actor", AuditLog.actor),
                                 ("action", AuditLog.action))
        }

    return _read(session, query)


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as dotted keys (``{"a": {"b": 1}}`` → ``{"a.b": 1}``); anything else is a leaf."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, inner in value.items():
            out |= _flatten(inner, f"{prefix}{key}.")
        return out
    return {prefix.rstrip("."): value} if prefix else {"": value}


def _display(value: Any) -> str:
    """A JSON value as text for the diff table: lists/dicts as compact JSON, None as empty."""
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> pd.DataFrame:
    """Field-by-field comparison of an audit row's before and after values.

    Every field present on either side is listed (so a creation shows what was set and a
    deletion what was removed), changed fields first, each group in field-name order.
    """
    old, new = _flatten(before or {}), _flatten(after or {})
    rows = [(key, _display(old.get(key)), _display(new.get(key)), old.get(key) != new.get(key))
            for key in sorted(old.keys() | new.keys())]
    rows.sort(key=lambda r: not r[3])  # stable: differing first, alphabetical within each group
    return pd.DataFrame(rows, columns=DIFF_COLUMNS)


def changed_fields(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[str]:
    """Names of the fields whose value differs, in field-name order."""
    old, new = _flatten(before or {}), _flatten(after or {})
    return sorted(key for key in old.keys() | new.keys() if old.get(key) != new.get(key))
