"""Users, password hashing (scrypt) and login.

No default accounts exist outside demo mode; ``oms users add`` or the demo seed creates them.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import hmac
import secrets
import string
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import func, select
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
MAX_USERNAME, MAX_DISPLAY_NAME = 64, 100  # the column widths


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


# Passwords that pass the length/letters+digits rule but are the first ones an attacker tries.
COMMON_PASSWORDS = frozenset({
    "password1", "password123", "passw0rd", "abc12345", "abcd1234", "a1234567", "qwerty123", "qwer1234",
    "1qaz2wsx", "admin123", "admin888", "12345678a", "iloveyou1", "woaini1314", "aa123456", "123456aa",
})


def check_password_policy(password: str, username: str | None = None) -> list[str]:
    """Reasons a password is too weak (empty list = acceptable): at least 8 characters with
    letters and digits, not a well-known password, and not containing the username."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"at least {MIN_PASSWORD_LENGTH} characters")
    if not any(c.isdigit() for c in password) or not any(c.isalpha() for c in password):
        problems.append("letters and digits")
    if password.lower() in COMMON_PASSWORDS:
        problems.append("not a well-known password")
    if username and len(username.strip()) >= 3 and username.strip().lower() in password.lower():
        problems.append("not containing the username")
    return problems


def generate_password(length: int = 14) -> str:
    """A random password of letters and digits that passes the policy (shown once, never stored)."""
    alphabet = string.ascii_letters + string.digits
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(max(length, MIN_PASSWORD_LENGTH)))
        if not check_password_policy(password):
            return password


def _password_issues(password: str, username: str | None) -> list[FieldIssue]:
    """One issue per broken rule, so the form can list exactly what to fix."""
    return [FieldIssue("password", f"password needs {problem}") for problem in check_password_policy(password, username)]


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
    elif len(username) > MAX_USERNAME:
        issues.append(FieldIssue("username", f"at most {MAX_USERNAME} characters", value=username))
    if display_name and len(display_name) > MAX_DISPLAY_NAME:
        issues.append(FieldIssue("display_name", f"at most {MAX_DISPLAY_NAME} characters", value=display_name))
    if role not in ROLES:
        issues.append(FieldIssue("role", f"must be one of {', '.join(ROLES)}", value=role))
    issues += _password_issues(password, username)
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


@functools.cache
def _dummy_hash() -> str:
    """A hash of a random secret, checked for unknown users so they cost as much as real ones."""
    return hash_password(secrets.token_hex(16))


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
        verify_password(password, _dummy_hash())  # same cost as a real check: no timing oracle
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


@read_only
def session_user(session: Session, username: str) -> UserInfo | None:
    """The account behind a logged-in session, or None once it was deactivated or removed.

    ``app.py`` calls this on every rerun of a session that logged in, so an account an admin
    deactivates is signed out at its next click and a changed role applies immediately.
    """
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    return _info(user) if user is not None and user.active else None


USER_COLUMNS = ["username", "display_name", "role", "active", "locked_until", "last_login_at", "created_at"]


@read_only
def list_users(session: Session, actor: Actor) -> pd.DataFrame:
    """Every account for the admin's user list (never the password hashes)."""
    require(actor, "user.manage")
    rows = session.execute(
        select(User.username, User.display_name, User.role, User.active, User.locked_until, User.last_login_at,
               User.created_at).order_by(User.username)
    ).all()
    frame = pd.DataFrame(rows, columns=USER_COLUMNS)
    now = utcnow()
    # a lock that has run out is no lock: show it only while it still refuses logins
    frame["locked_until"] = [ts if ts is not None and ts > now else None for ts in frame["locked_until"]]
    return frame


def _user_for_update(session: Session, username: str) -> User:
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"no user {username!r}", username=username)
    return user


def _is_last_admin(session: Session, user: User) -> bool:
    """True if ``user`` is the only active admin: the shop would lock itself out without it."""
    if user.role != "admin" or not user.active:
        return False
    others = session.execute(select(func.count(User.id)).where(
        User.role == "admin", User.active.is_(True), User.id != user.id)).scalar_one()
    return others == 0


@unit_of_work
def change_role(session: Session, username: str, role: str, actor: Actor) -> UserInfo:
    """Give an account another role; the last active admin keeps the admin role."""
    require(actor, "user.manage")
    if role not in ROLES:
        raise ValidationError([FieldIssue("role", f"must be one of {', '.join(ROLES)}", value=role)])
    user = _user_for_update(session, username)
    if role != "admin" and _is_last_admin(session, user):
        raise ValidationError([FieldIssue("role", "the last active admin must stay admin", value=role)])
    before = user.role
    user.role = role
    audit.record(session, actor, "user.role", "user", user.id, before={"username": username, "role": before},
                 after={"username": username, "role": role})
    return _info(user)


@unit_of_work
def set_active(session: Session, username: str, active: bool, actor: Actor) -> UserInfo:
    """Deactivate (no login, open sessions end at their next click) or reactivate an account.

    Admins cannot deactivate themselves or the last active admin.
    """
    require(actor, "user.manage")
    user = _user_for_update(session, username)
    if not active and user.username == actor.username:
        raise ValidationError([FieldIssue("active", "you cannot deactivate your own account")])
    if not active and _is_last_admin(session, user):
        raise ValidationError([FieldIssue("active", "the last active admin cannot be deactivated")])
    before = user.active
    user.active = active
    if active:
        user.failed_logins, user.locked_until = 0, None
    audit.record(session, actor, "user.activate" if active else "user.deactivate", "user", user.id,
                 before={"username": username, "active": before}, after={"username": username, "active": active})
    return _info(user)


@unit_of_work
def reset_password(session: Session, username: str, password: str, actor: Actor) -> UserInfo:
    """Set a new password (policy applies) and lift any lockout. The audit row records that
    it happened, never the password or its hash."""
    require(actor, "user.manage")
    weak = _password_issues(password, username)
    if weak:
        raise ValidationError(weak)
    user = _user_for_update(session, username)
    user.password_hash = hash_password(password)
    user.failed_logins, user.locked_until = 0, None
    audit.record(session, actor, "user.password_reset", "user", user.id, after={"username": username})
    return _info(user)


@unit_of_work
def unlock_user(session: Session, username: str, actor: Actor) -> UserInfo:
    """Lift a lockout after repeated failed logins (the password stays as it was)."""
    require(actor, "user.manage")
    user = _user_for_update(session, username)
    before = user.locked_until
    user.failed_logins, user.locked_until = 0, None
    audit.record(session, actor, "user.unlock", "user", user.id, before={"username": username, "locked_until": before},
                 after={"username": username, "locked_until": None})
    return _info(user)
