"""Kits over the open API (real HTTP): ``/stock``, ``/products/{sku}`` and
``/channels/{code}/stock`` show a kit's availability derived from its components, and an order
for a kit through ``POST /orders`` reserves the components."""

from __future__ import annotations

from core.services import api_tokens, kits
from core.services import channel_stock as cs
from core.services.channel_stock import PolicyInput
from tests.api.conftest import Client
from tests.api.test_api import body
from tests.factories import ADMIN, MANAGER, make_product


def test_a_kit_is_available_as_its_components_allow(api: Client) -> None:
    make_product("CUP", "10.00", stock_by_wh={"SH": 9, "GZ": 4})
    make_product("TEA", "30.00", stock_by_wh={"SH": 3, "GZ": 1})
    make_product("GIFT", "45.00")
    kits.save_kit("GIFT", [("CUP", 2), ("TEA", 1)], MANAGER)
    cs.save_policy(PolicyInput("TMALL", 100), MANAGER)
    api.token = api_tokens.create_token("shop", "admin", ["stock:read", "products:read", "orders:write"], ADMIN).token
    levels = api.call("GET", "/stock?sku=GIFT").body["items"]
    assert {(r["warehouse"], r["on_hand"], r["reserved"], r["available"]) for r in levels} == {
        ("SH", 0, 0, 3), ("GZ", 0, 0, 1)}  # SH: min(9 // 2, 3), GZ: min(4 // 2, 1)
    assert api.call("GET", "/products/GIFT").body["available"] == 4
    assert api.call("GET", "/channels/TMALL/stock?sku=GIFT").body["items"][0]["available"] == 4
    created = api.call("POST", "/orders", {**body(("GIFT", 2)), "warehouse": "SH"}, headers={"Idempotency-Key": "k1"})
    assert created.status == 201, created.body
    assert api.call("GET", "/stock?sku=GIFT&warehouse=SH").body["items"][0]["available"] == 1
    assert {r["sku"]: r["reserved"] for r in api.call("GET", "/stock?sku=CUP&sku=TEA&warehouse=SH").body["items"]} \
        == {"CUP": 4, "TEA": 2}
