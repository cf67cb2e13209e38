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

# action -> roles allowed (docs/permissions.md is the readable version of this table).
# Admin is the shop owner's account: users and settings, and everything else too.
PERMISSIONS: dict[str, frozenset[str]] = {
    # orders
    "order.view": _ALL,
    "order.create": _OFFICE | {"clerk", "service"},
    "order.edit": _OFFICE | {"clerk", "service"},
    "order.review": _OFFICE | {"service"},  # confirm / hold / release
    "order.cancel": _OFFICE | {"clerk", "service"},
    "order.fulfil": _OFFICE | {"warehouse"},  # allocate / pick / pack / ship
    "order.deliver": _OFFICE | {"warehouse", "service"},
    "order.complete": _OFFICE | {"service"},
    "order.import": _OFFICE | {"service"},
    # customers
    "customer.view": _OFFICE | {"clerk", "service"},
    "customer.edit": _OFFICE | {"clerk", "service"},
    "customer.pii": _OFFICE | {"clerk", "service"},  # unmasked phone / address
    "customer.merge": _OFFICE | {"service"},  # two profiles of one person become one
    # stock
    "stock.view": _ALL,
    "stock.adjust": _OFFICE | {"warehouse"},
    "stock.approve": _OFFICE,  # adjustments above the approval threshold
    "stock.transfer": _OFFICE | {"warehouse"},
    "stock.receive": _OFFICE | {"warehouse", "buyer"},
    "stock.import": _OFFICE,
    "stock.bins": _OFFICE | {"warehouse"},  # shelf locations and each product's home bin
    "cost.view": _OFFICE | {"buyer"},  # unit costs, margins, stock value
    "product.edit": _OFFICE | {"buyer"},  # the catalogue: create, edit, deactivate products
    # after-sales
    "rma.view": _OFFICE | {"service", "warehouse"},
    "rma.create": _OFFICE | {"service"},
    "rma.decide": _OFFICE | {"service"},  # approve / reject
    "rma.receive": _OFFICE | {"service", "warehouse"},  # receive / inspect
    "rma.refund": _OFFICE | {"service"},
    "rma.override": _OFFICE,  # policy overrides, refunds above the computed amount
    # planning and purchasing
    "forecast.view": _OFFICE | {"buyer"},
    "forecast.run": _OFFICE | {"buyer"},
    "replenish.decide": _OFFICE | {"buyer"},
    "purchase.edit": _OFFICE | {"buyer"},
    "allocation.decide": _OFFICE,
    # oversight
    "dashboard.view": _OFFICE,
    "alert.view": _OFFICE | {"warehouse", "service", "buyer"},
    "alert.ack": _OFFICE | {"warehouse", "service", "buyer"},
    "dq.view": _OFFICE,
    "dq.run": _OFFICE,
    "rules.edit": _OFFICE,
    "audit.view": _OFFICE,
    "notification.view": _OFFICE,
    # webhooks (issue #17): subscriptions and their delivery log (view), subscribe, unsubscribe
    # and replay (manage) — an integration's own through an API token with webhooks:manage
    "webhook.view": _OFFICE,
    "webhook.manage": _OFFICE,
    # master data: warehouses and channels shape allocation and every report, suppliers are the buyer's
    "masterdata.view": _OFFICE | {"buyer"},
    "masterdata.edit": _OFFICE,
    "supplier.edit": _OFFICE | {"buyer"},
    # finance (issue 21): money in and out — the shop's owner and manager keep the books
    # (docs/finance.md says why there is no separate finance role)
    "finance.view": _OFFICE,  # payments, settlements, differences, finance views
    "finance.record": _OFFICE,  # a payment recorded by hand after entry
    "finance.import": _OFFICE,  # settlement statements
    "finance.resolve": _OFFICE,  # close a settlement difference with a reason
    "finance.export": _OFFICE,  # the accountant's voucher file; marks days exported
    # administration
    "settings.edit": frozenset({"admin"}),
    "user.manage": frozenset({"admin"}),
    "backup.run": frozenset({"admin"}),
    "keys.manage": frozenset({"admin"}),
}


@dataclass(frozen=True)
class Actor:
    """Who is acting: passed to every service call and written to the audit log."""

    username: str
    role: str

    def can(self, action: str) -> bool:
        return self.role in PERMISSIONS.get(action, frozenset())


SYSTEM = Actor("system", "admin")

# API token scopes (resource:verb) -> the actions of the matrix they open. A token acts as an
# actor of its role narrowed to its scopes' actions: both must allow an action.
SCOPES: dict[str, frozenset[str]] = {
    "orders:read": frozenset({"order.view"}),
    "orders:write": frozenset({"order.view", "order.create", "order.edit", "order.review", "order.cancel",
                               "order.fulfil", "order.deliver", "order.complete"}),
    "customers:pii": frozenset({"customer.pii"}),
    "stock:read": frozenset({"stock.view"}),
    "products:read": frozenset({"stock.view"}),
    "products:write": frozenset({"stock.view", "product.edit"}),
    # opening a return names its order, so the order lookup (order.view) comes with it
    "returns:read": frozenset({"rma.view"}),
    "returns:write": frozenset({"rma.view", "rma.create", "order.view"}),
    "purchasing:read": frozenset({"stock.view"}),
    "purchasing:write": frozenset({"stock.view", "stock.receive"}),
    "webhooks:manage": frozenset({"webhook.view", "webhook.manage"}),
}


@dataclass(frozen=True)
class ScopedActor(Actor):
    """An API token acting: its role's permissions, narrowed to the actions of its scopes.

    Services call ``require`` as for anyone, so a scope is enforced where the role is."""

    actions: frozenset[str] = frozenset()

    def can(self, action: str) -> bool:
        return action in self.actions and super().can(action)


def scopes_for(role: str) -> list[str]:
    """The scopes of which ``role`` can use at least one action (a new token's default)."""
    return [scope for scope, actions in SCOPES.items() if any(role in PERMISSIONS[a] for a in actions)]


def scoped_actor(username: str, role: str, scopes: list[str]) -> ScopedActor:
    return ScopedActor(username, role, frozenset().union(*(SCOPES.get(s, frozenset()) for s in scopes)))


def require(actor: Actor, action: str) -> None:
    if actor.role not in ROLES:
        raise PermissionDenied(f"unknown role {actor.role!r}", role=actor.role, action=action)
    if not actor.can(action):
        raise PermissionDenied(
            f"role {actor.role!r} may not {action}", role=actor.role, action=action
        )
