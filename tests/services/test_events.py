"""Integration events go into the outbox once per matching subscription, in the transaction of
the change, all copies with one stable event id; a channel's subscription sees only that
channel's orders; nobody subscribed → nothing is written."""

from __future__ import annotations

from sqlalchemy import insert, select, update

from core import db, events
from core.models import Channel, Notification, WebhookSubscription
from core.timeutil import utcnow


def _subscribe(name: str, event_names: list[str], *, channel: str | None = None, active: bool = True) -> None:
    with db.transaction() as s:
        channel_id = s.execute(select(Channel.id).where(Channel.code == channel)).scalar_one() if channel else None
        s.execute(insert(WebhookSubscription).values(
            name=name, url=f"http://127.0.0.1:9/{name}", secret="s" * 32, events=event_names, channel_id=channel_id,
            active=active, created_at=utcnow(), created_by="admin"))


def _publish(event: str, *, channel: str | None = None) -> str | None:
    with db.transaction() as s:
        channel_id = s.execute(select(Channel.id).where(Channel.code == channel)).scalar_one() if channel else None
        return events.publish(s, event, {"number": "SO1"}, channel_id=channel_id)


def _webhook_rows() -> list[Notification]:
    with db.transaction(readonly=True) as s:
        return list(s.execute(select(Notification).where(Notification.channel == "webhook")
                              .order_by(Notification.id)).scalars())


def test_nobody_subscribed_writes_nothing(db_url: str) -> None:
    assert _publish("order.created") is None
    assert _webhook_rows() == []


def test_one_row_per_matching_subscription_sharing_one_event_id(db_url: str) -> None:
    _subscribe("all", ["*"])
    _subscribe("shipped-only", ["order.shipped"])
    _subscribe("paused", ["*"], active=False)
    _subscribe("tmall", ["order.created"], channel="TMALL")
    event_id = _publish("order.created")
    rows = _webhook_rows()
    assert [r.recipient for r in rows] == ["http://127.0.0.1:9/all"]
    assert rows[0].event_id == event_id and rows[0].status == "pending" and rows[0].payload == {"number": "SO1"}

    second = _publish("order.created", channel="TMALL")
    rows = [r for r in _webhook_rows() if r.event_id == second]
    assert sorted(r.recipient or "" for r in rows) == ["http://127.0.0.1:9/all", "http://127.0.0.1:9/tmall"]
    assert second != event_id


def test_a_new_or_paused_subscription_counts_from_the_next_event_whatever_wrote_it(db_url: str) -> None:
    """The subscriptions are cached with the reference data (core.refdata): any write to them —
    an ``insert`` statement, an ORM object, an ``update`` — must bump its version, or a
    process that cached "nobody listens" would never queue anything."""
    assert _publish("order.created") is None  # caches the snapshot: nobody subscribed
    _subscribe("by-statement", ["*"])
    assert _publish("order.created") is not None
    with db.transaction() as s:
        s.add(WebhookSubscription(name="by-object", url="http://127.0.0.1:9/obj", secret="s" * 32, events=["*"],
                                  active=True, created_at=utcnow(), created_by="admin"))
    third = _publish("order.created")
    assert sorted(r.recipient or "" for r in _webhook_rows() if r.event_id == third) == [
        "http://127.0.0.1:9/by-statement", "http://127.0.0.1:9/obj"]
    with db.transaction() as s:
        s.execute(update(WebhookSubscription).values(active=False))
    assert _publish("order.created") is None
