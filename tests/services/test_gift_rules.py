"""Gift rules (赠品, issue #16 item 8): an order earns a gift line (price 0, reserved like any line,
marked as a gift) by total, SKU or channel; a gift out of stock falls back to another SKU or is
skipped with a note; at most the shop's limit of gifts per order; the rule editor refuses a gift
rule that names an unknown SKU or a silly quantity."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from core import db
from core.errors import ValidationError
from core.models import OrderEvent, OrderLine, Product, StockLevel
from core.services import orders
from core.services.rules_admin import RuleInput, save_rule
from core.services.shop_settings import update_settings
from tests.factories import ADMIN, CLERK, MANAGER, make_product, order_input


def _gift_rule(name: str, condition: dict[str, Any], gift: str, qty: int = 1, fallback: str | None = None,
               priority: int = 10) -> None:
    action: dict[str, Any] = {"gift": gift, "qty": qty, **({"fallback": fallback} if fallback else {})}
    save_rule(None, RuleInput(name, "gift", priority, condition, action), MANAGER)


def _lines(order_id: int) -> list[tuple[str, int, Decimal, int, bool]]:
    with db.transaction(readonly=True) as s:
        return [tuple(r) for r in s.execute(  # type: ignore[misc]
            select(Product.sku, OrderLine.qty, OrderLine.line_total, OrderLine.qty_reserved, OrderLine.is_gift)
            .join(Product, Product.id == OrderLine.product_id).where(OrderLine.order_id == order_id)
            .order_by(OrderLine.line_no))]


def _reserved(product_id: int) -> int:
    with db.transaction(readonly=True) as s:
        return int(s.execute(select(StockLevel.reserved).where(StockLevel.product_id == product_id)).scalar_one())


@pytest.fixture
def shop(db_url: str) -> dict[str, int]:
    return {sku: make_product(sku, price, {"SH": n}) for sku, price, n in (
        ("TEA-1", "100.00", 50), ("CUP-1", "20.00", 50), ("GIFT-A", "5.00", 1), ("GIFT-B", "5.00", 5))}


def test_each_trigger_adds_a_reserved_zero_priced_gift_line(shop: dict[str, int]) -> None:
    _gift_rule("big spender", {"field": "total", "op": ">=", "value": 199}, "GIFT-B")
    _gift_rule("tea lovers", {"field": "skus", "op": "contains", "value": "TEA-1"}, "GIFT-B", qty=2, priority=20)
    _gift_rule("phone orders", {"field": "channel", "op": "==", "value": "JD"}, "GIFT-B", priority=30)

    small = orders.create_order(order_input(("CUP-1", 1)), CLERK)
    assert small.gifts == () and len(_lines(small.id)) == 1  # no rule caught it
    tea = orders.create_order(order_input(("TEA-1", 1)), CLERK)
    assert tea.gifts == ("GIFT-B",) and tea.total == Decimal("100.00")  # the gift adds nothing to pay
    assert _lines(tea.id) == [("TEA-1", 1, Decimal("100.00"), 1, False), ("GIFT-B", 2, Decimal("0.00"), 2, True)]
    assert orders.order_detail(tea.id, CLERK).lines["is_gift"].tolist() == [False, True]  # the order shows it
    big = orders.create_order(order_input(("CUP-1", 10)), CLERK)
    assert big.gifts == ("GIFT-B",)
    jd = orders.create_order(order_input(("CUP-1", 1), channel="JD"), CLERK)
    assert jd.gifts == ("GIFT-B",)
    assert _reserved(shop["GIFT-B"]) == 2 + 1 + 1


def test_a_gift_out_of_stock_falls_back_then_is_skipped_with_a_note(shop: dict[str, int]) -> None:
    _gift_rule("tea gift", {"field": "skus", "op": "contains", "value": "TEA-1"}, "GIFT-A", fallback="GIFT-B", qty=1)
    first = orders.create_order(order_input(("TEA-1", 1)), CLERK)
    second = orders.create_order(order_input(("TEA-1", 1)), CLERK)  # the one GIFT-A is gone: the fallback
    assert (first.gifts, second.gifts) == (("GIFT-A",), ("GIFT-B",))
    with db.transaction() as s:  # the fallback runs out too
        s.execute(StockLevel.__table__.update().where(StockLevel.product_id == shop["GIFT-B"]).values(reserved=5))
    third = orders.create_order(order_input(("TEA-1", 1)), CLERK)
    assert third.gifts == () and third.gifts_skipped == ("gift skipped: tea gift: GIFT-A, GIFT-B out of stock",)
    assert third.status == "confirmed" and len(_lines(third.id)) == 1  # the order itself goes through
    with db.transaction(readonly=True) as s:
        note = s.execute(select(OrderEvent.note).where(OrderEvent.order_id == third.id)).scalar_one()
    assert note == "gift skipped: tea gift: GIFT-A, GIFT-B out of stock"


def test_gifts_per_order_are_bounded_by_the_shops_limit(shop: dict[str, int]) -> None:
    for i in range(4):
        _gift_rule(f"gift {i}", {"field": "total", "op": ">", "value": 0}, "GIFT-B", priority=i)
    assert orders.create_order(order_input(("CUP-1", 1)), CLERK).gifts == ("GIFT-B", "GIFT-B")  # default 2
    update_settings({"gifts.max_per_order": 3}, ADMIN)
    assert len(orders.create_order(order_input(("CUP-1", 1)), CLERK).gifts) == 3


def test_a_backordered_order_earns_no_gift_and_says_so(shop: dict[str, int]) -> None:
    _gift_rule("tea gift", {"field": "skus", "op": "contains", "value": "TEA-1"}, "GIFT-B")
    result = orders.create_order(order_input(("TEA-1", 60), allow_backorder=True), CLERK)
    assert result.status == "backordered" and result.gifts == ()
    assert result.gifts_skipped == ("gift skipped: tea gift: order backordered",) and _reserved(shop["GIFT-B"]) == 0


def test_the_rule_editor_refuses_a_gift_rule_it_cannot_keep(shop: dict[str, int]) -> None:
    for condition, action, field in (
        ({"field": "total", "op": ">", "value": 1}, {"gift": "NOPE"}, "gift"),
        ({"field": "total", "op": ">", "value": 1}, {"gift": "GIFT-A", "fallback": "NOPE"}, "gift"),
        ({"field": "total", "op": ">", "value": 1}, {"gift": "GIFT-A", "qty": 11}, "qty"),
        ({"field": "total", "op": ">", "value": 1}, {"qty": 1}, "gift"),
        ({"field": "skus", "op": "==", "value": "TEA-1"}, {"gift": "GIFT-A"}, "condition"),
        ({"field": "total", "op": "contains", "value": "1"}, {"gift": "GIFT-A"}, "condition"),
    ):
        with pytest.raises(ValidationError) as err:
            save_rule(None, RuleInput("bad", "gift", 1, condition, action), MANAGER)
        assert field in {i.field.split(".")[0] for i in err.value.issues}, err.value
