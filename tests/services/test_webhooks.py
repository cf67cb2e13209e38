"""Webhooks end to end: orders and returns queue signed events in the transaction of the change,
the worker's pass POSTs them to a real receiver on 127.0.0.1 that verifies each signature;
retries with backoff after a 500 and a dropped connection, in event order per subscription;
dead letter after the last try; replay with the same event id; the shipment write-back reaches
only the order's channel; a refused change queues nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from core import db
from core.errors import IllegalTransition, InsufficientStock, ValidationError
from core.models import Notification
from core.services import aftersales, webhook_delivery, webhooks
from core.services.aftersales import RMALine, RMARequest
from core.services.orders import create_order, transition
from core.timeutil import pin, utcnow
from core.worker import periodic
from tests.aftersales_data import delivered_order
from tests.factories import ADMIN, CLERK, SERVICE, WAREHOUSE, make_product, order_input, pack_by_scan
from tests.webhook_receiver import Receiver, running


@pytest.fixture
def receiver(db_url: str) -> Iterator[Receiver]:
    with running() as r:
        yield r


def subscribe(receiver: Receiver, path: str, events: list[str], channel: str | None = None) -> int:
    new = webhooks.create_subscription(receiver.url(path), events, ADMIN, name=path.strip("/"), channel=channel)
    assert new.secret.startswith("whsec_")
    receiver.secrets[path] = new.secret
    return new.info.id


def rows() -> list[Notification]:
    with db.transaction(readonly=True) as s:
        return list(s.execute(select(Notification).where(Notification.channel == "webhook")
                              .order_by(Notification.id)).scalars())


def test_each_event_is_delivered_once_signed_and_in_order(receiver: Receiver) -> None:
    subscribe(receiver, "/all", ["*"])
    make_product("TEA", "10.00", {"SH": 50})
    numbers = [create_order(order_input(("TEA", 1), external_ref=f"P-{i}"), CLERK).number for i in range(3)]
    queued = [(r.event, r.event_id) for r in rows()]
    assert [e for e, _ in queued] == ["order.created", "order.confirmed"] * 3
    assert len({i for _, i in queued}) == 6  # one id per event
    periodic.deliver_webhooks()  # the worker's task of every minute
    got = receiver.delivered("/all")
    assert [(r.event, r.event_id) for r in got] == queued and all(r.verified for r in got)
    assert [r.body["data"]["order"]["number"] for r in got] == [n for n in numbers for _ in range(2)]
    first = got[0].body
    assert first["id"] == got[0].event_id and first["version"] == 1 and first["occurred_at"].endswith("Z")
    order = first["data"]["order"]
    assert order["total"] == "10.00" and order["lines"][0] == {
        "line_no": 1, "sku": "TEA", "qty": 1, "unit_price": "10.00", "discount": "0.00", "line_total": "10.00",
        "warehouse": "SH", "qty_shipped": 0, "qty_returned": 0}
    assert not {"ship_name", "ship_phone", "ship_address", "phone", "customer_name", "email"} & set(order)
    assert "13800138000" not in str(first) and "张三" not in str(first)  # no personal data
    assert webhook_delivery.deliver_due() == webhook_delivery.WebhookResult()  # nothing twice
    assert len(receiver.received) == 6
    assert {(r.status, r.attempts, r.response_code) for r in rows()} == {("sent", 1, 200)}


def test_a_500_and_a_dropped_connection_are_retried_with_backoff_and_later_events_wait(receiver: Receiver) -> None:
    subscribe(receiver, "/flaky", ["order.created"])
    receiver.script["/flaky"] = [500, "drop"]
    make_product("TEA", "10.00", {"SH": 50})
    clock = utcnow()
    with pin(clock):
        first = create_order(order_input(("TEA", 1)), CLERK).number
        second = create_order(order_input(("TEA", 2)), CLERK).number
        assert webhook_delivery.deliver_due() == webhook_delivery.WebhookResult(retrying=1)
    head, later = rows()
    assert (head.status, head.attempts, head.response_code, head.status_reason) == (
        "pending", 1, 500, "webhooks.reason.retrying")
    assert head.last_error == "500 error 500"
    assert head.next_attempt_at == clock + dt.timedelta(minutes=1)
    assert (later.status, later.attempts, later.next_attempt_at) == ("pending", 0, None)  # not tried: waits its turn
    with pin(clock + dt.timedelta(seconds=50)):
        assert webhook_delivery.deliver_due() == webhook_delivery.WebhookResult()  # not due yet, nor the later one
    with pin(clock + dt.timedelta(minutes=1)):
        assert webhook_delivery.deliver_due().retrying == 1
    head = rows()[0]
    assert head.attempts == 2 and head.response_code is None and "RemoteDisconnected" in (head.last_error or "")
    assert head.next_attempt_at == clock + dt.timedelta(minutes=3)  # 1 + 2
    with pin(clock + dt.timedelta(minutes=3)):
        assert webhook_delivery.deliver_due() == webhook_delivery.WebhookResult(sent=2)
    assert [(r.answer, r.attempt, r.body["data"]["order"]["number"]) for r in receiver.received] == [
        (500, 1, first), ("drop", 2, first), (200, 3, first), (200, 1, second)]
    assert len({r.event_id for r in receiver.received[:3]}) == 1  # the same event each time
    assert [(r.status, r.attempts) for r in rows()] == [("sent", 3), ("sent", 1)]


def test_dead_letter_after_the_last_try_then_a_replay_delivers_the_same_event_id(receiver: Receiver) -> None:
    subscribe(receiver, "/down", ["order.created"])
    receiver.script["/down"] = [503] * webhook_delivery.MAX_ATTEMPTS
    make_product("TEA", "10.00", {"SH": 50})
    create_order(order_input(("TEA", 1)), CLERK)
    clock, pauses = utcnow(), []
    for attempt in range(1, webhook_delivery.MAX_ATTEMPTS + 1):
        with pin(clock):
            webhook_delivery.deliver_due()
        [row] = rows()
        assert row.attempts == attempt
        if row.next_attempt_at is not None:
            pauses.append(int((row.next_attempt_at - clock).total_seconds() // 60))
            clock = row.next_attempt_at
    assert pauses == [1, 2, 4, 8, 16, 32, 64, 120, 120]
    assert (row.status, row.status_reason, row.response_code) == ("failed", "webhooks.reason.dead", 503)
    dead = webhooks.list_deliveries(ADMIN, statuses=["failed"])
    assert list(dead["webhook_event_id"]) == [row.event_id] and list(dead["webhook_attempts"]) == [10]

    done = webhooks.replay(row.event_id or "", ADMIN)
    assert done.event == "order.created" and len(done.queued) == 1
    with pytest.raises(Exception) as again:  # a second replay while the first still waits: refused
        webhooks.replay(row.event_id or "", ADMIN)
    assert getattr(again.value, "key", "") == "webhooks.nothing_to_replay"
    with pin(clock):
        assert webhook_delivery.deliver_due().sent == 1
    last = receiver.received[-1]
    assert (last.answer, last.event_id, last.verified, last.attempt) == (200, row.event_id, True, 1)
    assert last.body == receiver.received[0].body  # the same event: id, time and data
    assert [(r.status, r.event_id) for r in rows()] == [("failed", row.event_id), ("sent", row.event_id)]


def test_a_4xx_is_refused_for_good_but_429_is_retried(receiver: Receiver) -> None:
    subscribe(receiver, "/strict", ["order.created"])
    subscribe(receiver, "/busy", ["order.created"])
    receiver.script["/strict"] = [422]
    receiver.script["/busy"] = [429]
    make_product("TEA", "10.00", {"SH": 50})
    create_order(order_input(("TEA", 1)), CLERK)
    assert webhook_delivery.deliver_due() == webhook_delivery.WebhookResult(retrying=1, failed=1)
    strict, busy = rows()
    assert (strict.status, strict.status_reason, strict.response_code) == ("failed", "webhooks.reason.refused", 422)
    assert (busy.status, busy.status_reason, busy.response_code) == ("pending", "webhooks.reason.retrying", 429)


def test_a_signature_made_with_another_secret_fails_the_receivers_check(receiver: Receiver) -> None:
    subscribe(receiver, "/mine", ["order.created"])
    receiver.secrets["/mine"] = "whsec_not-the-subscriptions-secret"
    make_product("TEA", "10.00", {"SH": 50})
    create_order(order_input(("TEA", 1)), CLERK)
    webhook_delivery.deliver_due()
    [got] = receiver.received
    assert not got.verified and got.answer == 401
    assert rows()[0].status == "failed" and rows()[0].response_code == 401


def test_the_shipment_write_back_reaches_only_the_orders_channel(receiver: Receiver) -> None:
    subscribe(receiver, "/tmall", ["order.shipped"], channel="TMALL")
    subscribe(receiver, "/jd", ["order.shipped"], channel="JD")
    make_product("TEA", "10.00", {"SH": 50})
    made = create_order(order_input(("TEA", 2), channel="TMALL", external_ref="tb000123"), CLERK)
    pack_by_scan(made.id, ADMIN)
    transition(made.id, "shipped", ADMIN, carrier="顺丰", tracking_no="SF1234567890")
    webhook_delivery.deliver_due()
    assert receiver.delivered("/jd") == []
    [shipped] = receiver.delivered("/tmall")
    assert shipped.event == "order.shipped" and shipped.verified
    shipment = shipped.body["data"]["shipment"]
    assert shipment == {"channel": "TMALL", "external_ref": "tb000123", "carrier": "顺丰",
                        "tracking_no": "SF1234567890", "shipped_at": shipment["shipped_at"],
                        "lines": [{"line_no": 1, "sku": "TEA", "qty": 2, "warehouse": "SH"}]}
    assert shipped.body["data"]["order"]["status"] == "shipped"


def test_refused_changes_queue_nothing(receiver: Receiver) -> None:
    subscribe(receiver, "/all", ["*"])
    make_product("TEA", "10.00", {"SH": 1})
    with pytest.raises(InsufficientStock):
        create_order(order_input(("TEA", 5)), CLERK)
    assert rows() == []
    made = create_order(order_input(("TEA", 1)), CLERK)
    before = len(rows())
    with pytest.raises(IllegalTransition):
        transition(made.id, "delivered", ADMIN)  # confirmed → delivered is no edge
    assert len(rows()) == before == 2
    transition(made.id, "cancelled", ADMIN)
    assert [r.event for r in rows()][-1] == "order.cancelled"


def test_returns_are_published_with_their_order_and_channel(receiver: Receiver) -> None:
    make_product("TEA", "10.00", {"SH": 50})
    order = delivered_order(("TEA", 2))
    subscribe(receiver, "/returns", ["return.opened", "return.received", "return.refunded"])
    opened = aftersales.open_rma(RMARequest(order.id, "return", "quality", (RMALine(1, 1),)), SERVICE)
    aftersales.transition_rma(opened.id, "approved", ADMIN)
    aftersales.transition_rma(opened.id, "received", WAREHOUSE)
    aftersales.refund_rma(opened.id, ADMIN)
    webhook_delivery.deliver_due()
    got = receiver.delivered("/returns")
    assert [r.event for r in got] == ["return.opened", "return.received", "return.refunded"]
    rma = got[0].body["data"]["return"]
    assert (rma["number"], rma["order"], rma["channel"], rma["kind"], rma["status"]) == (
        opened.number, order.number, "PHONE", "return", "requested")
    assert rma["lines"] == [{"line_no": 1, "sku": "TEA", "qty": 1}]
    assert got[1].body["data"]["return"]["status"] == "received"
    assert got[2].body["data"]["refund"] == {"amount": "10.00", "payment_status": "partially_refunded"}


def test_subscriptions_refuse_other_schemes_unknown_events_and_events_the_caller_may_not_read(db_url: str) -> None:
    for url, code in (("ftp://example.com/hook", "webhooks.bad_scheme"), ("file:///etc/passwd", "webhooks.bad_scheme"),
                      ("javascript:alert(1)", "webhooks.bad_scheme"), ("http://", "webhooks.bad_url"),
                      ("http://example.com:99999/", "webhooks.bad_url")):
        with pytest.raises(ValidationError) as refused:
            webhooks.create_subscription(url, ["order.created"], ADMIN)
        assert [(i.field, i.message) for i in refused.value.issues] == [("url", code)], url
    with pytest.raises(ValidationError) as refused:
        webhooks.create_subscription("https://example.com/h", ["order.created", "order.teleported"], ADMIN)
    assert [(i.field, i.row, i.message) for i in refused.value.issues] == [("events", 2, "webhooks.unknown_event")]
    from core.permissions import scoped_actor

    orders_only = scoped_actor("api:wms", "manager", ["webhooks:manage", "orders:read"])
    with pytest.raises(ValidationError) as refused:
        webhooks.create_subscription("https://example.com/h", ["order.shipped", "return.opened"], orders_only)
    assert [(i.row, i.message) for i in refused.value.issues] == [(2, "webhooks.event_not_allowed")]
    assert webhooks.list_subscriptions(ADMIN) == []


def test_deactivating_gives_up_waiting_deliveries_and_stops_new_ones(receiver: Receiver) -> None:
    sub = subscribe(receiver, "/gone", ["order.created"])
    make_product("TEA", "10.00", {"SH": 50})
    create_order(order_input(("TEA", 1)), CLERK)
    webhooks.deactivate_subscription(sub, ADMIN)
    create_order(order_input(("TEA", 1)), CLERK)
    assert [(r.status, r.status_reason) for r in rows()] == [("failed", "webhooks.reason.unsubscribed")]
    assert webhook_delivery.deliver_due() == webhook_delivery.WebhookResult() and receiver.received == []


def _statements_of_an_order() -> list[str]:
    """The SQL statements one warm ``create_order`` runs."""
    from sqlalchemy import event

    seen: list[str] = []
    engine = db.get_engine()

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement)

    create_order(order_input(("TEA", 1)), CLERK)  # warm: reference data cached
    event.listen(engine, "before_cursor_execute", record)
    try:
        create_order(order_input(("TEA", 1)), CLERK)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def test_an_order_pays_for_events_only_when_someone_listens(receiver: Receiver) -> None:
    """Without a subscriber to its events, creating an order reads nothing more (the cached
    snapshot says nobody listens); with one, it reads the order back once per event and
    writes one outbox row per event."""
    make_product("TEA", "10.00", {"SH": 50})
    subscribe(receiver, "/returns", ["return.opened"])  # listens, but not to orders
    quiet = _statements_of_an_order()
    assert not [s for s in quiet if "webhook_subscriptions" in s]
    assert len([s for s in quiet if s.startswith("SELECT") and "FROM sequences" in s]) == 1  # the one version read
    subscribe(receiver, "/orders", ["order.created"])
    heard = _statements_of_an_order()
    extra = [s for s in heard if s not in quiet or heard.count(s) > quiet.count(s)]
    assert len(heard) - len(quiet) == 3, extra  # the order, its lines, the outbox row
