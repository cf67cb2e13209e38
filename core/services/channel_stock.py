"""Channel stock sync: each sales channel's policy, per-SKU overrides, the available-to-sell
(ATS) figure per SKU and channel, and the sync pass that tells the channels by ``stock.changed``
webhook events (docs/channel-stock.md).

What a channel may sell of a SKU is computed by :mod:`core.domain.channel_stock` from the
SKU's **available** units: Σ (on hand − reserved) over the active warehouses, less the units
backordered orders still wait for (an arrival serves them first). Channels are not tied to
warehouses in this shop's model — an order from any channel is allocated to any warehouse by
the allocation rules — so every channel's share is of the same pool.

Reads need ``stock.view`` (the API's ``stock:read`` scope); changing policies and overrides
is a stock-allocation decision (``allocation.decide``: managers and the admin), validated
(every bad field named, nothing written), audited, one transaction. A save that would make
the channels' shares add up past 100 % of the stock — by default or for one SKU with its
overrides — is refused unless the channels beyond the 100 % carry the explicit ``oversell``
flag. Channels without a policy are not synced.

The sync (:func:`sync`; the worker runs it every minute, ``core.worker.periodic``) compares
each figure with the one last published to the channel (``channel_stock_published``) and
publishes ``stock.changed`` only where it is worth it (``worth_publishing``: the first figure,
reaching or leaving zero, a listing going up or down, a change of at least the channel's
threshold). The figures are computed in read transactions (no write lock); each event and
its new reference figure are then written together, the reference by a conditional write
(``WHERE ats = <what this pass read>``), so two workers syncing at once publish each change
once, and a figure read just before a stock change is simply corrected by the next pass. At
most :data:`PUBLISH_BATCH` events go in one write transaction, so even the first pass (every
figure published) never holds the SQLite write lock long enough to stall order entry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import bindparam, delete, func, insert, select, union_all, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core import audit, events, kits
from core import product_rules as fr
from core.db import read_only, rowcount, unit_of_work
from core.domain import channel_stock as rules
from core.domain.channel_stock import Figure, Override, Policy
from core.errors import FieldIssue, NotFound, ValidationError
from core.models import (
    Channel,
    ChannelStockOverride,
    ChannelStockPolicy,
    ChannelStockPublished,
    Order,
    OrderLine,
    Product,
    StockLevel,
    Warehouse,
)
from core.permissions import SYSTEM, Actor, require
from core.timeutil import utcnow

CHUNK = 500  # products per read and per IN list
PUBLISH_BATCH = 50  # changes published per write transaction (bench/channel_stock.py)
MAX_PAGE = 1000  # SKUs per page of figures (the API)
POLICY_COLUMNS = ["channel", "name", "share_pct", "buffer", "maximum", "delist_at_zero", "oversell", "threshold",
                  "updated_at", "updated_by"]
OVERRIDE_COLUMNS = ["channel", "sku", "share_pct", "buffer", "maximum", "updated_at", "updated_by"]
ATS_COLUMNS = ["channel", "sku", "available", "ats", "listed", "share_pct", "buffer", "maximum", "oversell"]
EDIT = "allocation.decide"


@dataclass(frozen=True)
class PolicyInput:
    """A channel's policy as typed (numbers may be strings: the service checks them)."""

    channel: str
    share_pct: Any
    buffer: Any = 0
    maximum: Any = None  # None / blank: no maximum
    delist_at_zero: bool = False
    oversell: bool = False
    threshold: Any = 1


@dataclass(frozen=True)
class OverrideInput:
    """One SKU's exceptions for one channel; None / blank keeps the channel's value."""

    channel: str
    sku: str
    share_pct: Any = None
    buffer: Any = None
    maximum: Any = None


@dataclass(frozen=True)
class SyncResult:
    checked: int  # (channel, SKU) figures compared
    published: int  # stock.changed events (one per changed figure, whoever subscribed)


@dataclass(frozen=True)
class _Channel:
    id: int
    code: str
    policy: Policy
    threshold: int


@dataclass(frozen=True)
class _Row:
    channel: _Channel
    product_id: int
    sku: str
    available: int
    policy: Policy  # with the SKU's override applied
    figure: Figure


# --- loading ---------------------------------------------------------------------------------


def _channels(session: Session) -> list[_Channel]:
    """Active channels with a policy, by code."""
    rows = session.execute(
        select(Channel.id, Channel.code, ChannelStockPolicy).join(ChannelStockPolicy, ChannelStockPolicy.channel_id
                                                                  == Channel.id)
        .where(Channel.active.is_(True)).order_by(Channel.code)).all()
    return [_Channel(cid, code, Policy(p.share_pct, p.buffer, p.maximum, p.delist_at_zero, p.oversell), p.threshold)
            for cid, code, p in rows]


def _overrides(session: Session, product_ids: list[int]) -> dict[int, dict[int, Override]]:
    """product id → channel id → override."""
    found: dict[int, dict[int, Override]] = {}
    for o in session.execute(select(ChannelStockOverride).where(ChannelStockOverride.product_id.in_(product_ids))
                             ).scalars():
        found.setdefault(o.product_id, {})[o.channel_id] = Override(o.share_pct, o.buffer, o.maximum)
    return found


def _available(session: Session, product_ids: list[int]) -> dict[int, int]:
    """Units free to promise per product: Σ (on hand − reserved) over active warehouses (a
    kit's: the kits its components build, :func:`core.kits.derived_levels`), less
    what backordered orders still wait for (not below 0 per product: ``figures`` clamps)."""
    levels = union_all(
        select(StockLevel.product_id, StockLevel.warehouse_id,
               (StockLevel.on_hand - StockLevel.reserved).label("available")),
        kits.derived_levels()).subquery()
    free = dict(session.execute(
        select(levels.c.product_id, func.sum(levels.c.available))
        .join(Warehouse, Warehouse.id == levels.c.warehouse_id)
        .where(Warehouse.active.is_(True), levels.c.product_id.in_(product_ids))
        .group_by(levels.c.product_id)).all())
    waiting = dict(session.execute(
        select(OrderLine.product_id, func.sum(OrderLine.qty - OrderLine.qty_reserved))
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.status == "backordered", OrderLine.product_id.in_(product_ids))
        .group_by(OrderLine.product_id)).all())
    return {pid: int(free.get(pid) or 0) - int(waiting.get(pid) or 0) for pid in product_ids}


def _compute(session: Session, channels: list[_Channel], products: list[tuple[int, str]]) -> list[_Row]:
    """Every channel's figure for ``products`` (id, sku) — all channels together, since the
    pooled channels' shares depend on one another."""
    if not channels or not products:
        return []
    ids = [pid for pid, _ in products]
    available = _available(session, ids)
    overrides = _overrides(session, ids)
    rows = []
    for pid, sku in products:
        mine = overrides.get(pid, {})
        policies = {c.code: rules.with_override(c.policy, mine.get(c.id)) for c in channels}
        result = rules.figures(available[pid], policies)
        rows += [_Row(c, pid, sku, max(available[pid], 0), policies[c.code], result[c.code]) for c in channels]
    return rows


def _chunks(items: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


def _active_products(session: Session, skus: list[str] | None = None, *, after: str | None = None,
                     limit: int | None = None) -> list[tuple[int, str]]:
    stmt = select(Product.id, Product.sku).where(Product.active.is_(True)).order_by(Product.sku)
    if skus is not None:
        stmt = stmt.where(Product.sku.in_(set(skus)))
    if after is not None:
        stmt = stmt.where(Product.sku > after)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [(pid, sku) for pid, sku in session.execute(stmt)]


# --- reads -----------------------------------------------------------------------------------


@read_only
def list_policies(session: Session, actor: Actor) -> pd.DataFrame:
    """The channels' policies (``POLICY_COLUMNS``), by channel code."""
    require(actor, "stock.view")
    rows = session.execute(
        select(Channel.code, Channel.name, ChannelStockPolicy.share_pct, ChannelStockPolicy.buffer,
               ChannelStockPolicy.maximum, ChannelStockPolicy.delist_at_zero, ChannelStockPolicy.oversell,
               ChannelStockPolicy.threshold, ChannelStockPolicy.updated_at, ChannelStockPolicy.updated_by)
        .join(Channel, Channel.id == ChannelStockPolicy.channel_id).order_by(Channel.code)).all()
    return pd.DataFrame(rows, columns=POLICY_COLUMNS)


@read_only
def list_overrides(session: Session, actor: Actor, channel: str | None = None) -> pd.DataFrame:
    """Per-SKU overrides (``OVERRIDE_COLUMNS``), by channel and SKU."""
    require(actor, "stock.view")
    stmt = (select(Channel.code, Product.sku, ChannelStockOverride.share_pct, ChannelStockOverride.buffer,
                   ChannelStockOverride.maximum, ChannelStockOverride.updated_at, ChannelStockOverride.updated_by)
            .join(Channel, Channel.id == ChannelStockOverride.channel_id)
            .join(Product, Product.id == ChannelStockOverride.product_id).order_by(Channel.code, Product.sku))
    if channel:
        stmt = stmt.where(Channel.code == channel)
    return pd.DataFrame(session.execute(stmt).all(), columns=OVERRIDE_COLUMNS)


def _row_values(row: _Row) -> tuple[Any, ...]:
    return (row.channel.code, row.sku, row.available, row.figure.ats, row.figure.listed, row.policy.share_pct,
            row.policy.buffer, row.policy.maximum, row.policy.oversell)


@read_only
def channel_ats(session: Session, actor: Actor, *, skus: list[str] | None = None, channel: str | None = None,
                after: str | None = None, limit: int = MAX_PAGE) -> pd.DataFrame:
    """ATS per active SKU and synced channel (``ATS_COLUMNS``), by SKU then channel: the SKUs
    named (else every active one), only ``channel`` when given (refused when it has no
    policy), at most ``limit`` SKUs after the SKU ``after`` (paging)."""
    require(actor, "stock.view")
    channels = _channels(session)
    channel = None if channel is None else channel.strip().upper()
    if channel is not None and channel not in {c.code for c in channels}:
        raise NotFound.coded("cs.no_policy", channel=channel)
    products = _active_products(session, skus, after=after, limit=max(1, min(limit, MAX_PAGE)))
    rows = [_row_values(r) for chunk in _chunks(products) for r in _compute(session, channels, chunk)
            if channel is None or r.channel.code == channel]
    return pd.DataFrame(rows, columns=ATS_COLUMNS)


@read_only
def ats_by_sku(session: Session, actor: Actor) -> pd.DataFrame:
    """One row per active SKU: ``sku``, ``available``, each synced channel's ATS (a column per
    channel code), ``offered`` (Σ ATS) and ``overlap`` — units offered on more than one
    channel, which only ``oversell`` channels can cause and which could be sold twice."""
    require(actor, "stock.view")
    channels = _channels(session)
    records: list[dict[str, Any]] = []
    for chunk in _chunks(_active_products(session)):
        by_sku: dict[str, dict[str, Any]] = {}
        for r in _compute(session, channels, chunk):
            entry = by_sku.setdefault(r.sku, {"sku": r.sku, "available": r.available, "_figures": {}})
            entry[r.channel.code] = r.figure.ats
            entry["_figures"][r.channel.code] = r.figure
        for entry in by_sku.values():
            figures = entry.pop("_figures")
            entry["offered"] = sum(f.ats for f in figures.values())
            entry["overlap"] = rules.overlap(entry["available"], figures)
            records.append(entry)
    return pd.DataFrame(records, columns=["sku", "available", *(c.code for c in channels), "offered", "overlap"])


# --- policies and overrides ------------------------------------------------------------------


def _flag(raw: object, field: str, issues: list[FieldIssue]) -> bool:
    if not isinstance(raw, bool):
        issues.append(FieldIssue(field, "issue.one_of", value=raw, params={"choices": "true, false"}))
        return False
    return raw


def _channel_id(session: Session, code: object, issues: list[FieldIssue]) -> int | None:
    text = str(code or "").strip().upper()
    found = session.execute(select(Channel.id).where(Channel.code == text, Channel.active.is_(True))).scalar_one_or_none()
    if found is None:
        issues.append(FieldIssue("channel", "issue.unknown_value", value=code, params={"value": text}))
    return found


def _raise(issues: list[FieldIssue]) -> None:
    if issues:
        raise ValidationError(issues)


def _share_issues(session: Session, channels: list[_Channel]) -> Iterator[list[FieldIssue]]:
    """The channels' defaults, then every SKU with overrides, as share checks."""
    yield rules.share_issues({c.code: c.policy for c in channels})
    overridden = sorted(set(session.execute(select(ChannelStockOverride.product_id)).scalars()))
    for chunk in _chunks(overridden):
        overrides = _overrides(session, chunk)
        skus = dict(session.execute(select(Product.id, Product.sku).where(Product.id.in_(chunk))).all())
        for pid in chunk:
            yield rules.share_issues({c.code: rules.with_override(c.policy, overrides[pid].get(c.id))
                                      for c in channels}, skus[pid])


def _check_shares(session: Session) -> None:
    """Refuse shares over 100 % for the channels' defaults or for any SKU with overrides (the
    first one found is named)."""
    _raise(next((issues for issues in _share_issues(session, _channels(session)) if issues), []))


def _one_editor_at_a_time(session: Session) -> None:
    """Two managers saving 60 % for two channels at once would each check the other's old share
    and pass together: policy and override saves first lock the channel rows (in id order), so
    the second waits and checks the first's result. (On SQLite ``BEGIN IMMEDIATE`` serialises
    them already; the figures never exceed what is available either way — the domain scales.)"""
    session.execute(select(Channel.id).order_by(Channel.id).with_for_update()).all()


def _upsert(session: Session, model: type[ChannelStockPolicy | ChannelStockOverride], key: dict[str, int],
            values: dict[str, Any]) -> dict[str, Any] | None:
    """Insert or update the row of ``key``; its values before (None: created)."""
    row = session.execute(select(model).where(*(getattr(model, k) == v for k, v in key.items()))
                          .with_for_update()).scalar_one_or_none()
    if row is None:
        session.execute(insert(model).values(**key, **values))
        return None
    before = {k: getattr(row, k) for k in values if k not in ("updated_at", "updated_by")}
    session.execute(update(model).where(model.id == row.id).values(**values))  # type: ignore[attr-defined]
    return before


@unit_of_work
def save_policy(session: Session, data: PolicyInput, actor: Actor) -> None:
    """Create or change a channel's policy (see the module docstring for the refusals)."""
    require(actor, EDIT)
    issues: list[FieldIssue] = []
    channel_id = _channel_id(session, data.channel, issues)
    values = {
        "share_pct": fr.whole(data.share_pct, "share_pct", issues, low=0, high=rules.MAX_SHARE, required=True),
        "buffer": fr.whole(data.buffer, "buffer", issues, low=0, high=rules.MAX_UNITS, required=False) or 0,
        "maximum": fr.whole(data.maximum, "maximum", issues, low=0, high=rules.MAX_UNITS, required=False),
        "delist_at_zero": _flag(data.delist_at_zero, "delist_at_zero", issues),
        "oversell": _flag(data.oversell, "oversell", issues),
        "threshold": fr.whole(data.threshold, "threshold", issues, low=1, high=rules.MAX_THRESHOLD, required=True),
    }
    _raise(issues)
    assert channel_id is not None  # an unknown channel is an issue above
    _one_editor_at_a_time(session)
    stamp = {"updated_at": utcnow(), "updated_by": actor.username}
    before = _upsert(session, ChannelStockPolicy, {"channel_id": channel_id}, values | stamp)
    _check_shares(session)
    audit.record(session, actor, "channel_stock.policy", "channel", str(data.channel).strip().upper(),
                 before=before, after=values)


@unit_of_work
def remove_policy(session: Session, channel: str, actor: Actor) -> None:
    """Stop syncing a channel: its policy, overrides and published figures go."""
    require(actor, EDIT)
    issues: list[FieldIssue] = []
    channel_id = _channel_id(session, channel, issues)
    policy = None if channel_id is None else session.execute(
        select(ChannelStockPolicy).where(ChannelStockPolicy.channel_id == channel_id)).scalar_one_or_none()
    if policy is None:
        raise NotFound.coded("cs.no_policy", channel=channel)
    before = {"share_pct": policy.share_pct, "buffer": policy.buffer, "maximum": policy.maximum,
              "oversell": policy.oversell}
    for model in (ChannelStockOverride, ChannelStockPublished, ChannelStockPolicy):
        session.execute(delete(model).where(model.channel_id == channel_id))
    audit.record(session, actor, "channel_stock.policy_removed", "channel", channel, before=before)


@unit_of_work
def save_override(session: Session, data: OverrideInput, actor: Actor) -> None:
    """Create or change one SKU's exceptions for a channel that has a policy."""
    require(actor, EDIT)
    issues: list[FieldIssue] = []
    channel_id = _channel_id(session, data.channel, issues)
    if channel_id is not None and session.execute(select(ChannelStockPolicy.id).where(
            ChannelStockPolicy.channel_id == channel_id)).first() is None:
        issues.append(FieldIssue("channel", "cs.issue_no_policy", value=data.channel, params={"channel": data.channel}))
    sku = str(data.sku or "").strip()
    product_id = session.execute(select(Product.id).where(Product.sku == sku, Product.active.is_(True))
                                 ).scalar_one_or_none()
    if product_id is None:
        issues.append(FieldIssue("sku", "issue.unknown_sku", value=data.sku, params={"sku": sku}))
    values = {
        "share_pct": fr.whole(data.share_pct, "share_pct", issues, low=0, high=rules.MAX_SHARE, required=False),
        "buffer": fr.whole(data.buffer, "buffer", issues, low=0, high=rules.MAX_UNITS, required=False),
        "maximum": fr.whole(data.maximum, "maximum", issues, low=0, high=rules.MAX_UNITS, required=False),
    }
    if not issues and all(v is None for v in values.values()):
        issues.append(FieldIssue("share_pct", "cs.issue_override_empty"))
    _raise(issues)
    assert channel_id is not None and product_id is not None
    _one_editor_at_a_time(session)
    before = _upsert(session, ChannelStockOverride, {"channel_id": channel_id, "product_id": product_id},
                     values | {"updated_at": utcnow(), "updated_by": actor.username})
    _check_shares(session)
    audit.record(session, actor, "channel_stock.override", "product", sku,
                 before=None if before is None else {"channel": data.channel, **before},
                 after={"channel": data.channel, **values})


@unit_of_work
def remove_override(session: Session, channel: str, sku: str, actor: Actor) -> None:
    """The SKU follows its channel's policy again."""
    require(actor, EDIT)
    gone = session.execute(delete(ChannelStockOverride).where(
        ChannelStockOverride.channel_id == select(Channel.id).where(Channel.code == channel).scalar_subquery(),
        ChannelStockOverride.product_id == select(Product.id).where(Product.sku == sku).scalar_subquery()))
    if rowcount(gone) != 1:
        raise NotFound.coded("cs.no_override", channel=channel, sku=sku)
    audit.record(session, actor, "channel_stock.override_removed", "product", sku, before={"channel": channel})


# --- the sync --------------------------------------------------------------------------------


_PUB = ChannelStockPublished.__table__
_FIRST = {d.__name__.rsplit(".", 1)[-1]: d.insert(_PUB).on_conflict_do_nothing().returning(_PUB.c.product_id)
          for d in (postgresql, sqlite)}
_NEXT = (update(_PUB).where(_PUB.c.channel_id == bindparam("c"), _PUB.c.product_id == bindparam("p"),
                            _PUB.c.ats == bindparam("old_ats"), _PUB.c.listed == bindparam("old_listed"))
         .values(ats=bindparam("new_ats"), listed=bindparam("new_listed"), published_at=bindparam("at"))
         .returning(_PUB.c.product_id))


def _claim(session: Session, row: _Row, previous: Figure | None, now: dt.datetime) -> bool:
    """Replace the published figure by ``row``'s if it is still ``previous`` (False: another
    pass got there first and published this change itself). Prebuilt statements: a first pass
    writes one per (channel, SKU). RETURNING, not rowcount: psycopg reports none for an
    ``INSERT … ON CONFLICT DO NOTHING``."""
    connection = session.connection()
    if previous is None:
        result = connection.execute(_FIRST[connection.dialect.name], {
            "channel_id": row.channel.id, "product_id": row.product_id, "ats": row.figure.ats,
            "listed": row.figure.listed, "published_at": now})
    else:
        result = connection.execute(_NEXT, {"c": row.channel.id, "p": row.product_id, "old_ats": previous.ats,
                                            "old_listed": previous.listed, "new_ats": row.figure.ats,
                                            "new_listed": row.figure.listed, "at": now})
    return result.first() is not None


def _payload(row: _Row, previous: Figure | None, now: dt.datetime) -> dict[str, Any]:
    return {"channel": row.channel.code, "sku": row.sku, "ats": row.figure.ats, "listed": row.figure.listed,
            "previous_ats": None if previous is None else previous.ats,
            "previous_listed": None if previous is None else previous.listed,
            "at": now.isoformat() + "Z"}


_Change = tuple[_Row, Figure | None]  # a figure worth publishing and the one published before


@read_only
def _changes(session: Session, products: list[tuple[int, str]]) -> tuple[int, list[_Change]]:
    """How many figures ``products`` have, and those worth publishing — read without the write
    lock; :func:`_publish` writes each only if the published figure is still the one read."""
    rows = _compute(session, _channels(session), products)
    ids = [pid for pid, _ in products]
    published = {(c, p): Figure(ats, listed) for c, p, ats, listed in session.execute(
        select(_PUB.c.channel_id, _PUB.c.product_id, _PUB.c.ats, _PUB.c.listed).where(_PUB.c.product_id.in_(ids)))}
    changes = [(row, published.get((row.channel.id, row.product_id))) for row in rows]
    return len(rows), [(row, before) for row, before in changes
                       if rules.worth_publishing(before, row.figure, row.channel.threshold)]


@unit_of_work
def _publish(session: Session, changes: list[_Change]) -> int:
    """Each change's ``stock.changed`` event and new published figure, together."""
    now = utcnow()
    sent = 0
    for row, previous in changes:
        if _claim(session, row, previous, now):
            events.publish(session, "stock.changed", _payload(row, previous, now), channel_id=row.channel.id)
            sent += 1
    return sent


def sync(actor: Actor = SYSTEM, skus: list[str] | None = None) -> SyncResult:
    """One sync pass over every active SKU (or ``skus``): figures read :data:`CHUNK` products
    at a time, changes published at most :data:`PUBLISH_BATCH` per write transaction (module
    docstring); what was compared and published."""
    require(actor, EDIT)
    checked = sent = 0
    for chunk in _chunks(_sync_products(skus)):
        figures, changes = _changes(chunk)
        checked += figures
        for start in range(0, len(changes), PUBLISH_BATCH):
            sent += _publish(changes[start:start + PUBLISH_BATCH])
    return SyncResult(checked, sent)


@read_only
def _sync_products(session: Session, skus: list[str] | None) -> list[tuple[int, str]]:
    """The products a pass goes through: none while no channel has a policy."""
    return _active_products(session, skus) if _channels(session) else []
