"""Channel stock sync on the real database: policies and overrides (validated, permission-checked,
audited), ATS per SKU and channel, and the sync pass publishing ``stock.changed`` only when a
figure moved by the channel's threshold — with the event in the outbox for the right channel's
subscription, and stock moved by orders and adjustments flowing through."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from alembic import command
from sqlalchemy import insert, inspect, select

from core import db
from core.domain.channel_stock import Figure
from core.errors import NotFound, PermissionDenied, ValidationError
from core.models import AuditLog, Channel, ChannelStockPublished, Notification, WebhookSubscription
from core.schema import alembic_config, upgrade
from core.services import channel_stock as cs
from core.services import inventory, orders
from core.services.channel_stock import OverrideInput, PolicyInput
from core.timeutil import utcnow
from core.worker import periodic
from tests.factories import ADMIN, CLERK, MANAGER, make_product, order_input


def _subscribe(name: str, channel: str | None = None) -> None:
    with db.transaction() as s:
        channel_id = s.execute(select(Channel.id).where(Channel.code == channel)).scalar_one() if channel else None
        s.execute(insert(WebhookSubscription).values(
            name=name, url=f"http://127.0.0.1:9/{name}", secret="s" * 32, events=["stock.changed"],
            channel_id=channel_id, active=True, created_at=utcnow(), created_by="admin"))


def _outbox() -> list[tuple[str, dict]]:
    with db.transaction(readonly=True) as s:
        return [(r.recipient or "", r.payload) for r in s.execute(
            select(Notification).where(Notification.event == "stock.changed").order_by(Notification.id)).scalars()]


def _ats(sku: str) -> dict[str, int]:
    frame = cs.channel_ats(CLERK, skus=[sku])
    return dict(zip(frame["channel"], frame["ats"].astype(int), strict=True))


def test_shares_buffers_maximums_and_overrides(db_url: str) -> None:
    make_product("A1", stock_by_wh={"SH": 60, "GZ": 40})
    make_product("B2", stock_by_wh={"SH": 10})
    cs.save_policy(PolicyInput("TMALL", 60, buffer=5), MANAGER)
    cs.save_policy(PolicyInput("jd", "40", maximum=10), MANAGER)  # codes are normalised, numbers may be text
    assert _ats("A1") == {"JD": 10, "TMALL": 57}
    assert _ats("B2") == {"JD": 4, "TMALL": 3}
    cs.save_override(OverrideInput("TMALL", "B2", share_pct=50, buffer=0), MANAGER)
    assert _ats("B2") == {"JD": 4, "TMALL": 5}
    assert list(cs.list_overrides(CLERK)["sku"]) == ["B2"]
    cs.remove_override("TMALL", "B2", MANAGER)
    assert _ats("B2") == {"JD": 4, "TMALL": 3}
    wide = cs.ats_by_sku(CLERK).set_index("sku")
    assert wide.loc["A1", ["available", "JD", "TMALL", "offered", "overlap"]].tolist() == [100, 10, 57, 67, 0]
    audit = _audit_actions()
    assert audit.count("channel_stock.policy") == 2 and "channel_stock.override_removed" in audit


def _audit_actions() -> list[str]:
    with db.transaction(readonly=True) as s:
        return list(s.execute(select(AuditLog.action).order_by(AuditLog.id)).scalars())


def test_shares_past_100_percent_are_refused_unless_oversell_is_explicit(db_url: str) -> None:
    make_product("A1", stock_by_wh={"SH": 10})
    cs.save_policy(PolicyInput("TMALL", 60), MANAGER)
    with pytest.raises(ValidationError) as over:
        cs.save_policy(PolicyInput("JD", 50), MANAGER)
    assert [(i.field, i.message, i.params) for i in over.value.issues] == [
        ("share_pct", "cs.issue_shares_over", {"total": 110, "channels": "JD, TMALL"})]
    assert list(cs.list_policies(CLERK)["channel"]) == ["TMALL"]  # nothing written
    cs.save_policy(PolicyInput("JD", 40), MANAGER)
    with pytest.raises(ValidationError) as sku_over:  # an override may not break the rule for one SKU
        cs.save_override(OverrideInput("JD", "A1", share_pct=50), MANAGER)
    assert sku_over.value.issues[0].message == "cs.issue_sku_shares_over"
    assert sku_over.value.issues[0].params["sku"] == "A1"
    cs.save_policy(PolicyInput("POS", 100, oversell=True), MANAGER)
    assert _ats("A1") == {"JD": 4, "POS": 10, "TMALL": 6}
    assert cs.ats_by_sku(CLERK).set_index("sku").loc["A1", "overlap"] == 10


def test_de_list_at_zero(db_url: str) -> None:
    make_product("A1", stock_by_wh={"SH": 3})
    cs.save_policy(PolicyInput("TMALL", 50, buffer=3, delist_at_zero=True), MANAGER)
    cs.save_policy(PolicyInput("JD", 50, buffer=3), MANAGER)
    frame = cs.channel_ats(CLERK, skus=["A1"]).set_index("channel")
    assert frame.loc["TMALL", ["ats", "listed"]].tolist() == [0, False]
    assert frame.loc["JD", ["ats", "listed"]].tolist() == [0, True]


def test_bad_input_is_named_field_by_field_and_writes_nothing(db_url: str) -> None:
    make_product("A1", stock_by_wh={"SH": 3})
    with pytest.raises(ValidationError) as bad:
        cs.save_policy(PolicyInput("NOPE", 101, buffer=-1, maximum=10**10, threshold=0, oversell="yes"), MANAGER)
    assert {(i.field, i.message) for i in bad.value.issues} == {
        ("channel", "issue.unknown_value"), ("share_pct", "mdp.between"), ("buffer", "mdp.between"),
        ("maximum", "mdp.between"), ("threshold", "mdp.between"), ("oversell", "issue.one_of")}
    with pytest.raises(ValidationError) as no_policy:
        cs.save_override(OverrideInput("JD", "ZZ", share_pct=2.5), MANAGER)
    assert {(i.field, i.message) for i in no_policy.value.issues} == {
        ("channel", "cs.issue_no_policy"), ("sku", "issue.unknown_sku"), ("share_pct", "issue.whole_number")}
    cs.save_policy(PolicyInput("JD", 10), MANAGER)
    with pytest.raises(ValidationError) as empty:
        cs.save_override(OverrideInput("JD", "A1"), MANAGER)
    assert empty.value.issues[0].message == "cs.issue_override_empty"
    with pytest.raises(PermissionDenied):
        cs.save_policy(PolicyInput("JD", 10), CLERK)
    with pytest.raises(NotFound):
        cs.channel_ats(CLERK, channel="TMALL")
    assert list(cs.list_policies(CLERK)["channel"]) == ["JD"] and cs.list_overrides(CLERK).empty


def test_sync_publishes_on_threshold_once_for_the_right_channel(db_url: str) -> None:
    make_product("A1", stock_by_wh={"SH": 100})
    cs.save_policy(PolicyInput("TMALL", 50, threshold=10), MANAGER)
    cs.save_policy(PolicyInput("JD", 50, threshold=10), MANAGER)
    _subscribe("tmall-only", "TMALL")
    assert cs.sync() == cs.SyncResult(checked=2, published=2)  # the first figures
    first = _outbox()
    assert [(url, p["channel"], p["ats"], p["previous_ats"]) for url, p in first] == [
        ("http://127.0.0.1:9/tmall-only", "TMALL", 50, None)]  # JD's event had no subscriber
    assert cs.sync().published == 0  # nothing moved

    inventory.adjust_stock("A1", "SH", -10, "damage", ADMIN)  # 50 → 45 on each: below the threshold
    assert cs.sync().published == 0 and len(_outbox()) == 1
    orders.create_order(order_input(("A1", 12)), ADMIN)  # 78 available → 39: 11 below what was published
    periodic.sync_channel_stock()  # the worker's task of every minute
    assert len(_outbox()) == 2  # TMALL's change; JD's went nowhere (nobody subscribed to it)
    assert cs.sync().published == 0  # published once
    url, payload = _outbox()[-1]
    assert url == "http://127.0.0.1:9/tmall-only"
    assert {k: payload[k] for k in ("channel", "sku", "ats", "previous_ats", "listed")} == {
        "channel": "TMALL", "sku": "A1", "ats": 39, "previous_ats": 50, "listed": True}
    assert payload["at"] == utcnow().isoformat() + "Z"
    with db.transaction(readonly=True) as s:
        assert sorted(s.execute(select(ChannelStockPublished.ats)).scalars()) == [39, 39]


def test_reaching_zero_is_published_whatever_the_threshold(db_url: str) -> None:
    make_product("A1", stock_by_wh={"SH": 4})
    cs.save_policy(PolicyInput("TMALL", 100, threshold=1000, delist_at_zero=True), MANAGER)
    _subscribe("all")
    cs.sync()
    orders.create_order(order_input(("A1", 4)), ADMIN)
    assert cs.sync().published == 1
    payload = _outbox()[-1][1]
    assert (payload["ats"], payload["previous_ats"], payload["listed"]) == (0, 4, False)


def test_sync_needs_the_allocation_permission(db_url: str) -> None:
    with pytest.raises(PermissionDenied):
        cs.sync(CLERK)


def test_migration_0018_downgrades_and_upgrades(db_url: str) -> None:
    tables = {"channel_stock_policies", "channel_stock_overrides", "channel_stock_published"}
    engine = db.get_engine(db_url)
    cfg = alembic_config(engine)
    try:
        with engine.connect() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0017_webhooks")
            conn.commit()
        assert not tables & set(inspect(engine).get_table_names())
    finally:
        upgrade(engine)
    assert tables <= set(inspect(engine).get_table_names())
    cs.save_policy(PolicyInput("TMALL", 60), MANAGER)
    assert list(cs.list_policies(CLERK)["share_pct"]) == [60]


def test_a_pass_that_read_an_old_figure_does_not_publish_it_again(db_url: str) -> None:
    """Two workers syncing at once: the second one's write is conditional on the figure it read."""
    make_product("A1", stock_by_wh={"SH": 100})
    cs.save_policy(PolicyInput("TMALL", 50), MANAGER)
    cs.sync()
    with db.transaction() as s:  # as a pass that read "nothing published yet" before the first one committed
        channels = cs._channels(s)
        row = cs._compute(s, channels, cs._active_products(s))[0]
        assert not cs._claim(s, row, None, utcnow())
        assert not cs._claim(s, row, Figure(49, True), utcnow())
        assert cs._claim(s, row, Figure(50, True), utcnow())


def test_two_managers_saving_at_once_cannot_pass_100_percent_together(db_url: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Each save checks the shares after a pause, so both transactions are open at once: the
    second must see the first's share (PostgreSQL: the channel-row lock; SQLite: BEGIN IMMEDIATE)."""
    check = cs._check_shares

    def slow_check(session: object) -> None:
        time.sleep(0.5)
        check(session)  # type: ignore[arg-type]

    monkeypatch.setattr(cs, "_check_shares", slow_check)

    def save(channel: str) -> str:
        try:
            cs.save_policy(PolicyInput(channel, 60), MANAGER)
        except ValidationError as exc:
            return exc.issues[0].message
        return "saved"

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(save, ["TMALL", "JD"]))
    assert outcomes == ["cs.issue_shares_over", "saved"]
    assert len(cs.list_policies(CLERK)) == 1
