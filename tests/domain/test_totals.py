"""Order totals and the order discount's split over lines (core.domain.totals): no database."""

from __future__ import annotations

from decimal import Decimal as D

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from core.domain import totals
from core.domain.money import from_cents


def test_a_line_total_is_price_times_quantity_less_the_line_discount() -> None:
    assert totals.line_total(3, D("19.99"), D("1.00")) == D("58.97")


def test_ten_yuan_off_three_ten_yuan_lines_is_split_334_333_333() -> None:
    t = totals.order_totals([D("10.00")] * 3, D("10.00"), D("8.00"))
    assert (t.subtotal, t.total) == (D("30.00"), D("28.00"))
    assert t.shares == (D("3.34"), D("3.33"), D("3.33"))
    assert t.paid([D("10.00")] * 3) == (D("6.66"), D("6.67"), D("6.67"))
    assert t.on_shipping == 0


def test_the_spare_cent_goes_to_the_line_with_the_largest_remainder() -> None:
    # 1000 cents × 99.99/119.99 = 833.32 → 833; × 20/119.99 = 166.68 → 167
    assert totals.discount_shares([D("99.99"), D("20.00")], D("10.00")) == (D("8.33"), D("1.67"))


def test_a_discount_larger_than_the_goods_reduces_the_shipping() -> None:
    t = totals.order_totals([D("10.00")], D("12.00"), D("5.00"))
    assert t.shares == (D("10.00"),) and t.on_shipping == D("2.00") and t.total == D("3.00")
    assert totals.totals_issues(t) == []


def test_no_discount_means_no_shares() -> None:
    assert totals.discount_shares([D("10.00"), D("5.00")], D("0")) == (D("0.00"), D("0.00"))
    assert totals.discount_shares([D("0.00")], D("3.00")) == (D("0.00"),)  # free goods take nothing


def test_totals_must_add_up_to_what_the_order_says() -> None:
    t = totals.order_totals([D("10.00"), D("5.50")], D("1.00"), D("8.00"))
    assert totals.totals_issues(t, D("22.50")) == []
    [issue] = totals.totals_issues(t, D("22.49"))
    assert (issue.field, issue.message, issue.value) == ("total", "issue.totals", D("22.49"))


def test_a_negative_total_is_a_discount_that_is_too_large() -> None:
    t = totals.order_totals([D("10.00")], D("20.00"), D("5.00"))
    assert [(i.field, i.message) for i in totals.totals_issues(t)] == [("discount", "issue.discount_too_large")]


AMOUNTS = st.integers(min_value=0, max_value=10**8)


@settings(max_examples=100, deadline=None)
@given(lines=st.lists(AMOUNTS, min_size=1, max_size=10), discount=AMOUNTS, shipping=AMOUNTS)
def test_shares_add_up_to_the_discount_on_the_goods(lines: list[int], discount: int, shipping: int) -> None:
    line_totals = [from_cents(c) for c in lines]
    t = totals.order_totals(line_totals, from_cents(discount), from_cents(shipping))
    assert sum(t.shares, totals.ZERO) == min(from_cents(discount), t.subtotal)
    assert all(D(0) <= s <= lt for s, lt in zip(t.shares, line_totals, strict=True))
    assert sum(t.shares, totals.ZERO) + t.on_shipping == t.discount
    assert sum(t.paid(line_totals), totals.ZERO) == t.subtotal - sum(t.shares, totals.ZERO)
    assert t.total == t.subtotal - t.discount + t.shipping_fee


@settings(max_examples=60, deadline=None)
@given(orders=st.lists(st.tuples(st.lists(AMOUNTS, min_size=1, max_size=6), AMOUNTS), min_size=1, max_size=8))
def test_a_whole_file_is_split_as_each_order_alone(orders: list[tuple[list[int], int]]) -> None:
    order_of_line = [o for o, (lines, _) in enumerate(orders) for _ in lines]
    line_cents = [c for lines, _ in orders for c in lines]
    got = totals.discount_shares_cents(order_of_line, line_cents, [d for _, d in orders])
    want = [s for lines, d in orders for s in totals.discount_shares([from_cents(c) for c in lines], from_cents(d))]
    assert [from_cents(int(c)) for c in got] == want


def test_whole_file_totals_add_up_or_say_which_orders_do_not() -> None:
    ok = totals.totals_add_up(subtotal=[1500, 1000], discount=[100, 0], shipping_fee=[800, 0],
                              total=[2200, 999], line_sums=[1500, 1000])
    assert ok.tolist() == [True, False]
    assert not totals.totals_add_up([100], [300], [0], [-200], [100]).any()  # a negative total
    assert isinstance(ok, np.ndarray)
