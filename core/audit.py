"""The audit trail: one append-only row per change, written in the same transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from core.models import AuditLog
from core.permissions import Actor
from core.pii import MASKERS
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
        before=_jsonable(_masked(before)),
        after=_jsonable(_masked(after)),
    ))


def _masked(value: Any) -> Any:
    """Personal data never reaches the audit trail in clear (it is encrypted everywhere else):
    phones, e-mails and addresses are kept masked, as a role without ``customer.pii`` sees them."""
    if isinstance(value, dict):
        return {k: (MASKERS[k](v) if k in MASKERS else _masked(v)) for k, v in value.items()}
    return value


def _jsonable(value: Any) -> Any:
    """Decimals and datetimes become strings so JSON columns accept them on both databases."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return str(value)
