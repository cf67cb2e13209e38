"""Users, password hashing (scrypt) and login.

No default accounts exist outside demo mode; ``oms users add`` or the demo seed creates them.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.db import read_only, unit_of_work
from core.errors import Conflict, FieldIssue, NotFound, ValidationError
from core.models import User
from core.permissions import ROLES, Actor, require
from core.timeutil import utcnow

_N, _R, _P = 2**14, 8, 1
MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        algo, n, r, p, salt_b64, digest_b64 = stored.split("$")
    except ValueError:
        return False
    if algo != "scrypt":
        return False
    digest = hashlib.scrypt(
        password.encode(), salt=base64.b64decode(salt_b64), n=int(n), r=int(r), p=int(p), dklen=32
    )
    return hmac.compare_digest(digest, base64.b64decode(digest_b64))


def check_password_policy(password: str) -> list[str]:
    """Reasons a password is too weak (empty list = acceptable)."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"at least {MIN_PASSWORD_LENGTH} characters")
    if not any(c.isdigit() for c in password) or not any(c.isalpha() for c in password):
        problems.append("letters and digits")
    return problems


@dataclass(frozen=True)
class UserInfo:
    id: int
    username: str
    role: str
    display_name: str | None
    active: bool

    @property
    def actor(self) -> Actor:
        return Actor(self.username, self.role)


def _info(user: User) -> UserInfo:
    return UserInfo(user.id, user.username, user.role, user.display_name, user.active)


@unit_of_work
def create_user(
    session: Session, username: str, password: str, role: str, actor: Actor, display_name: str | None = None
) -> UserInfo:
    require(actor, "user.manage")
    issues = []
    username = username.strip()
    if not username:
        issues.append(FieldIssue("username", "required"))
    if role not in ROLES:
        issues.append(FieldIssue("role", f"must be one of {', '.join(ROLES)}", value=role))
    weak = check_password_policy(password)
    if weak:
        issues.append(FieldIssue("password", "needs " + " and ".join(weak)))
    if issues:
        raise ValidationError(issues)
    if session.execute(select(User.id).where(User.username == username)).first():
        raise Conflict(f"user {username!r} already exists", username=username)
    user = User(
        username=username, password_hash=hash_password(password), role=role, active=True,
        display_name=display_name, created_at=utcnow(), failed_logins=0,
    )
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.create", "user", user.id, after={"username": username, "role": role})
    return _info(user)


@dataclass(frozen=True)
class LoginResult:
    user: UserInfo | None
    reason: str | None  # None on success; "invalid" | "locked"


@unit_of_work
def authenticate(session: Session, username: str, password: str) -> LoginResult:
    """Check a login; counts failures and locks the account after repeated ones.

    "No such user" and "wrong password" give the same answer so usernames cannot be probed.
    """
    user = session.execute(select(User).where(User.username == username.strip())).scalar_one_or_none()
    now = utcnow()
    if user is None or not user.active:
        return LoginResult(None, "invalid")
    if user.locked_until and user.locked_until > now:
        return LoginResult(None, "locked")
    if not verify_password(password, user.password_hash):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = now + LOCKOUT
            user.failed_logins = 0
            audit.record(session, Actor(user.username, user.role), "user.locked", "user", user.id)
            return LoginResult(None, "locked")
        return LoginResult(None, "invalid")
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    return LoginResult(_info(user), None)


@read_only
def get_user(session: Session, username: str) -> UserInfo:
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"no user {username!r}", username=username)
    return _info(user)
