"""Money arithmetic in whole cents: conversions, splitting an amount over weights, and the
share of some units of a line.

Why whole cents: every amount the shop shows, stores and sums is a whole number of cents
(the database keeps money as integer cents, see docs/money.md). An amount spread over lines
or units — an order discount over the lines, a line's sales over its returned units — must
therefore come out in whole cents *and* add up exactly, or two reports of the same sales
(the raw tables and the summary tables, an order and its refunds) drift apart by a cent.

The split rule is the largest-remainder method: each part gets the floor of its pro-rata
share, and the cents left over go one each to the parts with the largest remainders; ties go
to the lower key. So the parts add up to the amount exactly, each is within one cent of its
pro-rata share, and the result does not depend on the order the parts are listed in.
:func:`allocate_grouped` is the same rule over many groups at once (numpy), for the bulk
writers and the migration; a test holds the two together.

Pure: no SQLAlchemy, no I/O.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

CENT = Decimal("0.01")
# |a × b| below this fits int64 (2**63 ≈ 9.2e18): the vectorised split multiplies an amount by
# a weight, both at most 10^12 cents in this shop (rulebook.MAX_AMOUNT), so it checks first.
_INT64_SAFE = 2**62


class _Key(Hashable, Protocol):
    """A part's key: hashable and ordered (ties in a split go to the lower key)."""

    def __lt__(self, other: Any, /) -> bool: ...


K = TypeVar("K", bound=_Key)


def to_cents(amount: Decimal | int | str) -> int:
    """``amount`` (yuan) as whole cents; ValueError when it is not a whole number of cents.

    Callers round first (``rulebook.parse_amount`` does): silently rounding here would hide a
    computation that produced fractions of a cent."""
    value = Decimal(amount) if not isinstance(amount, Decimal) else amount
    cents = value.scaleb(2)
    if not cents.is_finite() or cents != cents.to_integral_value():
        raise ValueError(f"{amount!r} is not a whole number of cents")
    return int(cents)


def from_cents(cents: int) -> Decimal:
    """Whole cents as a Decimal amount with two places (``1999`` → ``Decimal("19.99")``)."""
    return Decimal(int(cents)).scaleb(-2)


def round_cents(amount: Decimal) -> Decimal:
    """``amount`` rounded to the cent, half away from zero (the shop's rounding)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def allocate(amount: int, weights: Mapping[K, int]) -> dict[K, int]:
    """Split ``amount`` cents over ``weights`` (key → non-negative weight) by largest remainder.

    The shares add up to ``amount``; each is within one cent of ``amount × weight / Σ weights``;
    the result depends on the keys and weights only, not on their order (ties → lower key).
    With no weight at all only a zero amount can be split (ValueError otherwise).
    """
    if amount < 0 or any(w < 0 for w in weights.values()):
        raise ValueError("amount and weights must not be negative")
    total = sum(weights.values())
    if total == 0:
        if amount:
            raise ValueError("cannot split a non-zero amount over zero weights")
        return dict.fromkeys(weights, 0)
    shares = {key: amount * w // total for key, w in weights.items()}
    remainders = {key: amount * w % total for key, w in weights.items()}
    left = amount - sum(shares.values())
    for key in sorted(weights, key=lambda k: (-remainders[k], k))[:left]:
        shares[key] += 1
    return shares


def allocate_grouped(groups: npt.ArrayLike, amounts: npt.ArrayLike, weights: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """:func:`allocate` for many groups at once: ``groups[i]`` is the group of part ``i``
    (0 … n−1, parts of one group listed in key order), ``amounts[g]`` the cents to split in
    group ``g``, ``weights[i]`` the weight of part ``i``. Returns each part's share.

    Exactly what :func:`allocate` returns per group (ties go to the part listed first). Vectorised
    with int64 when no product amount × weight can overflow, else group by group in Python."""
    group = np.asarray(groups, dtype=np.int64)
    amount = np.asarray(amounts, dtype=np.int64)
    weight = np.asarray(weights, dtype=np.int64)
    if group.size == 0:
        return np.zeros(0, dtype=np.int64)
    if (amount < 0).any() or (weight < 0).any():
        raise ValueError("amounts and weights must not be negative")
    if int(amount.max(initial=0)) * int(weight.max(initial=0)) >= _INT64_SAFE:
        return _allocate_slowly(group, amount, weight)
    total = np.bincount(group, weights=weight, minlength=amount.size).astype(np.int64)
    if ((total == 0) & (amount != 0)).any():
        raise ValueError("cannot split a non-zero amount over zero weights")
    part_amount, part_total = amount[group], total[group]
    safe_total = np.where(part_total == 0, 1, part_total)
    product = part_amount * weight
    shares, remainders = product // safe_total, product % safe_total
    left = amount - np.bincount(group, weights=shares, minlength=amount.size).astype(np.int64)
    position = np.arange(group.size)
    order = np.lexsort((position, -remainders, group))  # by group, largest remainder, then listed first
    starts = np.searchsorted(group[order], np.arange(amount.size))
    rank = np.empty(group.size, dtype=np.int64)
    rank[order] = position - starts[group[order]]
    return shares + (rank < left[group]).astype(np.int64)


def _allocate_slowly(group: npt.NDArray[np.int64], amount: npt.NDArray[np.int64],
                     weight: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    out = np.zeros(group.size, dtype=np.int64)
    members: dict[int, list[int]] = {}
    for i, g in enumerate(group.tolist()):
        members.setdefault(g, []).append(i)
    for g, parts in members.items():
        shares = allocate(int(amount[g]), {pos: int(weight[i]) for pos, i in enumerate(parts)})
        out[parts] = [shares[pos] for pos in range(len(parts))]
    return out


def units_share(amount: int, qty: int, units: int) -> int:
    """Cents of ``amount`` (a line's cents over ``qty`` units) that the first ``units`` units
    carry: ``amount × units / qty`` rounded half up. Counting units cumulatively — units
    ``[a, b)`` carry ``units_share(b) − units_share(a)`` — a line returned in several parts
    never refunds more or less than the line in total."""
    if qty <= 0 or units <= 0:
        return 0
    return (2 * amount * units + qty) // (2 * qty)
