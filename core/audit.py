"""The audit trail: one append-only row per change, written in the same transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from core.models import AuditLog
from core.models.personal import names_sealed
from core.permissions import Actor
from core.pii import MASKERS, mask_name
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
    session.connection().execute(_INSERT, row(actor, action, entity, entity_id, before, after))


def row(actor: Actor, action: str, entity: str, entity_id: object, before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None, at: dt.datetime | None = None) -> dict[str, Any]:
    """The ``audit_log`` row :func:`record` writes (a bulk writer inserts many at once, all ``at``
    one time)."""
    maskers = _NAMES_MASKED if entity == "customer" and names_sealed() else MASKERS
    return dict(
        at=at or utcnow(),
        actor=actor.username,
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        before=_jsonable(_masked(before, maskers)),
        after=_jsonable(_masked(after, maskers)),
    )


# while customers' names are encrypted (the shop's setting), a customer's audit rows keep the
# name masked too (张****): the trail says that it changed, and which profile, not what it says
_NAMES_MASKED = {**MASKERS, "name": mask_name}


def _masked(value: Any, maskers: dict[str, Any]) -> Any:
    """Personal data never reaches the audit trail in clear (it is encrypted everywhere else):
    phones, e-mails and addresses are kept masked, as a role without ``customer.pii`` sees them."""
    if isinstance(value, dict):
        return {k: (maskers[k](v) if k in maskers else _masked(v, maskers)) for k, v in value.items()}
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
