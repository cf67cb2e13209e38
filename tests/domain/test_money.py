"""Whole-cent money arithmetic (core.domain.money): no database, no session."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.domain.money import allocate, allocate_grouped, from_cents, to_cents, units_share

CENTS = st.integers(min_value=0, max_value=10**12)  # up to the rulebook's largest amount
WEIGHTS = st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=12)


def test_an_amount_converts_to_cents_and_back_exactly() -> None:
    assert to_cents(Decimal("19.99")) == 1999
    assert to_cents(Decimal("0.1")) == 10 and to_cents(Decimal("7")) == 700
    assert from_cents(1999) == Decimal("19.99") and str(from_cents(0)) == "0.00"


def test_a_fraction_of_a_cent_is_refused_rather_than_silently_rounded() -> None:
    with pytest.raises(ValueError):
        to_cents(Decimal("0.005"))


def test_ten_yuan_off_three_equal_lines_gives_the_spare_cent_to_the_first_line() -> None:
    assert allocate(1000, {1: 1000, 2: 1000, 3: 1000}) == {1: 334, 2: 333, 3: 333}


def test_the_spare_cent_goes_to_the_largest_remainder() -> None:
    # 1000 × 9999/11999 = 833.32…, 1000 × 2000/11999 = 166.68…: the second remainder is larger
    assert allocate(1000, {1: 9999, 2: 2000}) == {1: 833, 2: 167}


def test_nothing_can_be_split_over_nothing() -> None:
    assert allocate(0, {1: 0, 2: 0}) == {1: 0, 2: 0}
    with pytest.raises(ValueError):
        allocate(1, {1: 0})
    with pytest.raises(ValueError):
        allocate(-1, {1: 5})


@settings(max_examples=100, deadline=None)
@given(amount=CENTS, weights=WEIGHTS, data=st.data())
def test_a_split_adds_up_stays_within_a_cent_and_ignores_the_listing_order(
        amount: int, weights: list[int], data: st.DataObject) -> None:
    keyed = dict(enumerate(weights))
    if sum(weights) == 0:
        amount = 0
    shares = allocate(amount, keyed)
    assert sum(shares.values()) == amount
    total = sum(weights)
    for key, w in keyed.items():
        exact = Fraction(amount * w, total) if total else Fraction(0)
        assert abs(shares[key] - exact) < 1
    shuffled = data.draw(st.permutations(list(keyed.items())))
    assert allocate(amount, dict(shuffled)) == shares


@settings(max_examples=60, deadline=None)
@given(groups=st.lists(st.tuples(CENTS, WEIGHTS), min_size=1, max_size=8), small=st.booleans())
def test_the_vectorised_split_is_the_same_split(groups: list[tuple[int, list[int]]], small: bool) -> None:
    """allocate_grouped (bulk writers, the migration) returns exactly what allocate returns:
    with small numbers in int64, with large ones (amount × weight past 64 bits) in Python ints;
    the groups' parts may be interleaved, each group's own listing order counts."""
    if small:
        groups = [(a % 10**6, [w % 10**6 for w in ws]) for a, ws in groups]
    amounts = [a if sum(ws) else 0 for a, ws in groups]
    parts = [(g, w) for g, (_, ws) in enumerate(groups) for w in ws]
    listed = sorted(range(len(parts)), key=lambda i: (i % 3, i))  # interleaved, order kept per group
    got = allocate_grouped([parts[i][0] for i in listed], amounts, [parts[i][1] for i in listed])
    for g, amount in enumerate(amounts):
        mine = [k for k, i in enumerate(listed) if parts[i][0] == g]
        want = allocate(amount, {n: parts[listed[k]][1] for n, k in enumerate(mine)})
        assert [int(got[k]) for k in mine] == [want[n] for n in range(len(mine))]


def test_the_vectorised_split_handles_no_parts() -> None:
    assert allocate_grouped(np.zeros(0), np.zeros(0), np.zeros(0)).size == 0


def test_returned_units_carry_their_cents_cumulatively() -> None:
    # ¥91.66 over 3 units: 30.55, then 61.11 − 30.55 = 30.56, then 91.66 − 61.11 = 30.55
    assert [units_share(9166, 3, n) for n in range(4)] == [0, 3055, 6111, 9166]
    assert units_share(5, 2, 1) == 3  # half a cent rounds up


@settings(max_examples=100, deadline=None)
@given(amount=CENTS, qty=st.integers(min_value=1, max_value=100_000), data=st.data())
def test_unit_shares_round_half_up_and_add_up_to_the_line(amount: int, qty: int, data: st.DataObject) -> None:
    units = data.draw(st.integers(min_value=0, max_value=qty))
    exact = Fraction(amount * units, qty)
    assert exact - Fraction(1, 2) < units_share(amount, qty, units) <= exact + Fraction(1, 2)
    assert units_share(amount, qty, qty) == amount
