"""Coherent levels: SKU × warehouse forecasts that add up to the SKU and category totals.

Forecasting every level on its own gives totals that are not the sums of their parts — a buyer
looking at a category would see a number no order adds up to. Reconciliation turns the base
forecasts of every level ``ŷ`` (bottom series, SKU totals, category totals, shop total) into
bottom forecasts ``b̃ = G ŷ`` whose sums ``S b̃`` are the totals shown, with ``S`` the summing
matrix (one row per series of any level, one column per bottom series). Three ``G``s:

- **bottom-up**: the bottom base forecasts as they are (``G`` picks them); totals are their sums;
- **top-down**: the shop total's base forecast split by each bottom series' share of the
  history (proportions of the historical averages, Gross–Sohl method A);
- **MinT-shrink** (Wickramasuriya, Athanasopoulos & Hyndman, 2019):
  ``G = (Sᵀ W⁻¹ S)⁻¹ Sᵀ W⁻¹`` with ``W`` the covariance of the base forecasts' errors (from the
  backtest folds), shrunk towards its diagonal by the Schäfer–Strimmer intensity so it stays
  invertible with fewer error days than series. No installed library does this
  (hierarchicalforecast needs statsforecast's pandas < 3), so it is numpy.

Which one is used is chosen on the holdout (:func:`choose`): the method whose coherent
forecasts have the lowest mean WAPE over the levels on the days the choice of models never saw.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

METHODS = ("bottom_up", "top_down", "mint_shrink")


@dataclass(frozen=True)
class Hierarchy:
    """The summing matrix and the name of each of its rows (bottom series last)."""

    S: np.ndarray  # (all series) × (bottom series)
    rows: list[tuple[str, object]]  # (level, key) per row: ("total", None), ("category", c), ("sku", p), ("bottom", k)
    levels: list[str]  # the level of each row, for scoring

    @property
    def bottom(self) -> int:
        return self.S.shape[1]


def hierarchy(bottom: Sequence[tuple[int, int]], category: Mapping[int, str | None]) -> Hierarchy:
    """The shop total, one row per category, one per SKU (summed over warehouses), then the
    ``bottom`` (product, warehouse) series themselves. A product without a category counts
    under ``""``."""
    products = sorted({p for p, _ in bottom})
    cats = sorted({category.get(p) or "" for p in products})
    rows: list[tuple[str, object]] = [("total", None), *(("category", c) for c in cats),
                                      *(("sku", p) for p in products), *(("bottom", k) for k in bottom)]
    S = np.zeros((len(rows), len(bottom)))
    S[0, :] = 1.0
    for j, (product, _warehouse) in enumerate(bottom):
        S[1 + cats.index(category.get(product) or ""), j] = 1.0
        S[1 + len(cats) + products.index(product), j] = 1.0
        S[1 + len(cats) + len(products) + j, j] = 1.0
    return Hierarchy(S, rows, [level for level, _ in rows])


def shrunk_covariance(errors: np.ndarray) -> np.ndarray:
    """Schäfer–Strimmer shrinkage of the error covariance (rows: days, columns: series) towards
    its diagonal; a series whose errors never varied gets a tiny variance so ``W`` inverts."""
    e = errors - errors.mean(axis=0)
    t = e.shape[0]
    cov = e.T @ e / max(t - 1, 1)
    sd = np.sqrt(np.clip(np.diag(cov), 1e-12, None))
    x = e / sd
    corr = x.T @ x / max(t - 1, 1)
    # variance of each correlation estimate (Schäfer & Strimmer, 2005), without the t × n × n
    # tensor: Σ_t (w_tij − w̄_ij)² = Σ_t x_ti² x_tj² − t w̄_ij²
    wbar = x.T @ x / t
    var_r = t / max((t - 1) ** 3, 1) * ((x ** 2).T @ (x ** 2) - t * wbar ** 2)
    off = ~np.eye(corr.shape[0], dtype=bool)
    denom = float((corr[off] ** 2).sum())
    lam = 1.0 if denom <= 0 else float(np.clip(var_r[off].sum() / denom, 0.0, 1.0))
    shrunk = lam * np.diag(np.diag(corr)) + (1 - lam) * corr
    return shrunk * np.outer(sd, sd) + np.eye(len(sd)) * 1e-9


def projection(h: Hierarchy, method: str, *, history_share: np.ndarray | None = None,
               errors: np.ndarray | None = None) -> np.ndarray:
    """``G`` (bottom series × all series) for ``method``."""
    n, m = h.S.shape
    if method == "bottom_up":
        G = np.zeros((m, n))
        G[:, n - m:] = np.eye(m)
        return G
    if method == "top_down":
        if history_share is None:
            raise ValueError("top_down needs each bottom series' share of the history")
        G = np.zeros((m, n))
        G[:, 0] = history_share / history_share.sum() if history_share.sum() > 0 else 1.0 / m
        return G
    if method == "mint_shrink":
        if errors is None:
            raise ValueError("mint_shrink needs the base forecasts' errors")
        W_inv = np.linalg.pinv(shrunk_covariance(errors))
        StW = h.S.T @ W_inv
        return np.linalg.solve(StW @ h.S, StW)
    raise ValueError(f"method must be one of {', '.join(METHODS)}")


def reconcile(h: Hierarchy, base: np.ndarray, G: np.ndarray, open_: np.ndarray | None = None) -> np.ndarray:
    """Coherent forecasts of every row (``S b̃``): ``base`` is (all series) × days.

    The bottom forecasts ``b̃ = G ŷ`` are what orders are placed on, so they are made usable
    first: no negative demand (MinT can push a small series below zero) and none on a bottom
    series' closed days (``open_``, bottom series × days). Every total is then the sum of
    those bottoms — coherent as stored, not only as computed."""
    bottom = np.clip(G @ base, 0.0, None)
    if open_ is not None:
        bottom = bottom * open_
    return h.S @ bottom


def level_wape(h: Hierarchy, forecast: np.ndarray, actual: np.ndarray) -> dict[str, float]:
    """WAPE of the horizon totals per level (Σ|forecast − actual| ÷ Σ actual over its rows)."""
    out: dict[str, float] = {}
    levels = np.array(h.levels)
    for level in dict.fromkeys(h.levels):
        rows = levels == level
        f, a = forecast[rows].sum(axis=1), actual[rows].sum(axis=1)
        out[level] = float(np.abs(f - a).sum() / a.sum()) if a.sum() > 0 else float("nan")
    return out


def choose(h: Hierarchy, base: np.ndarray, actual: np.ndarray, projections: Mapping[str, np.ndarray],
           open_: np.ndarray | None = None) -> tuple[str, dict[str, dict[str, float]]]:
    """The method whose coherent holdout forecasts have the lowest mean WAPE over the levels,
    and every method's WAPE per level (the base forecasts' own, incoherent, as ``base``)."""
    scores = {"base": level_wape(h, base, actual)}
    for name, G in projections.items():
        scores[name] = level_wape(h, reconcile(h, base, G, open_), actual)
    best = min(projections, key=lambda k: (float(np.nanmean(list(scores[k].values()))), k))
    return best, scores
