"""The pure rules behind scanning (tally: not listed, extra, stray at commit, differences) and gift
rules (which gifts an order earns, fallback order, the per-order bound)."""

from __future__ import annotations

from core.domain import gifts, scanning
from core.domain.quantities import MAX_ROW_QTY
from core.domain.rules import RuleSpec


def test_a_scan_is_refused_when_not_listed_or_extra_and_the_old_tally_is_kept() -> None:
    limits = {"A": 2, "B": None}
    tally = scanning.add_unit(scanning.add_unit({}, "A"), "A")
    assert tally == {"A": 2}
    assert scanning.refusal(limits, tally, "A") == scanning.EXTRA
    assert scanning.refusal(limits, tally, "C") == scanning.NOT_LISTED
    assert scanning.refusal(limits, tally, "B") is None  # a count: no limit but the row bound
    assert scanning.refusal(limits, {"B": MAX_ROW_QTY}, "B") == scanning.EXTRA
    assert scanning.refusal({"A": 0}, {}, "A") == scanning.EXTRA  # a fully received line


def test_a_tally_checked_at_commit_names_what_the_document_no_longer_takes() -> None:
    assert scanning.stray({"A": 2, "B": None}, {"A": 2, "B": 7}) == []
    assert scanning.stray({"A": 2}, {"A": 3, "C": 1, "D": 0}) == ["A", "C"]
    assert [(d.sku, d.delta) for d in scanning.differences({"A": 2, "B": 1}, {"A": 2, "C": 1})] == [
        ("B", -1), ("C", 1)]


def _rule(name: str, condition: dict[str, object], action: dict[str, object], priority: int = 1) -> RuleSpec:
    return RuleSpec(priority, name, "gift", priority, condition, action)  # type: ignore[arg-type]


def test_gifts_follow_rule_order_with_fallbacks_and_a_bound() -> None:
    rules = [_rule("big", {"field": "total", "op": ">=", "value": 199}, {"gift": "G1", "fallback": "G2", "qty": 50}),
             _rule("tea", {"field": "skus", "op": "contains", "value": "TEA"}, {"gift": "G3"}),
             _rule("jd", {"field": "channel", "op": "==", "value": "JD"}, {"gift": "G4", "fallback": "G4"})]
    facts = {"total": 250, "skus": ["TEA"], "channel": "JD"}
    earned = gifts.offers(rules, facts, 5)
    assert [(o.rule, o.skus, o.qty) for o in earned] == [
        ("big", ("G1", "G2"), gifts.MAX_GIFT_QTY), ("tea", ("G3",), 1), ("jd", ("G4",), 1)]
    assert [o.rule for o in gifts.offers(rules, facts, 2)] == ["big", "tea"]
    assert gifts.offers(rules, facts, 0) == []
    assert len(gifts.offers(rules * 10, facts, 1000)) == gifts.MAX_GIFTS_PER_ORDER
    assert [o.rule for o in gifts.offers(rules, {"total": 10, "skus": [], "channel": "POS"}, 5)] == []
