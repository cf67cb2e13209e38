"""Users and sign-in: accounts, the password policy (:mod:`core.passwords`) and a login that
cannot be used to probe usernames or to lock an owner out.

No default accounts exist outside demo mode; ``oms users add`` or the demo seed creates them.

Sign-in (:func:`authenticate`) takes the client the attempt comes from (the page passes the
browser's address, see ``core.clients``). Failures are counted in ``login_attempts`` per
(username, client) and per client and answered with an exponentially growing wait
(:mod:`core.backoff`) instead of locking the account: a guesser slows down, the owner signing
in from another client does not notice. Unknown usernames, wrong passwords and deactivated
accounts get the same answer, throttling included, and every attempt verifies exactly one
argon2id hash (a dummy one when there is nothing to check), so neither the answer nor its
time tells whether an account exists.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from core import audit
from core.attempts import retry_after, take_turns
from core.backoff import Backoff
from core.db import read_only, unit_of_work
from core.errors import Conflict, FieldIssue, NotFound, ValidationError
from core.models import LoginAttempt, User
from core.passwords import dummy_hash, hash_password, needs_rehash, policy_problems, verify_password
from core.passwords import generate_password as generate_password  # the Users page's suggestion
from core.permissions import ROLES, Actor, require
from core.timeutil import utcnow

MAX_USERNAME, MAX_DISPLAY_NAME = 64, 100  # the column widths
MAX_CLIENT = 64
# Failures of one username from one client: five free, then 10 s, 20 s, … up to 15 minutes.
PAIR_BACKOFF = Backoff(free=5, base=dt.timedelta(seconds=10), cap=dt.timedelta(minutes=15),
                       window=dt.timedelta(hours=24))
# Failures of one client over every username (password spraying): twenty free, then the same.
CLIENT_BACKOFF = Backoff(free=20, base=dt.timedelta(seconds=10), cap=dt.timedelta(minutes=15),
                         window=dt.timedelta(hours=24))


def password_issues(password: str, username: str | None) -> list[FieldIssue]:
    """One issue per broken rule of the policy, so the form can list exactly what to fix."""
    return [FieldIssue("password", code, params=params) for code, params in policy_problems(password, username)]


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
        issues.append(FieldIssue("username", "issue.required"))
    elif len(username) > MAX_USERNAME:
        issues.append(FieldIssue("username", "issue.too_long", value=username, params={"n": MAX_USERNAME}))
    if display_name and len(display_name) > MAX_DISPLAY_NAME:
        issues.append(FieldIssue("display_name", "issue.too_long", value=display_name,
                                 params={"n": MAX_DISPLAY_NAME}))
    if role not in ROLES:
        issues.append(FieldIssue("role", "issue.one_of", value=role, params={"choices": ", ".join(ROLES)}))
    issues += password_issues(password, username)
    if issues:
        raise ValidationError(issues)
    if session.execute(select(User.id).where(User.username == username)).first():
        raise Conflict(f"user {username!r} already exists", username=username)
    user = User(
        username=username, password_hash=hash_password(password), role=role, active=True,
        display_name=display_name, created_at=utcnow(),
    )
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.create", "user", user.id, after={"username": username, "role": role})
    return _info(user)


@dataclass(frozen=True)
class LoginResult:
    user: UserInfo | None
    reason: str | None  # None on success; "invalid" | "throttled"
    retry_after: int = 0  # seconds to wait when throttled


def _retry_after(session: Session, username: str, client: str, now: dt.datetime) -> int:
    """Seconds this (username, client) must still wait: the longer of the pair's and the client's
    backoff. The client's failures count over every username and a success does not reset them
    (a sprayer with one valid account of its own must not wipe its record)."""
    return max(retry_after(session, LoginAttempt, PAIR_BACKOFF, now,
                           LoginAttempt.username == username, LoginAttempt.client == client),
               retry_after(session, LoginAttempt, CLIENT_BACKOFF, now, LoginAttempt.client == client,
                           reset_by_success=False))


@unit_of_work
def authenticate(session: Session, username: str, password: str, client: str) -> LoginResult:
    """Check a sign-in from ``client`` (an address or session key, see ``core.clients``).

    Answers ``invalid`` for an unknown username, a wrong password and a deactivated account
    alike, and ``throttled`` (with the seconds to wait) while this client's failures — for this
    username, or for any — are backing off, without saying whether the password was right.
    Throttled attempts are not recorded, so waiting it out always works. A correct password
    with an outdated hash is rehashed with argon2id.
    """
    name = username.strip().replace("\x00", "")[:MAX_USERNAME]
    client = client[:MAX_CLIENT]
    if not client:
        raise ValueError("authenticate needs the client the attempt comes from")
    take_turns(session, f"login:{client}")
    now = utcnow()
    user = session.execute(select(User).where(User.username == name)).scalar_one_or_none()
    wait = _retry_after(session, name, client, now)
    checkable = user is not None and user.active and not wait
    # exactly one hash check on every path: a dummy one when there is no account to check
    correct = verify_password(password, user.password_hash if user is not None and checkable else dummy_hash()) and checkable
    if wait:
        return LoginResult(None, "throttled", wait)
    session.execute(insert(LoginAttempt).values(at=now, username=name, client=client, success=correct))
    session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - max(PAIR_BACKOFF.window, CLIENT_BACKOFF.window)))
    if not correct:
        return LoginResult(None, "invalid")
    assert user is not None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
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


USER_COLUMNS = ["username", "display_name", "role", "active", "failed_logins", "last_login_at", "created_at"]


def _failed_logins(session: Session, username: str | None = None) -> dict[str, int]:
    """Failed sign-ins per username since its last successful one (from any client), within
    the backoff window: what an admin watches for an attack on an account."""
    since = utcnow() - PAIR_BACKOFF.window
    success = LoginAttempt.__table__.alias("success")
    later_success = select(success.c.id).where(success.c.username == LoginAttempt.username,
                                               success.c.success.is_(True), success.c.id > LoginAttempt.id)
    query = (select(LoginAttempt.username, func.count(LoginAttempt.id))
             .where(LoginAttempt.success.is_(False), LoginAttempt.at >= since, ~later_success.exists())
             .group_by(LoginAttempt.username))
    if username is not None:
        query = query.where(LoginAttempt.username == username)
    return {name: int(n) for name, n in session.execute(query)}


@read_only
def list_users(session: Session, actor: Actor) -> pd.DataFrame:
    """Every account for the admin's user list (never the password hashes), with its recent
    failed sign-ins."""
    require(actor, "user.manage")
    rows = session.execute(
        select(User.username, User.display_name, User.role, User.active, User.last_login_at, User.created_at)
        .order_by(User.username)
    ).all()
    failures = _failed_logins(session)
    return pd.DataFrame([(r.username, r.display_name, r.role, r.active, failures.get(r.username, 0),
                          r.last_login_at, r.created_at) for r in rows], columns=USER_COLUMNS)


def _clear_failures(session: Session, username: str) -> int:
    """Forget the account's failed sign-ins from every client (lifts their backoff); returns
    how many there were. The clients' own spraying records stay."""
    count = _failed_logins(session, username).get(username, 0)
    session.execute(delete(LoginAttempt).where(LoginAttempt.username == username, LoginAttempt.success.is_(False)))
    return count


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
        raise ValidationError([FieldIssue("role", "issue.one_of", value=role, params={"choices": ", ".join(ROLES)})])
    user = _user_for_update(session, username)
    if role != "admin" and _is_last_admin(session, user):
        raise ValidationError([FieldIssue("role", "issue.last_admin", value=role)])
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
        raise ValidationError([FieldIssue("active", "issue.self_deactivate")])
    if not active and _is_last_admin(session, user):
        raise ValidationError([FieldIssue("active", "issue.last_admin")])
    before = user.active
    user.active = active
    audit.record(session, actor, "user.activate" if active else "user.deactivate", "user", user.id,
                 before={"username": username, "active": before}, after={"username": username, "active": active})
    return _info(user)


@unit_of_work
def reset_password(session: Session, username: str, password: str, actor: Actor) -> UserInfo:
    """Set a new password (policy applies) and clear the account's failed sign-ins. The audit
    row records that it happened, never the password or its hash."""
    require(actor, "user.manage")
    weak = password_issues(password, username)
    if weak:
        raise ValidationError(weak)
    user = _user_for_update(session, username)
    user.password_hash = hash_password(password)
    _clear_failures(session, username)
    audit.record(session, actor, "user.password_reset", "user", user.id, after={"username": username})
    return _info(user)


@unit_of_work
def unlock_user(session: Session, username: str, actor: Actor) -> UserInfo:
    """Forget the account's failed sign-ins, so no client waits for it any longer (the password
    stays as it was)."""
    require(actor, "user.manage")
    user = _user_for_update(session, username)
    before = _clear_failures(session, username)
    audit.record(session, actor, "user.unlock", "user", user.id, before={"username": username, "failed_logins": before},
                 after={"username": username, "failed_logins": 0})
    return _info(user)
