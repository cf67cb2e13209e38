"""Account administration: role changes, deactivation,
password resets — each audited, none able to lock the shop out, all admin-only."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from core import db
from core.errors import NotFound, PermissionDenied, ValidationError
from core.models import AuditLog, User
from core.permissions import SYSTEM, Actor
from core.services import users

ADMIN = Actor("root", "admin")
PASSWORD = "Secret-pass9"


@pytest.fixture
def accounts(db_url: str) -> None:
    users.create_user("root", PASSWORD, "admin", SYSTEM)
    users.create_user("clerk1", PASSWORD, "clerk", SYSTEM)


def test_create_user_names_every_problem(db_url: str) -> None:
    with pytest.raises(ValidationError) as caught:
        users.create_user("x" * 65, "abc", "pirate", ADMIN, display_name="y" * 101)
    assert sorted((i.field, i.message, (i.params or {}).get("n") or (i.params or {}).get("choices"))
                  for i in caught.value.issues) == [
        ("display_name", "issue.too_long", 100), ("password", "issue.pw_length", 10),
        ("password", "issue.pw_mix", None),
        ("role", "issue.one_of", "admin, manager, buyer, warehouse, service, clerk"),
        ("username", "issue.too_long", 64)]


def test_unknown_and_inactive_users_look_the_same(accounts: None) -> None:
    users.set_active("clerk1", False, ADMIN)
    assert users.authenticate("clerk1", PASSWORD, "test").reason == "invalid"
    assert users.authenticate("nobody", PASSWORD, "test").reason == "invalid"
    assert users.session_user("clerk1") is None and users.session_user("nobody") is None
    assert users.session_user("root") is not None


def test_role_change_deactivation_and_reset_are_audited(accounts: None) -> None:
    users.change_role("clerk1", "service", ADMIN)
    users.set_active("clerk1", False, ADMIN)
    users.set_active("clerk1", True, ADMIN)
    users.reset_password("clerk1", "New-secret-42", ADMIN)
    users.unlock_user("clerk1", ADMIN)
    assert users.authenticate("clerk1", "New-secret-42", "test").user is not None
    with db.transaction() as s:
        rows = s.execute(select(AuditLog.action, AuditLog.actor, AuditLog.before, AuditLog.after)
                         .where(AuditLog.actor == "root").order_by(AuditLog.id)).all()
    assert [r.action for r in rows] == ["user.role", "user.deactivate", "user.activate", "user.password_reset",
                                        "user.unlock"]
    assert rows[0].before == {"username": "clerk1", "role": "clerk"} and rows[0].after["role"] == "service"
    assert "New-secret-42" not in json.dumps([list(r) for r in rows], default=str)  # never the password
    with db.transaction() as s:
        stored = s.execute(select(User.password_hash).where(User.username == "clerk1")).scalar_one()
    assert stored not in json.dumps([list(r) for r in rows], default=str)  # nor its hash


def test_the_shop_cannot_lock_itself_out(accounts: None) -> None:
    with pytest.raises(ValidationError, match="your own account"):
        users.set_active("root", False, ADMIN)
    with pytest.raises(ValidationError, match="active admin must remain"):
        users.change_role("root", "manager", ADMIN)
    with pytest.raises(ValidationError, match="active admin must remain"):
        users.set_active("root", False, Actor("other-admin", "admin"))
    users.create_user("root2", PASSWORD + "x", "admin", ADMIN)
    users.change_role("root", "manager", Actor("root2", "admin"))  # with a second admin it is fine
    assert users.get_user("root").role == "manager"


def test_admin_only_and_unknown_users(accounts: None) -> None:
    for role in ("manager", "buyer", "warehouse", "service", "clerk"):
        actor = Actor("x", role)
        for call in (lambda a: users.list_users(a), lambda a: users.change_role("clerk1", "admin", a),
                     lambda a: users.set_active("clerk1", False, a), lambda a: users.unlock_user("clerk1", a),
                     lambda a: users.reset_password("clerk1", "Another-pw-1", a)):
            with pytest.raises(PermissionDenied):
                call(actor)
    assert users.get_user("clerk1").role == "clerk" and users.get_user("clerk1").active
    with pytest.raises(NotFound):
        users.change_role("ghost", "clerk", ADMIN)
    with pytest.raises(ValidationError):
        users.change_role("clerk1", "pirate", ADMIN)
