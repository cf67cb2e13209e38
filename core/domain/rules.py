"""Configurable business rules (review, allocation, carrier, tagging): conditions and their
evaluation. The rules are stored in the ``rules`` table (loaded by ``core.rules.active_rules``
into :class:`RuleSpec` values, cached in ``core.refdata``); deciding whether one matches an
order is pure and lives here.

A condition is JSON a manager can edit: ``{"field": "total", "op": ">", "value": 5000}``,
combined with ``{"all": [...]}`` / ``{"any": [...]}`` / ``{"not": {...}}``. Facts are a plain
dict built from the order, so the same evaluator serves order creation, re-evaluation and
the "which past orders would this rule catch?" preview.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from core.geo import region_of

OPERATORS = ("==", "!=", ">", ">=", "<", "<=", "in", "not_in", "contains", "is_true", "is_false")


@dataclass(frozen=True)
class RuleSpec:
    id: int
    name: str
    kind: str
    priority: int
    condition: dict[str, Any]
    action: dict[str, Any]


def _num(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    return value


def condition_values(condition: Any, field: str) -> set[str]:
    """Every value ``condition`` compares ``field`` with, nested all/any/not included (which
    channel codes a rule names, for instance)."""
    if not isinstance(condition, dict):
        return set()
    found: set[str] = set()
    for combine in ("all", "any"):
        for part in condition.get(combine) or []:
            found |= condition_values(part, field)
    if "not" in condition:
        found |= condition_values(condition["not"], field)
    if condition.get("field") == field and condition.get("value") is not None:
        value = condition["value"]
        found |= {str(v) for v in value} if isinstance(value, list) else {str(value)}
    return found


def matches(condition: dict[str, Any], facts: dict[str, Any]) -> bool:
    """True when ``facts`` satisfy ``condition``; an unknown field never matches."""
    if "all" in condition:
        return all(matches(c, facts) for c in condition["all"])
    if "any" in condition:
        return any(matches(c, facts) for c in condition["any"])
    if "not" in condition:
        return not matches(condition["not"], facts)
    field, op, expected = condition.get("field"), condition.get("op"), condition.get("value")
    if field not in facts:
        return False
    actual = _num(facts[field])
    expected = _num(expected)
    try:
        match op:
            case "==":
                return bool(actual == expected)
            case "!=":
                return bool(actual != expected)
            case ">":
                return actual is not None and bool(actual > expected)
            case ">=":
                return actual is not None and bool(actual >= expected)
            case "<":
                return actual is not None and bool(actual < expected)
            case "<=":
                return actual is not None and bool(actual <= expected)
            case "in":
                return actual in (expected or [])
            case "not_in":
                return actual not in (expected or [])
            case "contains":
                return expected in (actual or [])
            case "is_true":
                return bool(actual)
            case "is_false":
                return not actual
    except TypeError:
        return False
    raise ValueError(f"unknown operator {op!r}")


def order_facts(*, total: Decimal, channel: str, province: str | None, address_complete: bool,
                delivery_method: str, lines: Iterable[tuple[int, Mapping[str, Any]]],
                customer_tier: str | None = None, skus: Iterable[str] = ()) -> dict[str, Any]:
    """The facts review, allocation and carrier rules see for one order.

    ``lines`` are ``(qty, product attributes)``; ``skus`` the SKUs ordered. Order creation and the rule preview both build
    facts here, so a previewed rule catches exactly the orders it would have caught when placed.
    """
    items = list(lines)
    facts = {
        "total": total, "channel": channel, "province": province, "region": region_of(province),
        "address_complete": address_complete or delivery_method == "pickup",
        "item_count": sum(qty for qty, _ in items), "line_count": len(items),
        "delivery_method": delivery_method,
        "has_cold_chain": any(attrs.get("cold_chain") for _, attrs in items),
        "has_bulky": any(attrs.get("bulky") for _, attrs in items),
        "skus": sorted(set(skus)),  # "contains SKU" (gift rules)
    }
    if customer_tier is not None:  # unknown until the customer is resolved; absent never matches
        facts["customer_tier"] = customer_tier
    return facts


def first_action(rules: list[RuleSpec], facts: dict[str, Any], key: str) -> tuple[Any, RuleSpec | None]:
    """Value of ``action[key]`` of the first matching rule that sets it (rules in priority order)."""
    for rule in rules:
        if key in rule.action and matches(rule.condition, facts):
            return rule.action[key], rule
    return None, None
