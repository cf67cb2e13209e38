"""The audit trail: one append-only row per change, written in the same transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from core.models import AuditLog
from core.permissions import Actor
from core.timeutil import utcnow

_INSERT = insert(AuditLog.__table__)


def record(
    session: Session,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: object,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    session.connection().execute(_INSERT, dict(
        at=utcnow(),
        actor=actor.username,
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        before=_jsonable(before),
        after=_jsonable(after),
    ))


def _jsonable(value: Any) -> Any:
    """Decimals and datetimes become strings so JSON columns accept them on both databases."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return str(value)
