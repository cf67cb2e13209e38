"""API tokens: one bearer token per integration, acting as an actor of its role narrowed to its
scopes (:class:`core.permissions.ScopedActor`).

A token is ``oms_`` + 32 random bytes (256 bits, :func:`secrets.token_urlsafe`), shown once at
creation. Only its SHA-256 is stored. A slow password hash (argon2) exists to make guessing a
*human-chosen* secret from a stolen hash expensive; a 256-bit random secret cannot be guessed
at any speed, so a fast hash loses nothing — and it lets the lookup be an indexed equality on
the hash (no per-row verify, no timing difference between "unknown" and "wrong").
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import audit
from core.db import read_only, unit_of_work
from core.errors import Conflict, FieldIssue, NotFound, Refused, ValidationError
from core.models import ApiToken
from core.permissions import ROLES, SCOPES, Actor, ScopedActor, require, scoped_actor, scopes_for
from core.timeutil import utcnow

PREFIX = "oms_"
MAX_NAME = 64
# last_used_at is written at most this often per token: every request writing it would
# serialise all API reads behind the database's write lock.
LAST_USE_GRANULARITY = dt.timedelta(minutes=1)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class TokenInfo:
    id: int
    name: str
    prefix: str
    role: str
    scopes: tuple[str, ...]
    created_at: dt.datetime
    created_by: str
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None


@dataclass(frozen=True)
class NewToken:
    info: TokenInfo
    token: str  # the secret, shown once


@dataclass(frozen=True)
class Caller:
    """Who a valid token is: the id (for idempotency keys and rate limits) and its actor."""

    token_id: int
    actor: ScopedActor


def _info(row: ApiToken) -> TokenInfo:
    return TokenInfo(row.id, row.name, row.prefix, row.role, tuple(row.scopes), row.created_at, row.created_by,
                     row.revoked_at, row.last_used_at)


def _check(name: str, role: str, scopes: list[str]) -> list[FieldIssue]:
    issues = []
    if not name:
        issues.append(FieldIssue("name", "issue.required"))
    elif len(name) > MAX_NAME:
        issues.append(FieldIssue("name", "issue.at_most", value=name, params={"n": MAX_NAME}))
    if role not in ROLES:
        issues.append(FieldIssue("role", "api.unknown_role", value=role, params={"roles": ", ".join(ROLES)}))
    if not scopes:
        issues.append(FieldIssue("scopes", "issue.required"))
    for i, scope in enumerate(scopes):
        if scope not in SCOPES:
            issues.append(FieldIssue("scopes", "api.unknown_scope", row=i + 1, value=scope,
                                     params={"scope": scope, "scopes": ", ".join(SCOPES)}))
        elif role in ROLES and scope not in scopes_for(role):
            issues.append(FieldIssue("scopes", "api.scope_outside_role", row=i + 1, value=scope,
                                     params={"scope": scope, "role": role}))
    return issues


@unit_of_work
def create_token(session: Session, name: str, role: str, scopes: list[str], actor: Actor) -> NewToken:
    """A new token for an integration; the secret is in the result and nowhere else."""
    require(actor, "user.manage")
    name = (name or "").strip()
    scopes = list(dict.fromkeys(s.strip() for s in scopes if s.strip()))
    issues = _check(name, role, scopes)
    if issues:
        raise ValidationError(issues)
    if session.execute(select(ApiToken.id).where(ApiToken.name == name)).first():
        raise Conflict.coded("api.name_taken", name=name)
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(name=name, token_hash=hash_token(token), prefix=token[:10], role=role, scopes=scopes,
                   created_at=utcnow(), created_by=actor.username)
    session.add(row)
    session.flush()
    audit.record(session, actor, "api_token.create", "api_token", name, after={"role": role, "scopes": scopes})
    return NewToken(_info(row), token)


@unit_of_work
def revoke_token(session: Session, name: str, actor: Actor) -> TokenInfo:
    """Revoke a token by name: the next request carrying it is refused (401)."""
    require(actor, "user.manage")
    row = session.execute(select(ApiToken).where(ApiToken.name == name)).scalar_one_or_none()
    if row is None:
        raise NotFound.coded("api.no_token", name=name)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.flush()
        audit.record(session, actor, "api_token.revoke", "api_token", name)
    return _info(row)


@read_only
def list_tokens(session: Session, actor: Actor) -> list[TokenInfo]:
    require(actor, "user.manage")
    return [_info(r) for r in session.execute(select(ApiToken).order_by(ApiToken.name)).scalars()]


@unit_of_work
def authenticate_token(session: Session, token: str) -> Caller:
    """The caller a bearer token stands for; refused (``api.token_invalid``) when the token is
    unknown or revoked — the same answer for both. Records the last use (to the minute)."""
    row = session.execute(select(ApiToken).where(ApiToken.token_hash == hash_token(token or ""))).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        raise Refused("api.token_invalid")
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USE_GRANULARITY:
        session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
    return Caller(row.id, scoped_actor(f"api:{row.name}", row.role, list(row.scopes)))
