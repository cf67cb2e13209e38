"""Replenishment arithmetic and the scarce-stock split on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.allocation import allocate, is_scarce
from forecasting.replenishment import Policy, Position, days_until_stockout, demand_over, plan, round_order

FLAT_10 = np.full(28, 10.0)
Z95 = 1.6448536269514722


def test_reorder_arithmetic_by_hand() -> None:
    # μ_L = 7 × 10 = 70; SS = ⌈1.645 × 12⌉ = 20; ROP = 90; S = μ_(7+7) + SS = 140 + 20 = 160
    result = plan(FLAT_10, 12.0, Position(on_hand=50, reserved=10), Policy(lead_time_days=7, review_days=7))
    assert (result.demand_lead_time, result.safety_stock, result.reorder_point, result.order_up_to) == (70, 20, 90, 160)
    assert result.z == pytest.approx(Z95)
    assert (result.available, result.inventory_position, result.need, result.suggested_qty) == (40, 40, 120, 120)
    assert result.days_to_stockout == 4.0  # 40 units at 10 a day: day index 4 is the first short one


def test_moq_and_pack_rounding() -> None:
    policy = Policy(lead_time_days=7, review_days=7, pack_size=12, moq=50)
    assert round_order(5, 12, 50) == 60  # MOQ 50 → 5 packs of 12
    assert round_order(61, 12, 50) == 72
    assert round_order(0, 12, 50) == 0
    assert round_order(-3, 12, 50) == 0
    result = plan(FLAT_10, 0.0, Position(on_hand=135, reserved=0), policy)
    assert (result.reorder_point, result.order_up_to, result.need, result.suggested_qty) == (70, 140, 0, 0)
    result = plan(FLAT_10, 0.0, Position(on_hand=65, reserved=0), policy)
    assert (result.need, result.suggested_qty) == (75, 84)  # 75 → 7 packs of 12


def test_on_order_in_transit_and_accepted_are_netted() -> None:
    policy = Policy(lead_time_days=7, review_days=7)
    bare = plan(FLAT_10, 0.0, Position(on_hand=20, reserved=0), policy)
    assert bare.suggested_qty == 120
    piped = plan(FLAT_10, 0.0, Position(on_hand=20, reserved=0, on_order=30, in_transit=5, pending=5), policy)
    assert (piped.inventory_position, piped.suggested_qty) == (60, 80)  # 140 − 60
    covered = plan(FLAT_10, 0.0, Position(on_hand=20, reserved=0, on_order=120), policy)
    assert (covered.inventory_position, covered.suggested_qty) == (140, 0)  # already on order: not again


def test_zero_demand_orders_nothing() -> None:
    result = plan(np.zeros(28), 0.0, Position(on_hand=0, reserved=0), Policy(lead_time_days=10, pack_size=6, moq=24))
    assert (result.reorder_point, result.order_up_to, result.suggested_qty) == (0, 0, 0)
    assert result.days_to_stockout == 0.0  # nothing available, though nothing is needed either
    assert days_until_stockout(np.zeros(28), 5) is None


def test_negative_available_from_backorders() -> None:
    result = plan(FLAT_10, 0.0, Position(on_hand=5, reserved=5, backordered=30), Policy(lead_time_days=7, review_days=0))
    assert result.available == -30
    assert result.days_to_stockout == 0.0
    assert (result.order_up_to, result.suggested_qty) == (70, 100)  # covers the waiting 30 and the lead time


def test_short_forecast_is_extended_and_inputs_are_checked() -> None:
    daily = np.r_[np.zeros(21), np.full(7, 2.0)]
    assert demand_over(daily, 35) == pytest.approx(14 + 7 * 2.0)
    assert demand_over(daily, 0) == 0
    assert days_until_stockout(daily, 20) == pytest.approx(28 + 6 / 2)
    with pytest.raises(ValueError):
        plan(FLAT_10, 1.0, Position(1, 0), Policy(lead_time_days=7, service_level=1.0))
    with pytest.raises(ValueError):
        plan(FLAT_10, 1.0, Position(1, 0), Policy(lead_time_days=-1))


def _warehouses() -> pd.DataFrame:
    return pd.DataFrame({"warehouse": ["SH", "GZ", "BJ"], "demand_lead_time": [30.0, 10.0, 0.0],
                         "safety_stock": [10, 5, 2], "available": [0, 3, 1]})


@pytest.mark.parametrize(("pool", "expected"), [
    (0, [0, 0, 0]),
    (5, [4, 1, 0]),  # not even the floors (10, 2, 1): split in proportion to them
    (20, [15, 4, 1]),  # floors 13, then 7 by demand 30:10:0 → 5.25 / 1.75 → 5 + 2
    (100, [40, 12, 1]),  # enough for every need
])
def test_allocation_floors_then_demand(pool: int, expected: list[int]) -> None:
    out = allocate(pool, _warehouses())
    assert out["need"].tolist() == [40, 12, 1]
    assert out["floor"].tolist() == [10, 2, 1]
    assert out["allocated"].tolist() == expected
    assert int(out["allocated"].sum()) == min(pool, 53)
    assert is_scarce(pool, out) == (pool < 53)


def test_allocation_caps_spill_over_to_others() -> None:
    frame = pd.DataFrame({"warehouse": ["A", "B"], "demand_lead_time": [90.0, 10.0], "safety_stock": [0, 0],
                          "available": [85, 0]})
    out = allocate(12, frame)  # A needs only 5; its proportional 90 % share is capped and B takes the rest
    assert out["allocated"].tolist() == [5, 7]
    assert out["share_of_demand"].tolist() == pytest.approx([0.9, 0.1])
    with pytest.raises(ValueError):
        allocate(-1, frame)
    with pytest.raises(ValueError):
        allocate(1, frame.drop(columns=["safety_stock"]))
