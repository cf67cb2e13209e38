"""The configurable rules' conditions alone (core.domain.rules): operators, combinations, the
facts of an order and the first rule that decides — no database."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from core.domain.rules import RuleSpec, condition_values, first_action, matches, order_facts

FACTS: dict[str, Any] = {"total": Decimal("5200.00"), "channel": "TMALL", "province": "浙江", "region": "华东",
                         "address_complete": False, "item_count": 3, "tags": ["vip", "new"], "note": None}


def _rule(rule_id: int, condition: dict[str, Any], **action: Any) -> RuleSpec:
    return RuleSpec(rule_id, f"rule {rule_id}", "review", rule_id, condition, action)


@pytest.mark.parametrize(("op", "value", "expected"), [
    ("==", "TMALL", True), ("!=", "TMALL", False), ("in", ["JD", "TMALL"], True), ("not_in", ["JD"], True),
])
def test_a_condition_compares_a_fact_with_a_value(op: str, value: Any, expected: bool) -> None:
    assert matches({"field": "channel", "op": op, "value": value}, FACTS) is expected


@pytest.mark.parametrize(("op", "value", "expected"), [
    (">", 5000, True), (">", 5200, False), (">=", 5200, True), ("<", 5200.01, True), ("<=", 5199, False),
])
def test_money_facts_compare_with_plain_numbers(op: str, value: Any, expected: bool) -> None:
    assert matches({"field": "total", "op": op, "value": value}, FACTS) is expected


def test_contains_looks_inside_a_list_fact_and_flags_test_truth() -> None:
    assert matches({"field": "tags", "op": "contains", "value": "vip"}, FACTS)
    assert not matches({"field": "tags", "op": "contains", "value": "blacklist"}, FACTS)
    assert matches({"field": "address_complete", "op": "is_false"}, FACTS)
    assert not matches({"field": "address_complete", "op": "is_true"}, FACTS)


def test_all_any_and_not_combine_conditions() -> None:
    big = {"field": "total", "op": ">", "value": 5000}
    jd = {"field": "channel", "op": "==", "value": "JD"}
    assert matches({"all": [big, {"not": jd}]}, FACTS)
    assert not matches({"all": [big, jd]}, FACTS)
    assert matches({"any": [jd, big]}, FACTS)
    assert not matches({"any": []}, FACTS) and matches({"all": []}, FACTS)


def test_a_fact_the_order_does_not_have_never_matches() -> None:
    assert not matches({"field": "customer_tier", "op": "!=", "value": "vip"}, FACTS)


def test_an_empty_fact_or_a_comparison_of_unlike_types_does_not_match() -> None:
    assert not matches({"field": "note", "op": ">", "value": 1}, FACTS)
    assert not matches({"field": "channel", "op": ">", "value": 1}, FACTS)


def test_an_unknown_operator_is_an_error_not_a_silent_miss() -> None:
    with pytest.raises(ValueError, match="unknown operator"):
        matches({"field": "total", "op": "≈", "value": 1}, FACTS)


def test_the_first_matching_rule_that_sets_the_key_decides() -> None:
    rules = [_rule(1, {"field": "channel", "op": "==", "value": "JD"}, status="on_hold"),
             _rule(2, {"field": "total", "op": ">", "value": 5000}, priority=10),
             _rule(3, {"field": "total", "op": ">", "value": 5000}, status="pending_review"),
             _rule(4, {"field": "region", "op": "==", "value": "华东"}, status="on_hold")]
    value, rule = first_action(rules, FACTS, "status")
    assert (value, rule) == ("pending_review", rules[2])
    assert first_action(rules, FACTS, "carrier") == (None, None)


def test_condition_values_finds_every_value_a_rule_names_for_a_field() -> None:
    condition = {"any": [{"field": "channel", "op": "in", "value": ["JD", "TMALL"]},
                         {"not": {"field": "channel", "op": "==", "value": "POS"}},
                         {"all": [{"field": "total", "op": ">", "value": 1}]}]}
    assert condition_values(condition, "channel") == {"JD", "TMALL", "POS"}
    assert condition_values("not a condition", "channel") == set()


def test_an_orders_facts_carry_its_region_counts_and_product_flags() -> None:
    facts = order_facts(total=Decimal("99.00"), channel="POS", province="浙江省", address_complete=False,
                        delivery_method="express", lines=[(2, {"cold_chain": True}), (1, {})], skus=["B", "A", "B"])
    assert facts == {"total": Decimal("99.00"), "channel": "POS", "province": "浙江省", "region": "华东",
                     "address_complete": False, "item_count": 3, "line_count": 2, "delivery_method": "express",
                     "has_cold_chain": True, "has_bulky": False, "skus": ["A", "B"]}


def test_a_pickup_order_counts_as_having_a_complete_address() -> None:
    facts = order_facts(total=Decimal("1"), channel="POS", province=None, address_complete=False,
                        delivery_method="pickup", lines=[])
    assert facts["address_complete"] and facts["region"] is None


def test_the_customer_tier_is_a_fact_only_once_the_customer_is_known() -> None:
    unknown = order_facts(total=Decimal("1"), channel="POS", province=None, address_complete=True,
                          delivery_method="express", lines=[])
    known = order_facts(total=Decimal("1"), channel="POS", province=None, address_complete=True,
                        delivery_method="express", lines=[], customer_tier="vip")
    assert "customer_tier" not in unknown and known["customer_tier"] == "vip"
