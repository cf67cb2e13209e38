"""Kits and bundles (组合装), the pure part: a kit definition's bounds and how an ordered kit
line becomes component lines.

An ordered kit becomes one order line per component (``kit qty × component qty`` units) that
carries a share of the kit line's amount, so stock, picking, shipping, returns and refunds all
work on the components as on any line, and the order's revenue is the sum of its order lines
exactly once. The kit line itself (what the customer bought, at what price) is kept beside them.

The kit's amount is split over its components in proportion to their list prices × quantities
(equal weights when every component is free), in whole cents by largest remainder
(:func:`core.domain.money.allocate`). A component line's unit price is its share per unit
rounded *up* to the cent and the rounding goes into the line's discount, so ``unit price ×
qty − discount`` is exactly the share and the discount is less than one cent per unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from core.domain.money import allocate, from_cents, to_cents
from core.domain.rulebook import MAX_LINE_QTY, whole_number
from core.errors import FieldIssue

MAX_COMPONENTS = 50  # a bundle of more than fifty different SKUs is a typo or a misuse
MAX_COMPONENT_QTY = 999  # units of one component in one kit


@dataclass(frozen=True)
class Component:
    product_id: int
    sku: str
    qty: int  # units in one kit
    list_price: Decimal
    active: bool = True


@dataclass(frozen=True)
class ComponentLine:
    product_id: int
    sku: str
    qty: int
    unit_price: Decimal
    discount: Decimal
    line_total: Decimal


def definition_issues(kit_sku: str, components: Sequence[tuple[str, object]]) -> list[FieldIssue]:
    """What is wrong with a kit made of ``components`` (sku, qty) — on its own, before any
    lookup: none, too many, a component twice, the kit in itself, a quantity out of range.
    Rows are 1-based positions in ``components``."""
    issues: list[FieldIssue] = []
    if not components:
        issues.append(FieldIssue("components", "kits.no_components", value=kit_sku))
    if len(components) > MAX_COMPONENTS:
        issues.append(FieldIssue("components", "issue.at_most", value=len(components), params={"n": MAX_COMPONENTS}))
    seen: set[str] = set()
    for row, (sku, qty) in enumerate(components, start=1):
        if not sku:
            issues.append(FieldIssue("sku", "issue.required", row))
        elif sku == kit_sku:
            issues.append(FieldIssue("sku", "kits.contains_itself", row, sku))
        elif sku in seen:
            issues.append(FieldIssue("sku", "kits.duplicate_component", row, sku))
        seen.add(sku)
        units = whole_number(qty)
        if units is None:
            issues.append(FieldIssue("qty", "issue.whole_number", row, qty))
        elif units < 1:
            issues.append(FieldIssue("qty", "issue.positive", row, qty))
        elif units > MAX_COMPONENT_QTY:
            issues.append(FieldIssue("qty", "issue.at_most", row, qty, {"n": MAX_COMPONENT_QTY}))
    return issues


def component_lines(kit_sku: str, kit_qty: int, line_total: Decimal, components: Sequence[Component],
                    row: int, issues: list[FieldIssue]) -> list[ComponentLine]:
    """The order lines ``kit_qty`` kits become, carrying ``line_total`` between them; an issue
    (naming the kit's row) when a component is discontinued or its units would exceed one
    order line's bound."""
    for c in components:
        if not c.active:
            issues.append(FieldIssue("sku", "kits.component_discontinued", row, kit_sku, {"kit": kit_sku, "sku": c.sku}))
            return []
        if kit_qty * c.qty > MAX_LINE_QTY:
            issues.append(FieldIssue("qty", "kits.component_qty_too_large", row, kit_qty,
                                     {"kit": kit_sku, "sku": c.sku, "n": MAX_LINE_QTY}))
            return []
    weights = {i: to_cents(c.list_price) * c.qty for i, c in enumerate(components)}
    if not any(weights.values()):
        weights = dict.fromkeys(weights, 1)
    shares = allocate(to_cents(line_total), weights)
    lines = []
    for i, c in enumerate(components):
        qty = kit_qty * c.qty
        unit_cents = -(-shares[i] // qty)  # rounded up: the rounding is a discount, never a negative one
        lines.append(ComponentLine(c.product_id, c.sku, qty, from_cents(unit_cents),
                                   from_cents(unit_cents * qty - shares[i]), from_cents(shares[i])))
    return lines

