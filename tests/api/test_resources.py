"""Products, returns and purchase orders over real HTTP; every endpoint's refusals of bad input
and bad tokens (one shape, nothing written); and parity: each endpoint answers what its
service answers for the same input, refusals included — the API adds no rules of its own."""

from __future__ import annotations

import dataclasses
import itertools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select

from api import values
from core import db
from core.errors import OMSError
from core.models import Base, POLine, StockLevel
from core.permissions import SCOPES, scoped_actor
from core.services import (
    aftersales,
    api_returns,
    api_tokens,
    catalog,
    orders,
    product_master,
    purchasing,
    rma_views,
)
from core.services.purchasing import POLineInput, create_purchase_order, send_po
from tests.aftersales_data import delivered_order
from tests.api.conftest import Client
from tests.factories import ADMIN, BUYER, make_product
from tests.planning_data import make_supplier, warehouse_id

ALL = list(SCOPES)
SUPPLIERS = itertools.count(1)
ACTOR = scoped_actor("api:shop", "admin", ALL)  # what a token "shop" of role admin with every scope is


def token(role: str = "admin", scopes: list[str] | None = None, name: str = "shop") -> str:
    return api_tokens.create_token(name, role, scopes or ALL, ADMIN).token


def snapshot() -> dict[str, int]:
    """Rows of every table, plus the quantities that change in place (reservations, receipts)."""
    with db.transaction(readonly=True) as s:
        counts = {t.name: int(s.execute(select(func.count()).select_from(t)).scalar_one())
                  for t in Base.metadata.sorted_tables}
        counts["Σ reserved"] = int(s.execute(select(func.coalesce(func.sum(StockLevel.reserved), 0))).scalar_one())
        counts["Σ on_hand"] = int(s.execute(select(func.coalesce(func.sum(StockLevel.on_hand), 0))).scalar_one())
        counts["Σ received"] = int(s.execute(select(func.coalesce(func.sum(POLine.qty_received), 0))).scalar_one())
    return counts


def sent_po(product_id: int, qty: int = 10) -> purchasing.POInfo:
    supplier = make_supplier(f"厂 {next(SUPPLIERS)}", 5, 1, product_id)
    po = create_purchase_order(supplier, warehouse_id("SH"), [POLineInput(product_id, qty)], BUYER)
    return send_po(po.id, BUYER)


def line_ids(po_id: int) -> list[int]:
    return [int(x) for x in purchasing.po_detail(po_id, ADMIN).lines["line_id"]]


def refusal(call: Callable[[], Any]) -> OMSError:
    with pytest.raises(OMSError) as caught:
        call()
    return caught.value


def same_refusal(reply: Any, error: OMSError) -> None:
    """The API's refusal is the service's: status class, code, and the fields at fault."""
    assert reply.body["code"] == error.key, reply.body
    issues = getattr(error, "issues", [])
    assert [(f["field"], f["row"]) for f in reply.body["fields"]] == [(i.field, i.row) for i in issues]


# --- the resources ---------------------------------------------------------------------------------


def test_products_page_by_cursor_and_upsert(api: Client) -> None:
    for i in range(5):
        make_product(f"P{i}", "10.00", stock_by_wh={"SH": i})
    api.token = token()
    seen, cursor = [], None
    while True:
        page = api.call("GET", "/products?limit=2" + (f"&cursor={cursor}" if cursor else ""))
        assert page.status == 200, page.body
        seen += [p["sku"] for p in page.body["items"]]
        if (cursor := page.body["next_cursor"]) is None:
            break
    assert seen == ["P0", "P1", "P2", "P3", "P4"]
    assert [p["sku"] for p in api.call("GET", "/products?q=P3").body["items"]] == ["P3"]
    created = api.call("PUT", "/products/NEW-1", {"name": "新品", "unit_price": "12.30", "unit_cost": "6.00",
                                                  "barcodes": ["6901234567892"], "attributes": {"color": "red"}})
    assert created.status == 201, created.body
    assert (created.body["sku"], created.body["unit_price"], created.body["barcodes"]) == (
        "NEW-1", "12.30", ["6901234567892"])
    updated = api.call("PUT", "/products/NEW-1", {"name": "新品 v2", "unit_price": "13.00", "unit_cost": "6.00"})
    assert updated.status == 200 and updated.body["name"] == "新品 v2" and updated.body["barcodes"] == []
    assert api.call("GET", "/products/NEW-1").body["unit_price"] == "13.00"
    stock_only = token(scopes=["products:read"], name="feed")
    denied = api.call("PUT", "/products/NEW-1", {"name": "x", "unit_price": "1.00"}, token=stock_only)
    assert (denied.status, denied.body["code"]) == (403, "error.permission")


def test_a_return_is_opened_once_per_key_and_read_back(api: Client) -> None:
    make_product("A1", "100.00", stock_by_wh={"SH": 10})
    order = delivered_order(("A1", 2))
    api.token = token("service", ["returns:write", "returns:read"], name="desk")
    ask = {"order_number": order.number, "kind": "return", "reason_code": "size", "lines": [{"line_no": 1, "qty": 1}]}
    first = api.call("POST", "/returns", ask, headers={"Idempotency-Key": "r-1"})
    assert first.status == 201, first.body
    assert (first.body["status"], first.body["computed_refund"]) == ("requested", "100.00")
    again = api.call("POST", "/returns", ask, headers={"Idempotency-Key": "r-1"})
    assert again.status == 200 and again.headers.get("idempotent-replayed") == "true" and again.body == first.body
    other = api.call("POST", "/returns", {**ask, "reason_code": "quality"}, headers={"Idempotency-Key": "r-1"})
    assert (other.status, other.body["code"]) == (409, "api.idempotency_mismatch")
    got = api.call("GET", f"/returns/{first.body['number']}")
    assert got.status == 200 and got.body["order_number"] == order.number
    assert [(ln["sku"], ln["qty"]) for ln in got.body["lines"]] == [("A1", 1)]
    too_many = api.call("POST", "/returns", {**ask, "lines": [{"line_no": 1, "qty": 2}]})
    assert too_many.status == 422 and too_many.body["fields"][0]["row"] == 1
    assert api.call("GET", "/returns/RMA-NOPE").status == 404
    assert len(rma_views.list_rmas(ADMIN)) == 1


def test_purchase_orders_list_page_and_receive(api: Client) -> None:
    tea = make_product("TEA", "20.00", stock_by_wh={"SH": 0})
    pos = [sent_po(tea, 5 + i) for i in range(3)]
    api.token = token("buyer", ["purchasing:read", "purchasing:write"], name="erp")
    seen, cursor = [], None
    while True:
        page = api.call("GET", "/purchase-orders?limit=2&status=sent" + (f"&cursor={cursor}" if cursor else ""))
        assert page.status == 200, page.body
        seen += [p["number"] for p in page.body["items"]]
        if (cursor := page.body["next_cursor"]) is None:
            break
    assert seen == [p.number for p in reversed(pos)]
    one = api.call("GET", f"/purchase-orders/{pos[0].number}").body
    line = one["lines"][0]["line_id"]
    got = api.call("POST", f"/purchase-orders/{pos[0].number}/receive", {"lines": {str(line): 2}, "note": "DN-1"})
    assert got.status == 200, got.body
    assert (got.body["status"], got.body["received_units"]) == ("partial", 2)
    over = api.call("POST", f"/purchase-orders/{pos[0].number}/receive", {"lines": {str(line): 4}})
    assert over.status == 422 and over.body["fields"][0]["field"] == "qty"
    assert api.call("GET", "/stock?sku=TEA").body["items"][0]["on_hand"] == 2
    assert api.call("GET", "/purchase-orders?supplier=nobody").body["items"] == []


# --- bad input and bad tokens: one shape, nothing written -------------------------------------------


def test_every_endpoint_refuses_bad_input_and_tokens_and_writes_nothing(api_server: Callable[..., Client]) -> None:
    api = api_server(max_body=4000)
    tea = make_product("TEA", "100.00", stock_by_wh={"SH": 10})
    order = delivered_order(("TEA", 2))
    po = sent_po(tea)
    open_order = orders.create_order(orders.OrderInput(
        channel="PHONE", customer_name="李四", phone="13900139000", province="上海", city="上海市",
        district="浦东新区", address="世纪大道 1 号", payment_method="wechat_pay", payment_status="paid",
        lines=[orders.LineInput("TEA", 1)]), ADMIN)
    good = token()
    revoked = token(name="old")
    api_tokens.revoke_token("old", ADMIN)
    bodies: dict[tuple[str, str], dict[str, Any]] = {
        ("POST", "/orders"): {"channel": "PHONE", "lines": [{"sku": "TEA", "qty": 1}]},
        ("POST", f"/orders/{open_order.number}/cancel"): {"note": "x"},
        ("POST", f"/orders/{open_order.number}/confirm"): {},
        ("POST", f"/orders/{open_order.number}/ship"): {"carrier": "SF", "tracking_no": "1"},
        ("PUT", "/products/TEA"): {"name": "茶", "unit_price": "1.00"},
        ("POST", "/returns"): {"order_number": order.number, "kind": "return", "reason_code": "size",
                               "lines": [{"line_no": 1, "qty": 1}]},
        ("POST", f"/purchase-orders/{po.number}/receive"): {"lines": {str(line_ids(po.id)[0]): 1}},
    }
    wrong_types: dict[str, Any] = {"/orders": {"lines": "many"}, "cancel": {"expected_version": "one"},
                                   "confirm": {"note": 5}, "ship": {"carrier": ["SF"]},
                                   "/products/TEA": {"unit_price": {"a": 1}}, "/returns": {"lines": [{"qty": "x"}]},
                                   "receive": {"lines": ["1"]}}
    reads = ["/orders", f"/orders/{open_order.number}", "/stock?sku=TEA", "/products", "/products/TEA",
             "/purchase-orders", f"/purchase-orders/{po.number}"]
    before = snapshot()
    for (method, path), good_body in bodies.items():
        wrong = next(v for k, v in wrong_types.items() if path.endswith(k))
        cases = [
            ("malformed JSON", dict(raw=b'{"lines": [', token=good), 422, "api.bad_request"),
            ("not UTF-8", dict(raw=b'\xff\xfe{', token=good), 422, "api.bad_request"),
            ("wrong types", dict(body={**good_body, **wrong}, token=good), 422, "error.validation"),
            ("unknown field", dict(body={**good_body, "colour": "red"}, token=good), 422, "error.validation"),
            ("oversize", dict(body={**good_body, "note": "长" * 2000}, token=good), 413, "api.body_too_large"),
            ("no token", dict(body=good_body), 401, "api.token_missing"),
            ("bad token", dict(body=good_body, token=good + "x"), 401, "api.token_invalid"),
            ("revoked token", dict(body=good_body, token=revoked), 401, "api.token_invalid"),
        ]
        for what, kw, status, code in cases:
            reply = api.call(method, path, headers={"Accept-Language": "zh"}, **kw)
            assert (reply.status, reply.body["code"]) == (status, code), (method, path, what, reply.body)
            assert set(reply.body) == {"code", "message", "fields"} and reply.body["message"], (path, what)
            assert all(set(f) == {"field", "row", "reason"} for f in reply.body["fields"]), (path, what)
        assert snapshot() == before, (method, path)
    for path in reads:
        assert api.call("GET", path, token=good + "x").status == 401, path
        assert api.call("GET", path).status == 401, path
    for path in ("/orders?limit=zero", "/products?limit=0", "/purchase-orders?limit=999", "/stock"):
        reply = api.call("GET", path, token=good)
        assert (reply.status, reply.body["code"]) == (422, "error.validation"), path
    assert snapshot() == before


# --- parity: the endpoint answers what the service answers -----------------------------------------


def test_products_answer_what_the_services_answer(api: Client) -> None:
    for sku in ("P1", "P2", "Q1"):
        make_product(sku, "10.00", stock_by_wh={"SH": 3})
    api.token = token()
    assert api.call("GET", "/products?q=P&limit=5").body["items"] == values.records(
        catalog.product_page(ACTOR, query="P", limit=5))
    assert api.call("GET", "/products/Q1").body == values.records(catalog.products_by_sku(["Q1"], ACTOR))[0]
    fields = {"name": "新品", "unit_price": "12.30", "unit_cost": "6.00", "category": "茶", "pack_size": 6}
    via_api = api.call("PUT", "/products/N-API", fields).body
    via_service = product_master.upsert_product(product_master.ProductDraft(sku="N-SVC", **fields), ACTOR)  # type: ignore[arg-type]
    differs = {"id", "sku"}
    expected = dataclasses.asdict(via_service.record) | {"attributes": dict(via_service.record.attributes),
                                                          "barcodes": list(via_service.record.barcodes)}
    assert {k: v for k, v in via_api.items() if k not in differs} == {
        k: v for k, v in values.record(expected).items() if k not in differs}
    bad = {"name": "", "unit_price": "-1", "pack_size": 0}
    reply = api.call("PUT", "/products/N-API", bad)
    assert reply.status == 422
    same_refusal(reply, refusal(lambda: product_master.upsert_product(
        product_master.ProductDraft(sku="N-SVC", **bad), ACTOR)))  # type: ignore[arg-type]


def test_returns_answer_what_the_services_answer(api: Client) -> None:
    make_product("A1", "100.00", stock_by_wh={"SH": 10})
    first, second = delivered_order(("A1", 2)), delivered_order(("A1", 2))
    secret = token()
    api.token = secret
    ask = {"kind": "return", "reason_code": "size", "lines": [{"line_no": 1, "qty": 1}]}
    via_api = api.call("POST", "/returns", {**ask, "order_number": first.number}).body
    req = aftersales.RMARequest(second.id, "return", "size", (aftersales.RMALine(1, 1),))
    via_service = api_returns.rma_result_record(aftersales.open_rma(req, ACTOR))
    differs = {"id", "number"}
    assert {k: v for k, v in via_api.items() if k not in differs} == {
        k: v for k, v in via_service.items() if k not in differs}
    detail = rma_views.rma_detail(via_service["id"], ACTOR)
    got = api.call("GET", f"/returns/{via_service['number']}").body
    assert {k: got[k] for k in detail.header} == values.record(detail.header)
    assert got["lines"] == values.records(detail.lines) and got["actions"] == list(detail.actions)
    too_many = {**ask, "lines": [{"line_no": 1, "qty": 5}]}
    reply = api.call("POST", "/returns", {**too_many, "order_number": first.number})
    same_refusal(reply, refusal(lambda: aftersales.open_rma(dataclasses.replace(
        req, lines=(aftersales.RMALine(1, 5),)), ACTOR)))
    reader = token(scopes=["returns:read"], name="reader")
    reply = api.call("POST", "/returns", {**ask, "order_number": first.number}, token=reader)
    assert reply.status == 403
    same_refusal(reply, refusal(lambda: aftersales.open_rma(req, scoped_actor("api:reader", "admin", ["returns:read"]))))


def test_purchase_orders_answer_what_the_services_answer(api: Client) -> None:
    tea = make_product("TEA", "20.00", stock_by_wh={"SH": 0})
    a, b = sent_po(tea, 6), sent_po(tea, 6)
    api.token = token()
    assert api.call("GET", "/purchase-orders").body["items"] == values.records(
        purchasing.list_purchase_orders(ACTOR, None, 50))
    detail = purchasing.po_detail(a.id, ACTOR)
    assert api.call("GET", f"/purchase-orders/{a.number}").body == {
        **values.record(detail.header), "lines": values.records(detail.lines)}
    via_api = api.call("POST", f"/purchase-orders/{a.number}/receive", {"lines": {str(line_ids(a.id)[0]): 4}}).body
    via_service = purchasing.receive_po(b.id, {line_ids(b.id)[0]: 4}, ACTOR)
    assert {k: v for k, v in via_api.items() if k != "po_number"} == {
        k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(via_service).items()
        if k != "po_number"}
    reply = api.call("POST", f"/purchase-orders/{a.number}/receive", {"lines": {str(line_ids(a.id)[0]): 3}})
    same_refusal(reply, refusal(lambda: purchasing.receive_po(b.id, {line_ids(b.id)[0]: 3}, ACTOR)))
    wms = scoped_actor("api:wms", "warehouse", ["purchasing:read"])
    reply = api.call("POST", f"/purchase-orders/{a.number}/receive", {"lines": {str(line_ids(a.id)[0]): 1}},
                     token=token("warehouse", ["purchasing:read"], name="wms"))
    same_refusal(reply, refusal(lambda: purchasing.receive_po(b.id, {line_ids(b.id)[0]: 1}, wms)))


def test_orders_and_stock_answer_what_the_services_answer(api: Client) -> None:
    make_product("A1", "10.00", stock_by_wh={"SH": 10})
    api.token = token()
    created = [orders.create_order(orders.OrderInput(
        channel="PHONE", customer_name="王五", phone="13700137000", province="上海", city="上海市",
        district="浦东新区", address="世纪大道 2 号", payment_method="wechat_pay", payment_status="paid",
        lines=[orders.LineInput("A1", 1)]), ADMIN) for _ in range(2)]
    assert api.call("GET", "/orders?limit=50").body["items"] == values.records(
        orders.search_orders(ACTOR, "", limit=51))
    assert api.call("GET", "/stock?sku=A1").body["items"] == values.records(catalog.availability(["A1"], ACTOR))
    via_api = api.call("POST", f"/orders/{created[0].number}/cancel", {"note": "n"}).body
    orders.transition(created[1].id, "cancelled", ACTOR, note="n")
    via_service = orders.order_detail(created[1].id, ACTOR)
    assert (via_api["status"], via_api["allowed_transitions"]) == (
        via_service.header["status"], list(via_service.allowed_transitions))
    reply = api.call("POST", f"/orders/{created[0].number}/confirm")
    assert reply.status == 409
    same_refusal(reply, refusal(lambda: orders.transition(created[1].id, "confirmed", ACTOR)))


# --- races ---------------------------------------------------------------------------------------


def test_racing_retries_of_one_key_and_racing_upserts_of_one_sku_give_one_row(api: Client) -> None:
    """A client retrying before the first answer came back, and two feeds creating one new SKU:
    the loser of the unique-key race is re-run and answers like the winner (never a 500)."""
    make_product("A1", "10.00", stock_by_wh={"SH": 100})
    api.token = token()
    order = {"channel": "PHONE", "customer_name": "张三", "phone": "13800138000", "province": "上海",
             "city": "上海市", "district": "浦东新区", "address": "世纪大道 100 号", "payment_status": "paid",
             "payment_method": "wechat_pay", "lines": [{"sku": "A1", "qty": 1}]}
    for round_ in range(5):
        go = threading.Barrier(4)

        def send(i: int, round_: int = round_, go: threading.Barrier = go) -> Any:
            go.wait()
            if i % 2:
                return api.call("PUT", f"/products/RACE-{round_}", {"name": "新品", "unit_price": "1.00",
                                                                   "unit_cost": "0.50"})
            return api.call("POST", "/orders", order, headers={"Idempotency-Key": f"race-{round_}"})

        with ThreadPoolExecutor(4) as pool:
            replies = list(pool.map(send, range(4)))
        assert sorted(r.status for r in replies[0::2]) == [200, 201], [r.body for r in replies]
        assert replies[0].body["number"] == replies[2].body["number"]
        assert sorted(r.status for r in replies[1::2]) == [200, 201], [r.body for r in replies]
    assert len(orders.search_orders(ADMIN, limit=100)) == 5
    assert len(catalog.product_page(ADMIN, query="RACE-")) == 5
