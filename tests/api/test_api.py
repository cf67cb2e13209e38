"""The open API over real HTTP: tokens and scopes, idempotent creation, the error shape,
paging, transitions, and parity with the services the pages call."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from core.errors import OMSError
from core.permissions import scoped_actor
from core.services import api_tokens, orders
from tests.api.conftest import Client, free_port
from tests.factories import ADMIN, make_product, order_input, pack_by_scan

ROOT = Path(__file__).resolve().parents[2]
ORDER = dict(channel="PHONE", customer_name="张三", phone="13800138000", province="上海", city="上海市",
             district="浦东新区", address="世纪大道 100 号", payment_method="wechat_pay", payment_status="paid")


def token(role: str = "admin", scopes: list[str] | None = None, name: str = "shop") -> str:
    return api_tokens.create_token(name, role, scopes or ["orders:read", "orders:write", "stock:read",
                                                          "products:read"], ADMIN).token


def body(*lines: tuple[str, int], **kw: object) -> dict[str, object]:
    return {**ORDER, "lines": [{"sku": s, "qty": q} for s, q in lines], **kw}


def all_orders() -> list[str]:
    return list(orders.search_orders(ADMIN, limit=10_000)["number"])


# --- authentication and scopes -----------------------------------------------------------------


def test_missing_bad_and_revoked_tokens_are_401_in_the_callers_language(api: Client) -> None:
    good = token()
    missing = api.call("GET", "/orders", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert missing.status == 401 and missing.body["code"] == "api.token_missing"
    assert "令牌" in missing.body["message"] and missing.body["fields"] == []
    bad = api.call("GET", "/orders", token=good + "x")
    assert (bad.status, bad.body["code"]) == (401, "api.token_invalid")
    assert api.call("GET", "/orders", token=good).status == 200
    assert api_tokens.list_tokens(ADMIN)[0].last_used_at is not None  # last use recorded
    api_tokens.revoke_token("shop", ADMIN)
    revoked = api.call("GET", "/orders", token=good)
    assert (revoked.status, revoked.body["code"]) == (401, "api.token_invalid")


def test_scopes_narrow_the_role_and_the_role_still_limits_the_scopes(api: Client) -> None:
    make_product("A1", stock_by_wh={"SH": 5})
    stock_only = token(scopes=["stock:read"], name="stock-feed")
    assert api.call("GET", "/stock?sku=A1", token=stock_only).status == 200
    refused = api.call("GET", "/orders", token=stock_only)
    assert (refused.status, refused.body["code"]) == (403, "error.permission")
    assert api.call("POST", "/orders", body(("A1", 1)), token=stock_only).status == 403
    warehouse = token("warehouse", ["orders:read", "orders:write"], name="wms")  # may ship, not create
    assert api.call("POST", "/orders", body(("A1", 1)), token=warehouse).status == 403
    assert all_orders() == []


def test_token_service_is_admin_only_and_stores_only_a_hash(db_url: str) -> None:
    from core.errors import PermissionDenied
    from tests.factories import CLERK

    with pytest.raises(PermissionDenied):
        api_tokens.create_token("x", "clerk", ["orders:read"], CLERK)
    new = api_tokens.create_token("x", "clerk", ["orders:read"], ADMIN)
    from sqlalchemy import text

    from core import db

    with db.transaction(db_url, readonly=True) as s:  # closed at once: an open read blocks PG's TRUNCATE
        stored = s.execute(text("select token_hash, prefix from api_tokens")).one()
    assert stored.token_hash == api_tokens.hash_token(new.token) and new.token not in stored
    with pytest.raises(OMSError) as taken:
        api_tokens.create_token("x", "clerk", ["orders:read"], ADMIN)
    assert taken.value.key == "api.name_taken"


# --- creation: idempotency and validation ------------------------------------------------------


def test_a_retried_create_with_the_same_key_gives_one_order(api: Client) -> None:
    make_product("A1", "10.00", stock_by_wh={"SH": 5})
    api.token = token()
    first = api.call("POST", "/orders", body(("A1", 2)), headers={"Idempotency-Key": "k-1"})
    assert first.status == 201, first.body
    again = api.call("POST", "/orders", body(("A1", 2)), headers={"Idempotency-Key": "k-1"})
    assert again.status == 200 and again.headers.get("idempotent-replayed") == "true"
    assert again.body == first.body and first.body["total"] == "20.00"
    assert all_orders() == [first.body["number"]]
    other = api.call("POST", "/orders", body(("A1", 3)), headers={"Idempotency-Key": "k-1"})
    assert (other.status, other.body["code"]) == (409, "api.idempotency_mismatch")
    assert len(all_orders()) == 1
    # the channel's external reference is deduplicated by the service, key or not
    ref = api.call("POST", "/orders", body(("A1", 1), external_ref="EXT-9"))
    dup = api.call("POST", "/orders", body(("A1", 1), external_ref="EXT-9"))
    assert ref.status == 201 and (dup.status, dup.body["code"]) == (409, "error.conflict")


def test_invalid_bodies_are_422_in_one_shape_and_write_nothing(api: Client) -> None:
    make_product("A1", stock_by_wh={"SH": 5})
    api.token = token()
    unknown = api.call("POST", "/orders", body(("A1", 1), colour="red"))
    assert unknown.status == 422
    assert unknown.body["fields"] == [{"field": "colour", "row": None, "reason": "unknown field"}]
    wrong = api.call("POST", "/orders", body(("A1", 1), ("NOPE", 0)), headers={"Accept-Language": "en"})
    assert wrong.status == 422 and wrong.body["code"] == "error.validation"
    assert {(f["field"], f["row"]) for f in wrong.body["fields"]} >= {("sku", 2), ("qty", 2)}
    assert set(wrong.body) == {"code", "message", "fields"}
    broken = api.call("POST", "/orders", raw=b"{not json")
    assert (broken.status, broken.body["code"]) == (422, "api.bad_request")
    short = api.call("POST", "/orders", body(("A1", 9)))
    assert (short.status, short.body["code"]) == (409, "error.insufficient_stock")
    assert all_orders() == []


def test_not_found_is_404(api: Client) -> None:
    api.token = token()
    for path in ("/orders/SO-NOPE", "/products/NOPE", "/no/such/path"):
        reply = api.call("GET", path)
        assert reply.status == 404 and set(reply.body) == {"code", "message", "fields"}, path


# --- reads ---------------------------------------------------------------------------------------


def test_cursor_paging_walks_the_service_list_once(api: Client) -> None:
    make_product("A1", "10.00", stock_by_wh={"SH": 50})
    for _ in range(5):
        orders.create_order(order_input(("A1", 1)), ADMIN)
    api.token = token()
    seen, cursor, pages = [], None, 0
    while True:
        page = api.call("GET", "/orders?limit=2&channel=PHONE" + (f"&cursor={cursor}" if cursor else ""))
        assert page.status == 200, page.body
        seen += [o["number"] for o in page.body["items"]]
        pages += 1
        cursor = page.body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and seen == all_orders()
    assert api.call("GET", "/orders?status=cancelled").body["items"] == []
    assert api.call("GET", "/orders?cursor=%%%").body["code"] == "api.bad_cursor"


def test_stock_and_products(api: Client) -> None:
    make_product("A1", "12.50", stock_by_wh={"SH": 5, "GZ": 2})
    api.token = token()
    levels = api.call("GET", "/stock?sku=A1").body["items"]
    assert {(r["warehouse"], r["on_hand"], r["available"]) for r in levels} == {("SH", 5, 5), ("GZ", 2, 2)}
    assert api.call("GET", "/stock?sku=A1&warehouse=GZ").body["items"][0]["available"] == 2
    product = api.call("GET", "/products/A1").body
    assert product["unit_price"] == "12.50" and product["available"] == 7
    assert [p["sku"] for p in api.call("GET", "/products?q=A1").body["items"]] == ["A1"]


# --- transitions ---------------------------------------------------------------------------------


def test_cancel_releases_stock_and_ship_records_the_parcel(api: Client) -> None:
    make_product("A1", "10.00", stock_by_wh={"SH": 5})
    api.token = token()
    gone = api.call("POST", "/orders", body(("A1", 2))).body["number"]
    assert api.call("GET", "/stock?sku=A1").body["items"][0]["available"] == 3
    cancelled = api.call("POST", f"/orders/{gone}/cancel", {"note": "customer called"})
    assert cancelled.status == 200 and cancelled.body["status"] == "cancelled"
    assert api.call("GET", "/stock?sku=A1").body["items"][0]["available"] == 5
    again = api.call("POST", f"/orders/{gone}/confirm")
    assert (again.status, again.body["code"]) == (409, "error.transition")

    number = api.call("POST", "/orders", body(("A1", 1))).body["number"]
    assert api.call("POST", f"/orders/{number}/pick").body["status"] == "picking"
    pack_by_scan(orders.order_id_by_number(number))
    no_tracking = api.call("POST", f"/orders/{number}/ship", {"carrier": "SF"})
    assert no_tracking.status == 422 and no_tracking.body["fields"][0]["field"] == "tracking_no"
    shipped = api.call("POST", f"/orders/{number}/ship", {"carrier": "SF", "tracking_no": "SF123"})
    assert shipped.status == 200, shipped.body
    assert (shipped.body["status"], shipped.body["carrier"], shipped.body["tracking_no"]) == ("shipped", "SF", "SF123")
    assert api.call("GET", "/stock?sku=A1").body["items"][0]["on_hand"] == 4
    stale = api.call("POST", f"/orders/{number}/cancel", {"expected_version": 1})
    assert stale.status == 409


# --- parity with the services ---------------------------------------------------------------------


def test_the_api_answers_what_the_service_answers(api: Client) -> None:
    make_product("A1", "10.00", stock_by_wh={"SH": 10})
    secret = token("clerk", ["orders:read", "orders:write"], name="pos")
    api.token = secret
    actor = scoped_actor("api:pos", "clerk", ["orders:read", "orders:write"])
    via_api = api.call("POST", "/orders", body(("A1", 2), discount="1.50")).body
    via_service = orders.create_order(order_input(("A1", 2), discount="1.50"), actor)
    differs = {"id", "number", "customer_created"}  # the second order finds the first one's customer
    assert {k: v for k, v in via_api.items() if k not in differs} == {
        k: (str(v) if k == "total" else list(v) if k in ("shortages", "split_to", "gifts", "gifts_skipped") else v)
        for k, v in dataclasses.asdict(via_service).items() if k not in differs}
    detail = orders.order_detail(via_service.id, actor)
    got = api.call("GET", f"/orders/{via_service.number}").body
    assert (got["status"], got["total"], got["phone" if "phone" in got else "ship_phone"]) == (
        detail.header["status"], str(detail.header["total"]), detail.header["ship_phone"])
    assert got["allowed_transitions"] == list(detail.allowed_transitions)
    # the same refusal: a clerk may not ship
    refused = api.call("POST", f"/orders/{via_service.number}/ship", {"carrier": "SF", "tracking_no": "1"})
    with pytest.raises(OMSError) as service_refusal:
        orders.transition(via_service.id, "shipped", actor, carrier="SF", tracking_no="1")
    assert (refused.status, refused.body["code"]) == (403, service_refusal.value.key)
    bad = order_input(("A1", 0), channel="NOPE")
    with pytest.raises(OMSError) as invalid:
        orders.create_order(bad, actor)
    reply = api.call("POST", "/orders", body(("A1", 0), channel="NOPE"))
    assert reply.body["code"] == invalid.value.key
    assert [(f["field"], f["row"]) for f in reply.body["fields"]] == [
        (i.field, i.row) for i in invalid.value.issues]  # type: ignore[attr-defined]


# --- limits ----------------------------------------------------------------------------------------


def test_rate_limit_per_token_and_body_size(api_server: Callable[..., Client]) -> None:
    api = api_server(rate=0.01, burst=2, max_body=300)
    one, two = token(name="one"), token(name="two")
    assert [api.call("GET", "/orders", token=one).status for _ in range(2)] == [200, 200]
    limited = api.call("GET", "/orders", token=one)
    assert (limited.status, limited.body["code"]) == (429, "api.rate_limited")
    assert int(limited.headers["retry-after"]) >= 1
    assert api.call("GET", "/orders", token=two).status == 200  # buckets are per token
    big = api.call("POST", "/orders", body(*[(f"SKU-{i}", 1) for i in range(20)]), token=two)
    assert (big.status, big.body["code"]) == (413, "api.body_too_large")


def test_oms_api_serve_serves_openapi_and_docs(db_url: str) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": db_url}
    proc = subprocess.Popen([sys.executable, "-m", "core.cli", "api", "serve", "--port", str(port),
                             "--log-level", "warning"], cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/openapi.json", timeout=5) as r:  # noqa: S310
                    spec = r.read().decode()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.2)
        assert '"/orders/{number}/ship"' in spec
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/docs", timeout=5) as r:  # noqa: S310
            assert r.status == 200
    finally:
        proc.terminate()
        proc.wait(10)


def test_an_order_created_through_the_api_earns_its_gift(api: Client) -> None:
    """Gift rules (赠品) sit in create_order, so the API applies them like the order form."""
    from core.services.rules_admin import RuleInput, save_rule
    from tests.factories import MANAGER

    make_product("A1", "10.00", stock_by_wh={"SH": 5})
    make_product("GIFT", "1.00", stock_by_wh={"SH": 5})
    save_rule(None, RuleInput("a1 gift", "gift", 1, {"field": "skus", "op": "contains", "value": "A1"},
                              {"gift": "GIFT", "qty": 1}), MANAGER)
    api.token = token()
    made = api.call("POST", "/orders", body(("A1", 2)))
    assert made.status == 201 and made.body["total"] == "20.00"
    detail = orders.order_detail(orders.order_id_by_number(made.body["number"]), ADMIN)
    assert detail.lines[["sku", "is_gift", "qty_reserved"]].values.tolist() == [["A1", False, 2], ["GIFT", True, 1]]
