"""``GET /channels/{code}/stock`` over real HTTP: the channel's available-to-sell per SKU, the
same figures the service gives the page, paging, scope and the error shape."""

from __future__ import annotations

from core.services import api_tokens
from core.services import channel_stock as cs
from core.services.channel_stock import OverrideInput, PolicyInput
from tests.api.conftest import Client
from tests.factories import ADMIN, MANAGER, make_product


def _token(scopes: list[str], name: str = "feed") -> str:
    return api_tokens.create_token(name, "admin", scopes, ADMIN).token


def test_a_channel_reads_its_figures_page_by_page(api: Client) -> None:
    for sku, units in (("A1", 100), ("B2", 10), ("C3", 0)):
        make_product(sku, stock_by_wh={"SH": units})
    cs.save_policy(PolicyInput("TMALL", 60, buffer=5, delist_at_zero=True), MANAGER)
    cs.save_policy(PolicyInput("JD", 40), MANAGER)
    cs.save_override(OverrideInput("TMALL", "B2", maximum=2), MANAGER)
    api.token = _token(["stock:read"])
    first = api.call("GET", "/channels/tmall/stock?limit=2")
    assert first.status == 200, first.body
    assert first.body == {"channel": "TMALL", "next_after": "B2", "items": [
        {"sku": "A1", "available": 100, "ats": 57, "listed": True},
        {"sku": "B2", "available": 10, "ats": 2, "listed": True}]}
    rest = api.call("GET", "/channels/TMALL/stock?limit=2&after=B2").body
    assert rest == {"channel": "TMALL", "next_after": None,
                    "items": [{"sku": "C3", "available": 0, "ats": 0, "listed": False}]}
    named = api.call("GET", "/channels/JD/stock?sku=B2&sku=A1").body["items"]
    service = cs.channel_ats(ADMIN, skus=["A1", "B2"], channel="JD")
    assert [(i["sku"], i["ats"]) for i in named] == list(zip(service["sku"], service["ats"], strict=True))


def test_unknown_channel_scope_and_bad_paging_are_refused_in_one_shape(api: Client) -> None:
    make_product("A1", stock_by_wh={"SH": 5})
    api.token = _token(["stock:read"])
    missing = api.call("GET", "/channels/POS/stock", headers={"Accept-Language": "en"})
    assert (missing.status, missing.body["code"]) == (404, "cs.no_policy")
    assert "POS" in missing.body["message"] and set(missing.body) == {"code", "message", "fields"}
    assert api.call("GET", "/channels/POS/stock?limit=0").status == 422
    assert api.call("GET", "/channels/POS/stock?limit=5000").status == 422
    orders_only = api.call("GET", "/channels/POS/stock", token=_token(["orders:read"], "orders"))
    assert (orders_only.status, orders_only.body["code"]) == (403, "error.permission")
