"""Roles, actors and the permission matrix, enforced inside every service.

Pages hide what a role cannot do, but the services are the guard: a call with the wrong role
raises :class:`PermissionDenied` whatever screen (or script) it came from.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import PermissionDenied

ROLES = ("admin", "manager", "buyer", "warehouse", "service", "clerk")

_ALL = frozenset(ROLES)
_OFFICE = frozenset({"admin", "manager"})

# action -> roles allowed. Admin may do everything a small shop's owner would.
PERMISSIONS: dict[str, frozenset[str]] = {
    "order.view": _ALL,
    "order.create": _OFFICE | {"clerk", "service"},
    "order.edit": _OFFICE | {"clerk", "service"},
    "order.review": _OFFICE | {"service"},  # confirm / hold / release
    "order.cancel": _OFFICE | {"clerk", "service"},
    "order.fulfil": _OFFICE | {"warehouse"},  # picking / packed / shipped
    "order.deliver": _OFFICE | {"warehouse", "service"},
    "order.complete": _OFFICE | {"service"},
    "customer.view": _OFFICE | {"clerk", "service"},
    "customer.edit": _OFFICE | {"clerk", "service"},
    "stock.view": _ALL,
    "stock.adjust": _OFFICE | {"warehouse"},
    "dashboard.view": _OFFICE,
    "user.manage": frozenset({"admin"}),
}


@dataclass(frozen=True)
class Actor:
    """Who is acting: passed to every service call and written to the audit log."""

    username: str
    role: str

    def can(self, action: str) -> bool:
        return self.role in PERMISSIONS.get(action, frozenset())


SYSTEM = Actor("system", "admin")


def require(actor: Actor, action: str) -> None:
    if actor.role not in ROLES:
        raise PermissionDenied(f"unknown role {actor.role!r}", role=actor.role, action=action)
    if not actor.can(action):
        raise PermissionDenied(
            f"role {actor.role!r} may not {action}", role=actor.role, action=action
        )
