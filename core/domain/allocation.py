"""Which warehouse serves a new order, and how an order no single warehouse can serve is split.

The rule, from the design: the customer's region first (the allocation rules name a warehouse
per region, 华东 → 上海仓 …), then stock availability, then shipping cost; split the order
when no single warehouse has everything. A line (a product) always ships from one place.

Everything here works on what the service read — the active warehouses, the units each
product needs, the units available per (warehouse, product) — and returns the choice. The
availability read only *chooses*; the conditional reservation that follows decides, so a
choice made on a stale figure can still be refused, never oversold.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Generic, Protocol, TypeVar


class Depot(Protocol):
    """What allocation needs to know about a warehouse (``core.refdata.WarehouseRef`` is one)."""

    @property
    def id(self) -> int: ...

    @property
    def code(self) -> str: ...

    @property
    def ship_cost(self) -> Decimal: ...


W = TypeVar("W", bound=Depot)

Availability = Mapping[tuple[int, int], int]  # (warehouse id, product id) → units free to reserve


@dataclass(frozen=True)
class Allocation(Generic[W]):
    """``primary`` serves the order; ``split`` names the other warehouse of each product that
    ships from elsewhere (empty unless the order is split)."""

    primary: W
    split: dict[int, W] = field(default_factory=dict)

    def warehouse_of(self, product_id: int) -> W:
        return self.split.get(product_id, self.primary)


def units_needed(lines: Iterable[tuple[int, int]]) -> dict[int, int]:
    """Units per product over an order's ``(product id, qty)`` lines (a product may repeat)."""
    need: dict[int, int] = {}
    for product_id, qty in lines:
        need[product_id] = need.get(product_id, 0) + qty
    return need


def rank(warehouses: Iterable[W], preferred: str | None) -> list[W]:
    """Warehouses in the order they are tried: the rule's (region's) warehouse first, then by
    shipping cost, then by code so equal costs never tie."""
    return sorted(warehouses, key=lambda w: (w.code != preferred, w.ship_cost, w.code))


def can_serve(warehouse: Depot, need: Mapping[int, int], available: Availability) -> bool:
    return all(available.get((warehouse.id, pid), 0) >= qty for pid, qty in need.items())


def allocate(warehouses: Iterable[W], preferred: str | None, need: Mapping[int, int],
             available: Availability) -> Allocation[W]:
    """The first ranked warehouse that can serve every line; else a :func:`split`.

    ``warehouses`` must not be empty (the service refuses a shop without one first).
    """
    ranked = rank(warehouses, preferred)
    for warehouse in ranked:
        if can_serve(warehouse, need, available):
            return Allocation(warehouse)
    return split(ranked, need, available)


def split(ranked: Sequence[W], need: Mapping[int, int], available: Availability) -> Allocation[W]:
    """Serve the order from as few warehouses as possible: repeatedly take the warehouse that
    can serve the most of the remaining products (ties → rank order). A product is never split
    across warehouses (a line ships from one place). If some product cannot be served in full
    anywhere, no split: the top-ranked warehouse takes it all (→ refusal or backorder)."""
    remaining = dict(need)
    chosen: dict[int, W] = {}
    primary: W | None = None  # the first pick serves the most products
    while remaining:
        options = [[pid for pid, qty in remaining.items() if available.get((w.id, pid), 0) >= qty] for w in ranked]
        best = max(range(len(ranked)), key=lambda i: (len(options[i]), -i))
        if not options[best]:
            return Allocation(ranked[0])
        primary = primary or ranked[best]
        for pid in options[best]:
            chosen[pid] = ranked[best]
            del remaining[pid]
    if primary is None:  # nothing to serve: an order without lines goes to the top-ranked warehouse
        return Allocation(ranked[0])
    return Allocation(primary, {pid: w for pid, w in chosen.items() if w is not primary})
