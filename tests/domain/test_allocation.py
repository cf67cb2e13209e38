"""Warehouse choice and split alone (core.domain.allocation): region first, then availability,
then cost; split when no single warehouse can serve — on plain values, no database."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from core.domain.allocation import Allocation, allocate, rank, split, units_needed


@dataclass(frozen=True)
class Wh:
    id: int
    code: str
    ship_cost: Decimal


SH = Wh(1, "SH", Decimal("12"))  # the 华东 region's warehouse in these tests (the dearest)
GZ = Wh(2, "GZ", Decimal("8"))
BJ = Wh(3, "BJ", Decimal("10"))
ALL = (SH, GZ, BJ)
A, B, C = 101, 102, 103  # product ids


def _stock(**by_warehouse: dict[int, int]) -> dict[tuple[int, int], int]:
    ids = {w.code: w.id for w in ALL}
    return {(ids[code], pid): qty for code, units in by_warehouse.items() for pid, qty in units.items()}


def test_the_regions_warehouse_serves_an_order_it_can_serve_in_full_even_when_dearer() -> None:
    chosen = allocate(ALL, "SH", {A: 2}, _stock(SH={A: 2}, GZ={A: 9}, BJ={A: 9}))
    assert chosen == Allocation(SH)


def test_without_a_regional_rule_the_cheapest_warehouse_that_has_everything_serves() -> None:
    assert allocate(ALL, None, {A: 1, B: 1}, _stock(SH={A: 1, B: 1}, GZ={A: 1}, BJ={A: 1, B: 1})) == Allocation(BJ)


def test_when_the_regions_warehouse_lacks_stock_the_cheapest_one_that_has_it_all_serves() -> None:
    assert allocate(ALL, "SH", {A: 3}, _stock(SH={A: 2}, GZ={A: 3}, BJ={A: 3})) == Allocation(GZ)


def test_a_rule_naming_an_inactive_warehouse_falls_back_to_cost() -> None:
    assert [w.code for w in rank(ALL, "XX")] == ["GZ", "BJ", "SH"]


def test_equal_shipping_costs_are_decided_by_warehouse_code() -> None:
    twins = (Wh(7, "ZZ", Decimal("5")), Wh(8, "AA", Decimal("5")))
    assert [w.code for w in rank(twins, None)] == ["AA", "ZZ"]


def test_an_order_no_single_warehouse_can_serve_is_split_by_region_first() -> None:
    # each warehouse has one of the two products: the region's warehouse is the primary,
    # the other product goes to the cheapest warehouse holding it
    chosen = allocate(ALL, "SH", {A: 1, B: 1}, _stock(SH={A: 1}, GZ={B: 1}, BJ={B: 1}))
    assert chosen == Allocation(SH, {B: GZ})
    assert (chosen.warehouse_of(A), chosen.warehouse_of(B)) == (SH, GZ)


def test_a_split_starts_with_the_warehouse_that_serves_most_products() -> None:
    chosen = allocate(ALL, "SH", {A: 1, B: 1, C: 1}, _stock(SH={A: 1}, BJ={B: 1, C: 1}))
    assert chosen == Allocation(BJ, {A: SH})


def test_a_product_is_never_split_across_warehouses() -> None:
    # 5 × A exist only as 3 + 3 in two places: no split, the region's warehouse takes it all
    chosen = allocate(ALL, "SH", {A: 5, B: 1}, _stock(SH={A: 3}, GZ={A: 3, B: 1}))
    assert chosen == Allocation(SH)


def test_when_some_product_is_nowhere_in_full_the_top_ranked_warehouse_takes_the_whole_order() -> None:
    assert allocate(ALL, None, {A: 1, C: 1}, _stock(SH={A: 1}, BJ={A: 1})) == Allocation(GZ)


def test_unknown_stock_rows_count_as_nothing_available() -> None:
    assert allocate(ALL, "BJ", {A: 1}, {}) == Allocation(BJ)


def test_repeated_lines_of_one_product_are_served_together() -> None:
    need = units_needed([(A, 2), (B, 1), (A, 3)])
    assert need == {A: 5, B: 1}
    assert allocate(ALL, "SH", need, _stock(SH={A: 4, B: 1}, GZ={A: 5, B: 1})) == Allocation(GZ)


def test_a_split_of_products_spread_over_three_warehouses_names_each_ones_warehouse() -> None:
    chosen = split(rank(ALL, "SH"), {A: 1, B: 1, C: 1}, _stock(SH={A: 1}, GZ={B: 1}, BJ={C: 1}))
    assert chosen.primary is SH and chosen.split == {B: GZ, C: BJ}


def test_nothing_to_serve_goes_to_the_top_ranked_warehouse() -> None:
    assert split(rank(ALL, "SH"), {}, {}) == Allocation(SH)
