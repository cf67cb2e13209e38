"""Coherent levels: the totals shown are the sums of the SKU × warehouse forecasts."""

from __future__ import annotations

import numpy as np
import pytest

from forecasting.reconcile import (
    METHODS,
    choose,
    hierarchy,
    level_wape,
    projection,
    reconcile,
    shrunk_covariance,
)

BOTTOM = [(1, 1), (1, 2), (2, 1), (3, 1), (3, 2)]
CATEGORY = {1: "coats", 2: "coats", 3: None}


def _coherent(h, forecasts: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    """Every total row equals the sum of the bottom rows under it."""
    bottom = forecasts[-h.bottom:]
    assert np.allclose(forecasts, h.S @ bottom)
    levels = np.array(h.levels)
    assert np.allclose(forecasts[levels == "total"][0], bottom.sum(axis=0))
    sku1 = [i for i, r in enumerate(h.rows) if r == ("sku", 1)][0]
    assert np.allclose(forecasts[sku1], bottom[0] + bottom[1])  # SKU 1 in warehouses 1 and 2


def test_the_summing_matrix() -> None:
    h = hierarchy(BOTTOM, CATEGORY)
    assert h.levels == ["total", "category", "category", "sku", "sku", "sku", *["bottom"] * 5]
    assert h.rows[1:3] == [("category", ""), ("category", "coats")]
    assert h.S[2].tolist() == [1, 1, 1, 0, 0] and h.S[1].tolist() == [0, 0, 0, 1, 1]
    assert h.S[-5:].tolist() == np.eye(5).tolist()


@pytest.mark.parametrize("method", METHODS)
def test_every_method_gives_totals_that_are_the_sums(method: str) -> None:
    rng = np.random.default_rng(1)
    h = hierarchy(BOTTOM, CATEGORY)
    base = rng.uniform(1, 20, (len(h.rows), 28))  # incoherent base forecasts of every level
    G = projection(h, method, history_share=rng.uniform(1, 5, 5), errors=rng.normal(0, 1, (90, len(h.rows))))
    _coherent(h, reconcile(h, base, G))


def test_bottom_up_keeps_the_bottom_and_top_down_splits_the_total_by_history() -> None:
    h = hierarchy(BOTTOM, CATEGORY)
    base = np.arange(len(h.rows) * 2, dtype=float).reshape(-1, 2) + 1
    assert np.allclose(reconcile(h, base, projection(h, "bottom_up"))[-5:], base[-5:])
    share = np.array([1.0, 1.0, 2.0, 4.0, 2.0])
    td = reconcile(h, base, projection(h, "top_down", history_share=share))
    assert np.allclose(td[-5:], np.outer(share / 10, base[0]))


def test_mint_trusts_the_level_whose_errors_are_small() -> None:
    """Exact totals (tiny fold errors) and noisy bottoms: MinT makes the bottoms add up to the
    totals (a SKU sold from one warehouse gets its total exactly); exact bottoms and noisy
    totals: it keeps the bottoms."""
    rng = np.random.default_rng(2)
    h = hierarchy(BOTTOM, CATEGORY)
    exact = h.S @ rng.uniform(5, 10, (5, 7))
    noisy = exact.copy()
    noisy[-5:] += rng.normal(0, 3, (5, 7))
    aggregates = len(h.rows) - 5
    small_top = np.r_[np.full(aggregates, 0.01), np.full(5, 3.0)]
    fixed = reconcile(h, noisy, projection(h, "mint_shrink", errors=rng.normal(0, 1, (200, len(h.rows))) * small_top))
    assert np.abs(fixed[:aggregates] - exact[:aggregates]).max() < 0.05
    assert np.abs(fixed[-3] - exact[-3]).max() < 0.05 < np.abs(noisy[-3] - exact[-3]).max()  # SKU 2, one warehouse
    noisy_top = exact.copy()
    noisy_top[:aggregates] += rng.normal(0, 3, (aggregates, 7))
    small_bottom = small_top[::-1].copy()
    small_bottom[:aggregates], small_bottom[aggregates:] = 3.0, 0.01
    kept = reconcile(h, noisy_top, projection(h, "mint_shrink", errors=rng.normal(0, 1, (200, len(h.rows))) * small_bottom))
    assert np.abs(kept - exact).max() < 0.05


def test_the_shrinkage_keeps_w_invertible_with_fewer_days_than_series() -> None:
    errors = np.random.default_rng(3).normal(0, 1, (10, 40))
    W = shrunk_covariance(errors)
    assert np.linalg.matrix_rank(W) == 40 and np.allclose(W, W.T)


def test_the_method_is_chosen_on_the_holdout() -> None:
    h = hierarchy(BOTTOM, CATEGORY)
    rng = np.random.default_rng(4)
    truth = rng.uniform(5, 10, (5, 28))
    actual = h.S @ truth
    base = actual.copy()
    base[-5:] *= rng.uniform(0.5, 1.5, (5, 1))  # bottoms off, totals right: top-down by true shares wins
    projections = {"bottom_up": projection(h, "bottom_up"),
                   "top_down": projection(h, "top_down", history_share=truth.sum(axis=1))}
    best, scores = choose(h, base, actual, projections)
    assert best == "top_down" and scores["top_down"]["bottom"] < 1e-9 < scores["bottom_up"]["bottom"]
    assert level_wape(h, actual, actual) == {"total": 0.0, "category": 0.0, "sku": 0.0, "bottom": 0.0}


def test_bottom_forecasts_are_never_negative_nor_on_closed_days() -> None:
    """What replenishment orders on: MinT can push a small series below zero, and any method but
    bottom-up can spread demand onto a day a warehouse is shut — the totals are then the sums of
    the bottoms as fixed, not of the raw projection."""
    h = hierarchy(BOTTOM, CATEGORY)
    base = np.full((len(h.rows), 4), 5.0)
    G = projection(h, "bottom_up")
    G[0, 0] = -3.0  # 5 − 3 × 5 < 0 for the first bottom series
    open_ = np.ones((5, 4))
    open_[1, 2] = 0.0  # the second one is shut on day 3
    out = reconcile(h, base, G, open_)
    _coherent(h, out)
    assert out[-5].tolist() == [0.0] * 4 and out[-4].tolist() == [5.0, 5.0, 0.0, 5.0]
    assert out[0].tolist() == [20.0, 20.0, 15.0, 20.0]
