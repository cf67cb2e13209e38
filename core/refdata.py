"""A per-process snapshot of slow-changing reference data (channels, warehouses, rules,
settings), re-read only when its version changes.

Order creation needs all of these; reading them on every order cost more than the order
itself. Every service that writes one of these tables calls :func:`bump` in the same
transaction, which increments the ``REF`` row of ``sequences``; each snapshot read compares
that single integer, so an edited rule is in force for the very next order, in every process.

Webhook subscriptions (``core.events``) are part of the snapshot too: every order change asks
"does anybody want to hear of this?", and with the answer cached here a shop without
subscribers pays no query for it. So are the ids of the kit products: every order asks "is any
of these lines a kit?", and the answer "no" — by far the usual one — costs no query. Any write
to ``webhook_subscriptions`` or ``kit_components`` through a session — ORM objects or
``insert``/``update``/``delete`` statements — bumps the version by itself (the listeners at the
end of this module), so no caller can forget it and a new subscription hears the very next
event, and a new kit is expanded on the very next order, in every process.

The shop's profile (name, timezone, currency, language: the ``shop`` setting) is also read
outside any transaction, by :mod:`core.config` on hot paths such as converting every timestamp
of a table to local time. :func:`shop_profile` serves it from the same snapshot, re-checking
the version at most every :data:`PROFILE_RECHECK_SECONDS`; a commit in this process that
bumped the version forgets it at once, so the shop that just changed its timezone sees it
on the next screen. Whether customers' names are written encrypted (:func:`names_sealed`, the
``customer_names`` setting) is read the same way by the column type that writes them
(:class:`core.models.personal.EncryptedBySetting`), which cannot see a session: another process
follows a switch within those seconds, and the conversion job's closing check catches a name
written in between.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, event, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapper, ORMExecuteState, Session

from core import db, environment
from core.errors import OMSError
from core.models import Channel, KitComponent, Sequence, Setting, Warehouse, WebhookSubscription, personal
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
class SubscriptionRef:
    """An active webhook subscription, as :func:`core.events.publish` needs it (no secret)."""

    id: int
    url: str
    events: frozenset[str]
    channel_id: int | None


@dataclass(frozen=True)
class RefData:
    version: int
    channels: dict[str, ChannelRef]
    warehouses: dict[str, WarehouseRef]
    rules: dict[str, list[RuleSpec]]
    settings: dict[str, dict[str, Any]]
    subscriptions: tuple[SubscriptionRef, ...] = ()
    kits: frozenset[int] = frozenset()  # product ids of the kits (core.kits)

    def setting(self, key: str, name: str, default: Any) -> Any:
        return self.settings.get(key, {}).get(name, default)


_VERSION = select(Sequence.value).where(Sequence.name == "REF")
_BUMP = update(Sequence).where(Sequence.name == "REF").values(value=Sequence.value + 1)
SHOP_KEY = "shop"  # the settings row holding the shop's profile (core.services.shop_setup)
NAMES_KEY, NAMES_ENCRYPT = "customer_names", "encrypt"  # the setting (core.services.customer_names)
PROFILE_RECHECK_SECONDS = 2.0
_lock = threading.Lock()
_cache: dict[str, RefData] = {}
_profiles: dict[str, tuple[float, dict[str, Any]]] = {}  # database URL → (checked at, settings)


def bump(session: Session) -> None:
    """Call in the same transaction as any write to channels, warehouses, rules or settings."""
    session.execute(_BUMP)
    session.info["refdata_bumped"] = True


@event.listens_for(Session, "after_commit")
def _forget_profiles(session: Session) -> None:
    """A committed bump may have changed the shop's profile: read it again on next use."""
    if session.info.pop("refdata_bumped", False):
        with _lock:
            _profiles.clear()


@event.listens_for(Session, "after_rollback")
def _discard_bump(session: Session) -> None:
    session.info.pop("refdata_bumped", None)


def _load(session: Session, version: int) -> RefData:
    channels = {
        r.code: ChannelRef(r.id, r.code, r.name, r.kind, r.return_window_days)
        for r in session.execute(select(Channel).where(Channel.active.is_(True))).scalars()
    }
    warehouses = {
        r.code: WarehouseRef(r.id, r.code, r.name, r.region, r.ship_cost)
        for r in session.execute(select(Warehouse).where(Warehouse.active.is_(True))).scalars()
    }
    rules = {kind: active_rules(session, kind) for kind in ("review", "allocation", "carrier", "tagging", "gift")}
    settings = {r.key: r.value for r in session.execute(select(Setting)).scalars()}
    subscriptions = tuple(
        SubscriptionRef(r.id, r.url, frozenset(r.events or ()), r.channel_id)
        for r in session.execute(select(WebhookSubscription).where(WebhookSubscription.active.is_(True))
                                 .order_by(WebhookSubscription.id)).scalars())
    kits = frozenset(session.execute(select(KitComponent.kit_product_id).distinct()).scalars())
    return RefData(version, channels, warehouses, rules, settings, subscriptions, kits)


def snapshot(session: Session) -> RefData:
    """Reference data as of this transaction (one indexed read when nothing changed)."""
    version = int(session.connection().execute(_VERSION).scalar_one_or_none() or 0)
    key = session.get_bind().engine.url.render_as_string(hide_password=False)
    with _lock:
        cached = _cache.get(key)
    if cached is not None and cached.version == version:
        return cached
    fresh = _load(session, version)
    with _lock:
        _cache[key] = fresh
    return fresh


def _settings() -> dict[str, dict[str, Any]]:
    """The stored settings of the database in ``DATABASE_URL``, trusted for a couple of seconds."""
    url = environment.database_url()
    now = time.monotonic()
    with _lock:
        hit = _profiles.get(url)
    if hit is not None and now - hit[0] < PROFILE_RECHECK_SECONDS:
        return hit[1]
    settings = _read_settings(url)
    with _lock:
        _profiles[url] = (now, settings)
    return settings


def shop_profile() -> dict[str, Any]:
    """The shop's stored profile (``{"name", "timezone", "currency", "language"}``, only what
    the shop has set) of the database in ``DATABASE_URL``; empty when there is none yet.

    Cheap enough for hot paths: a cached copy is trusted for a couple of seconds. A database
    that does not exist (a SQLite file never created) or cannot be read yields an empty
    profile rather than an error, so the environment's defaults apply.
    """
    return dict(_settings().get(SHOP_KEY, {}))


def names_sealed() -> bool:
    """Whether customers' names are written encrypted (the ``customer_names`` setting; off
    when never set), as cheaply as :func:`shop_profile`."""
    return bool(_settings().get(NAMES_KEY, {}).get(NAMES_ENCRYPT, False))


personal.seal_names_when(names_sealed)


def _read_settings(url: str) -> dict[str, dict[str, Any]]:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and (not parsed.database or parsed.database == ":memory:"
                                                  or not Path(parsed.database).exists()):
        return {}  # never create a database file just to look for settings
    current = db.open_session(url)
    if current is not None:  # read in the caller's transaction: no second connection (db.open_session)
        try:
            return dict(snapshot(current).settings)
        except SQLAlchemyError:
            pass  # that transaction has failed: read on a connection of its own, as below
    try:
        with db.transaction(url, readonly=True) as session:
            return dict(snapshot(session).settings)
    except (SQLAlchemyError, OMSError):
        return {}  # not migrated yet, or unreachable: the environment's defaults apply


def clear_cache() -> None:
    """Forget every snapshot (tests that recreate a database under the same URL, restores)."""
    with _lock:
        _cache.clear()
        _profiles.clear()


# --- webhook subscriptions and kit components bump the version by themselves ---------------------

_SELF_BUMPING = (WebhookSubscription, KitComponent)


@event.listens_for(Session, "do_orm_execute")
def _reference_statement(state: ORMExecuteState) -> None:
    """``insert/update/delete`` of a subscription or a kit component run through a session."""
    if (state.is_insert or state.is_update or state.is_delete) and state.bind_mapper is not None \
            and state.bind_mapper.class_ in _SELF_BUMPING:
        state.session.connection().execute(_BUMP)
        state.session.info["refdata_bumped"] = True


@event.listens_for(WebhookSubscription, "after_insert")
@event.listens_for(WebhookSubscription, "after_update")
@event.listens_for(WebhookSubscription, "after_delete")
@event.listens_for(KitComponent, "after_insert")
@event.listens_for(KitComponent, "after_update")
@event.listens_for(KitComponent, "after_delete")
def _reference_flushed(mapper: Mapper[Any], connection: Connection, target: Any) -> None:
    """A subscription or kit component added, changed or deleted as an ORM object (flushed by
    the unit of work)."""
    connection.execute(_BUMP)
