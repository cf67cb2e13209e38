"""``/webhooks`` over real HTTP: a token subscribes a real receiver (secret once), sees only its
own subscriptions and deliveries, replays an event with the same id, unsubscribes; bad URLs and
missing scopes are refused in the shared error shape."""

from __future__ import annotations

from core.services import api_tokens, webhook_delivery
from tests.api.conftest import Client
from tests.api.test_api import body
from tests.factories import ADMIN, make_product
from tests.webhook_receiver import running


def _token(name: str, scopes: list[str]) -> str:
    return api_tokens.create_token(name, "manager", scopes, ADMIN).token


def test_subscribe_deliver_read_the_log_replay_and_unsubscribe(api: Client) -> None:
    wms = _token("wms", ["webhooks:manage", "orders:read", "orders:write"])
    other = _token("other", ["webhooks:manage", "orders:read"])
    with running() as receiver:
        made = api.call("POST", "/webhooks", {"url": receiver.url("/wms"), "events": ["order.created"]}, token=wms)
        assert made.status == 201 and made.body["secret"].startswith("whsec_")
        assert made.body["events"] == ["order.created"] and made.body["channel"] is None and made.body["active"]
        receiver.secrets["/wms"] = made.body["secret"]
        sub_id = made.body["id"]
        theirs = api.call("POST", "/webhooks", {"url": "https://example.com/in", "events": ["*"],
                                                "channel": "TMALL", "name": "theirs"}, token=other)
        assert theirs.status == 422  # "*" includes return.* and stock.changed, which this token may not read
        assert {f["field"] for f in theirs.body["fields"]} == {"events"}

        listed = api.call("GET", "/webhooks", token=wms)
        assert [s["id"] for s in listed.body["items"]] == [sub_id] and "secret" not in listed.body["items"][0]
        assert api.call("GET", "/webhooks", token=other).body["items"] == []
        assert api.call("GET", f"/webhooks/{sub_id}/deliveries", token=other).status == 404
        assert api.call("DELETE", f"/webhooks/{sub_id}", token=other).status == 404

        make_product("TEA", "10.00", {"SH": 10})
        assert api.call("POST", "/orders", body(("TEA", 1)), token=wms).status == 201
        webhook_delivery.deliver_due()
        [got] = receiver.delivered("/wms")
        assert got.verified and got.event == "order.created"

        log = api.call("GET", f"/webhooks/{sub_id}/deliveries", token=wms)
        assert log.status == 200
        [entry] = log.body["items"]
        assert (entry["event_id"], entry["status"], entry["attempts"], entry["response_code"]) == (
            got.event_id, "sent", 1, 200)
        assert api.call("POST", f"/webhooks/deliveries/{got.event_id}/replay", token=other).status == 404
        replayed = api.call("POST", f"/webhooks/deliveries/{got.event_id}/replay", token=wms)
        assert replayed.status == 202 and replayed.body == {"event_id": got.event_id, "event": "order.created",
                                                            "queued": 1}
        webhook_delivery.deliver_due()
        assert [r.event_id for r in receiver.delivered("/wms")] == [got.event_id, got.event_id]

        gone = api.call("DELETE", f"/webhooks/{sub_id}", token=wms)
        assert gone.status == 200 and gone.body["active"] is False


def test_bad_urls_unknown_fields_and_missing_scopes_are_refused(api: Client) -> None:
    hooks = _token("hooks", ["webhooks:manage", "orders:read"])
    reader = _token("reader", ["orders:read"])
    refused = api.call("POST", "/webhooks", {"url": "ftp://example.com/in", "events": ["order.shipped"]}, token=hooks)
    assert refused.status == 422 and refused.body["code"] == "error.validation"
    assert [f["field"] for f in refused.body["fields"]] == ["url"]
    assert "http" in refused.body["fields"][0]["reason"]
    extra = api.call("POST", "/webhooks", {"url": "https://example.com/in", "events": ["order.shipped"],
                                           "secret": "mine"}, token=hooks)
    assert extra.status == 422 and extra.body["fields"][0]["field"] == "secret"
    no_scope = api.call("POST", "/webhooks", {"url": "https://example.com/in", "events": ["order.shipped"]},
                        token=reader)
    assert no_scope.status == 403 and no_scope.body["code"] == "error.permission"
    assert api.call("GET", "/webhooks", token=reader).status == 403
    assert api.call("POST", "/webhooks/deliveries/nope/replay", token=hooks).status == 422  # not an event id
    assert api.call("POST", f"/webhooks/deliveries/{'0' * 8}-0000-0000-0000-{'0' * 12}/replay",
                    token=hooks).status == 404
    assert api.call("GET", "/webhooks", token=hooks).body["items"] == []
