"""A per-process snapshot of slow-changing reference data (channels, warehouses, rules,
settings), re-read only when its version changes.

Order creation needs all of these; reading them on every order cost more than the order
itself. Every service that writes one of these tables calls :func:`bump` in the same
transaction, which increments the ``REF`` row of ``sequences``; each snapshot read compares
that single integer, so an edited rule is in force for the very next order, in every process.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.models import Channel, Sequence, Setting, Warehouse
from core.rules import RuleSpec, active_rules


@dataclass(frozen=True)
class ChannelRef:
    id: int
    code: str
    name: str
    kind: str
    return_window_days: int


@dataclass(frozen=True)
class WarehouseRef:
    id: int
    code: str
    name: str
    region: str
    ship_cost: Decimal


@dataclass(frozen=True)
class RefData:
    version: int
    channels: dict[str, ChannelRef]
    warehouses: dict[str, WarehouseRef]
    rules: dict[str, list[RuleSpec]]
    settings: dict[str, dict[str, Any]]

    def setting(self, key: str, name: str, default: Any) -> Any:
        return self.settings.get(key, {}).get(name, default)


_VERSION = select(Sequence.value).where(Sequence.name == "REF")
_BUMP = update(Sequence).where(Sequence.name == "REF").values(value=Sequence.value + 1)
_lock = threading.Lock()
_cache: dict[str, RefData] = {}


def bump(session: Session) -> None:
    """Call in the same transaction as any write to channels, warehouses, rules or settings."""
    session.execute(_BUMP)


def _load(session: Session, version: int) -> RefData:
    channels = {
        r.code: ChannelRef(r.id, r.code, r.name, r.kind, r.return_window_days)
        for r in session.execute(select(Channel).where(Channel.active.is_(True))).scalars()
    }
    warehouses = {
        r.code: WarehouseRef(r.id, r.code, r.name, r.region, r.ship_cost)
        for r in session.execute(select(Warehouse).where(Warehouse.active.is_(True))).scalars()
    }
    rules = {kind: active_rules(session, kind) for kind in ("review", "allocation", "carrier", "tagging")}
    settings = {r.key: r.value for r in session.execute(select(Setting)).scalars()}
    return RefData(version, channels, warehouses, rules, settings)


def snapshot(session: Session) -> RefData:
    """Reference data as of this transaction (one indexed read when nothing changed)."""
    version = int(session.connection().execute(_VERSION).scalar_one_or_none() or 0)
    key = session.get_bind().url.render_as_string(hide_password=False)
    with _lock:
        cached = _cache.get(key)
    if cached is not None and cached.version == version:
        return cached
    fresh = _load(session, version)
    with _lock:
        _cache[key] = fresh
    return fresh


def clear_cache() -> None:
    """Forget every snapshot (tests that recreate a database under the same URL, restores)."""
    with _lock:
        _cache.clear()
