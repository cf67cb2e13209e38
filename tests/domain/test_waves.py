"""Wave selection and short picks, as pure rules: filters, urgency order, caps (an order that
breaks the line cap is skipped, not split), and the least urgent slots giving up a shortfall."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from core.domain.waves import Candidate, WaveRule, choose, rule_issues, short_orders

T0 = dt.datetime(2026, 11, 25, 4)


def _c(order_id: int, *, priority: int = 0, due: int | None = None, carrier: str | None = "SF", units: int = 1,
       lines: int = 1, zones: frozenset[str] = frozenset({"pick"})) -> Candidate:
    return Candidate(order_id, priority, None if due is None else T0 + dt.timedelta(hours=due),
                     T0 - dt.timedelta(minutes=order_id), carrier, units, lines, zones)


def test_filters_then_most_urgent_first() -> None:
    orders = [_c(1), _c(2, priority=5), _c(3, due=1), _c(4, carrier="ZTO"), _c(5, units=2, lines=2),
              _c(6, zones=frozenset({"pick", "reserve"}))]
    assert choose(WaveRule(), orders) == [2, 3, 6, 5, 4, 1]  # priority, due, then oldest placed
    assert choose(WaveRule(carrier="SF", single_unit=True, zone="pick"), orders) == [2, 3, 1]
    assert choose(WaveRule(due_before=T0 + dt.timedelta(hours=2)), orders) == [3]


def test_caps_skip_an_order_that_does_not_fit() -> None:
    orders = [_c(1, priority=3, lines=3), _c(2, priority=2, lines=5), _c(3, priority=1, lines=2)]
    assert choose(WaveRule(max_lines=5), orders) == [1, 3]
    assert choose(WaveRule(max_orders=2), orders) == [1, 2]
    assert rule_issues(WaveRule(max_orders=0, max_lines=10**9)) == [
        ("max_orders", "wave_issue.cap", {"lo": 1, "hi": 1000}), ("max_lines", "wave_issue.cap", {"lo": 1, "hi": 20000})]


@given(st.lists(st.integers(1, 20), min_size=1, max_size=30), st.integers(0, 10), st.integers(1, 200))
def test_a_wave_keeps_its_caps(line_counts: list[int], max_orders: int, max_lines: int) -> None:
    orders = [_c(i, lines=n) for i, n in enumerate(line_counts, start=1)]
    chosen = choose(WaveRule(max_orders=max(1, max_orders), max_lines=max_lines), orders)
    assert len(chosen) <= max(1, max_orders) and len(set(chosen)) == len(chosen)
    assert sum(line_counts[i - 1] for i in chosen) <= max_lines


def test_the_least_urgent_slots_give_up_a_shortfall() -> None:
    waiting = [(1, 2), (2, 0), (3, 1), (4, 2)]  # slot 2 has sorted all its units already
    assert short_orders(1, waiting) == [4]
    assert short_orders(3, waiting) == [3, 4]
    assert short_orders(4, waiting) == [1, 3, 4]
    assert short_orders(0, waiting) == []


@given(st.lists(st.integers(0, 5), min_size=1, max_size=20), st.integers(1, 100))
def test_the_slots_sent_back_cover_the_shortfall_when_they_can(waiting: list[int], missing: int) -> None:
    slots = list(enumerate(waiting, start=1))
    back = short_orders(missing, slots)
    freed = sum(waiting[s - 1] for s in back)
    assert freed >= min(missing, sum(waiting))
    assert all(waiting[s - 1] > 0 for s in back)
