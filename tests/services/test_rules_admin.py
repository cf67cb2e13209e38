"""Admin → Rules: validated CRUD that takes effect on the next order, the "which of the last
orders would this catch?" preview, and customer tagging."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from core import db
from core.errors import PermissionDenied, ValidationError
from core.models import Customer, Rule
from core.services import orders
from core.services.rules_admin import (
    RuleInput,
    apply_tagging,
    clauses_of,
    condition_from_clauses,
    delete_rule,
    get_rule,
    list_rules,
    preview_rule,
    save_rule,
)
from tests.factories import CLERK, MANAGER, WAREHOUSE, make_product, order_input


def test_editor_rows_round_trip_to_conditions() -> None:
    cond = condition_from_clauses("any", [("total", ">", "5000"), ("province", "in", "广东，广西"),
                                          ("has_bulky", "is_true", ""), ("", "", "")])
    assert cond == {"any": [{"field": "total", "op": ">", "value": 5000},
                            {"field": "province", "op": "in", "value": ["广东", "广西"]},
                            {"field": "has_bulky", "op": "is_true"}]}
    assert clauses_of(cond) == ("any", [("total", ">", "5000"), ("province", "in", "广东, 广西"),
                                        ("has_bulky", "is_true", "")])
    assert condition_from_clauses("all", [("total", ">=", "99.5")]) == {"field": "total", "op": ">=", "value": 99.5}
    assert clauses_of({"not": {"field": "total", "op": ">", "value": 1}}) is None  # nested → JSON editor


def test_new_rule_applies_to_the_next_order(db_url: str) -> None:
    make_product("A", "10.00", {"SH": 5, "CD": 5})
    assert orders.create_order(order_input(("A", 1)), CLERK).warehouse == "SH"
    rule = save_rule(None, RuleInput("抖音 → 成都仓", "allocation", 1,
                                     {"field": "channel", "op": "==", "value": "DOUYIN"}, {"warehouse": "CD"}),
                     MANAGER)
    assert orders.create_order(order_input(("A", 1), channel="DOUYIN"), CLERK).warehouse == "CD"
    save_rule(rule.id, RuleInput("抖音 → 成都仓", "allocation", 1, rule.condition, rule.action, active=False),
              MANAGER)
    assert orders.create_order(order_input(("A", 1), channel="DOUYIN"), CLERK).warehouse == "SH"
    delete_rule(rule.id, MANAGER)
    assert rule.id not in set(list_rules(MANAGER)["id"])


def test_carrier_rule_for_cold_chain(db_url: str) -> None:
    make_product("FISH", "50.00", {"SH": 5}, cold_chain=True)
    r = orders.create_order(order_input(("FISH", 1)), CLERK)
    assert orders.order_detail(r.id, MANAGER).header["carrier"] == "顺丰冷运"


@pytest.mark.parametrize(("data", "fields"), [
    (RuleInput("", "review", 10, {"field": "total", "op": ">", "value": 1}, {"status": "on_hold"}), ["name"]),
    (RuleInput("x", "weird", 10, {}, {}), ["kind"]),
    (RuleInput("x", "review", 10, {"field": "totl", "op": ">", "value": 1}, {"status": "on_hold"}), ["condition"]),
    (RuleInput("x", "review", 10, {"field": "total", "op": ">", "value": "big"}, {"status": "on_hold"}),
     ["condition"]),
    (RuleInput("x", "review", 10, {"field": "total", "op": "≈", "value": 1}, {"status": "on_hold"}), ["condition"]),
    (RuleInput("x", "review", 10, {"field": "total", "op": ">", "value": 1}, {"status": "shipped"}), ["status"]),
    (RuleInput("x", "allocation", 10, {"field": "region", "op": "==", "value": "华中"}, {"warehouse": "XX"}),
     ["warehouse"]),
    (RuleInput("x", "allocation", 10, {"field": "customer_tier", "op": "==", "value": "vip"}, {"warehouse": "SH"}),
     ["condition"]),
    (RuleInput("x", "carrier", 10, {"field": "has_bulky", "op": "is_true"}, {"warehouse": "SH"}), ["action"]),
    (RuleInput("x", "tagging", 10, {"field": "total", "op": ">", "value": 1}, {"tag": "VIP"}), ["condition"]),
])
def test_invalid_rules_are_refused(db_url: str, data: RuleInput, fields: list[str]) -> None:
    before = len(list_rules(MANAGER))
    with pytest.raises(ValidationError) as err:
        save_rule(None, data, MANAGER)
    assert [i.field for i in err.value.issues] == fields
    assert len(list_rules(MANAGER)) == before


def test_flat_condition_issues_name_the_editor_row(db_url: str) -> None:
    cond = condition_from_clauses("all", [("total", ">", "1"), ("region", "in", "")])
    with pytest.raises(ValidationError) as err:
        preview_rule("review", cond, MANAGER)
    assert [(i.field, i.row) for i in err.value.issues] == [("condition", 2)]


def test_only_rule_editors(db_url: str) -> None:
    with pytest.raises(PermissionDenied):
        list_rules(WAREHOUSE)
    with pytest.raises(PermissionDenied):
        preview_rule("review", {"field": "total", "op": ">", "value": 1}, CLERK)


def test_preview_counts_what_the_rule_would_catch(db_url: str) -> None:
    make_product("A", "100.00", {"SH": 100, "GZ": 100})
    make_product("SOFA", "3000.00", {"SH": 10}, bulky=True)
    for qty in (1, 2, 3):
        orders.create_order(order_input(("A", qty)), CLERK)
    orders.create_order(order_input(("A", 1), province="广东", city="广州市", district="天河区"), CLERK)
    orders.create_order(order_input(("SOFA", 2)), CLERK)  # total 6000 → pending review
    big = preview_rule("review", {"field": "total", "op": ">", "value": 250}, MANAGER)
    assert (big.checked, big.matched) == (5, 2)
    assert sorted(big.orders["total"]) == [Decimal("300.00"), Decimal("6000.00")]
    south = preview_rule("allocation", {"field": "region", "op": "==", "value": "华南"}, MANAGER)
    assert south.matched == 1 and list(south.orders["province"]) == ["广东"]
    bulky = preview_rule("carrier", {"all": [{"field": "has_bulky", "op": "is_true"},
                                             {"field": "item_count", "op": ">=", "value": 2}]}, MANAGER)
    assert bulky.matched == 1
    spenders = preview_rule("tagging", {"field": "lifetime_spend", "op": ">", "value": 5000}, MANAGER)
    assert spenders.matched == 5  # all five orders belong to the same customer (same phone)
    assert preview_rule("review", {"field": "total", "op": ">", "value": 250}, MANAGER, limit=2).checked == 2


def test_tagging_makes_big_spenders_vip_and_raises_their_open_orders(db_url: str) -> None:
    make_product("TV", "3000.00", {"SH": 10})
    first = orders.create_order(order_input(("TV", 1)), CLERK)
    second = orders.create_order(order_input(("TV", 1)), CLERK)  # lifetime 6000 > 5000
    small = orders.create_order(order_input(("TV", 1), customer_name="李四", phone="13900000000"), CLERK)
    result = apply_tagging(MANAGER)
    assert result.customers == 2 and len(result.tagged) == 1 and result.orders_prioritised == 2
    with db.transaction() as s:
        vip = s.execute(select(Customer.tier, Customer.tags).where(Customer.id == first.customer_id)).one()
        other = s.execute(select(Customer.tier).where(Customer.id == small.customer_id)).scalar_one()
    assert (vip.tier, vip.tags, other) == ("vip", ["VIP"], "normal")
    assert orders.order_detail(second.id, MANAGER).header["priority"] == 10
    assert apply_tagging(MANAGER).tagged == ()  # idempotent
    # the review rule "VIP → priority" now boosts the customer's next order at creation
    assert orders.order_detail(orders.create_order(order_input(("TV", 1)), CLERK).id,
                               MANAGER).header["priority"] == 10


def test_get_rule_and_seeded_defaults(db_url: str) -> None:
    rules = list_rules(MANAGER)
    assert set(rules["kind"]) == {"review", "allocation", "carrier", "tagging"}
    with db.transaction() as s:
        rid = s.execute(select(Rule.id).where(Rule.kind == "tagging")).scalar()
    assert get_rule(rid, MANAGER).action["tier"] == "vip"
