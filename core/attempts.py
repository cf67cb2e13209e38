"""Counting failed attempts (``login_attempts``, ``lookup_attempts``) for :mod:`core.backoff`.

Both tables have ``id``, ``at`` and ``success``; a scope is a set of WHERE conditions (a
client, a username on a client, an order number).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from core.backoff import Backoff


def take_turns(session: Session, *keys: str) -> None:
    """Let concurrent attempts of one scope take turns until their transaction ends.

    Without it, parallel attempts under PostgreSQL's read committed would all count the same
    failures and all be heard — a free burst past the backoff. Keys are locked in sorted order
    (no deadlock between two scopes). SQLite needs nothing: ``BEGIN IMMEDIATE`` already lets one
    writer in at a time.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    for key in sorted(set(keys)):
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"attempts:{key}"})


def retry_after(session: Session, model: Any, backoff: Backoff, now: dt.datetime, *scope: Any,
                reset_by_success: bool = True) -> int:
    """Seconds the scope must still wait: its failures within the backoff window — since its
    last success when ``reset_by_success`` — and the time of the latest one."""
    conditions = [model.success.is_(False), model.at >= now - backoff.window, *scope]
    if reset_by_success:
        # ids, not times: attempts within the same second as the success are ordered too
        last_success = select(func.max(model.id)).where(
            model.success.is_(True), model.at >= now - backoff.window, *scope).scalar_subquery()
        conditions.append(model.id > func.coalesce(last_success, 0))
    failures, latest = session.execute(select(func.count(model.id), func.max(model.at)).where(*conditions)).one()
    return backoff.retry_after(int(failures), latest, now)
