"""Pure kit rules: a kit line's amount split over its component lines to the cent, bounds of
the definition."""

from __future__ import annotations

from decimal import Decimal

from core.domain.kits import Component, component_lines, definition_issues
from core.errors import FieldIssue

D = Decimal


def test_the_kit_amount_is_split_to_the_cent_and_adds_up() -> None:
    issues: list[FieldIssue] = []
    parts = [Component(1, "A", 3, D("1.00")), Component(2, "B", 1, D("0.00"))]
    lines = component_lines("K", 1, D("10.00"), parts, 1, issues)
    assert issues == []
    a, b = lines
    assert (a.qty, a.unit_price, a.discount, a.line_total) == (3, D("3.34"), D("0.02"), D("10.00"))
    assert (b.qty, b.line_total) == (1, D("0.00"))
    for ln in lines:  # every line keeps the rule unit price × qty − discount = line total
        assert ln.unit_price * ln.qty - ln.discount == ln.line_total and D(0) <= ln.discount < D("0.01") * ln.qty
    free = component_lines("K", 7, D("0.00"), [Component(1, "A", 1, D("0")), Component(2, "B", 2, D("0"))], 1, [])
    assert [ln.qty for ln in free] == [7, 14] and sum(ln.line_total for ln in free) == 0
    odd = component_lines("K", 3, D("100.01"), [Component(1, "A", 2, D("9.99")), Component(2, "B", 5, D("3.33"))], 1,
                          [])
    assert sum(ln.line_total for ln in odd) == D("100.01")


def test_bounds_of_a_definition_and_of_a_component_line() -> None:
    assert [i.message for i in definition_issues("K", [("A", "2"), ("B", 1.5), ("", 1)])] == [
        "issue.whole_number", "issue.whole_number", "issue.required"]
    too_many: list[FieldIssue] = []
    assert component_lines("K", 100_000, D("1.00"), [Component(1, "A", 2, D("1"))], 4, too_many) == []
    assert [(i.message, i.row) for i in too_many] == [("kits.component_qty_too_large", 4)]
