"""The 80 % band cut from the folds' relative errors, and its coverage on counts."""

from __future__ import annotations

import numpy as np

from forecasting.intervals import FLOOR, MIN_RESIDUALS, band, pit_inside, scaled_errors


def _strict(actual: np.ndarray, low: np.ndarray, high: np.ndarray) -> float:
    return float(((actual >= low - 1e-9) & (actual <= high + 1e-9)).mean())


def test_the_band_grows_with_the_forecast_it_surrounds() -> None:
    """Errors are relative to the day's forecast, so a peak day (双11) gets a wider band than
    the quiet days the folds were cut from."""
    errors = list(np.linspace(-0.5, 0.5, 101))  # −50 % … +50 % of the forecast
    yhat = np.array([10.0, 20.0, 40.0, 0.0])
    low, high = band(yhat, errors, 0.0, np.array([True, True, True, False]))
    assert np.allclose(low[:3], yhat[:3] * 0.6) and np.allclose(high[:3], yhat[:3] * 1.4)
    assert low[3] == high[3] == 0.0  # a closed day


def test_below_the_floor_the_error_scale_is_constant() -> None:
    assert np.allclose(scaled_errors(np.array([1.0, 1.0]), np.array([0.01, 0.1])), [(1 - 0.01) / FLOOR, 0.9 / FLOOR])


def test_few_fold_errors_fall_back_to_z_sigma() -> None:
    low, high = band(np.array([5.0]), [0.1] * (MIN_RESIDUALS - 1), 2.0, np.array([True]))
    assert np.allclose([low[0], high[0]], [5 - 1.2816 * 2, 5 + 1.2816 * 2])


def test_a_calibrated_band_covers_80_percent_of_dense_days() -> None:
    """Demand with ±30 % multiplicative noise around a known level: the band cut from one
    window's errors covers ~80 % of the next window's days, by both measures."""
    rng = np.random.default_rng(7)
    level = 50.0 * (1 + 0.5 * np.sin(np.arange(4000) / 40))  # a level that moves, like a season
    actual = np.round(level * rng.lognormal(0.0, 0.3, level.size))
    errors = scaled_errors(actual[:2000], level[:2000]).tolist()
    open_ = np.ones(2000, dtype=bool)
    low, high = band(level[2000:], errors, 0.0, open_)
    assert abs(_strict(actual[2000:], low, high) - 0.8) < 0.03
    assert abs(pit_inside(actual[2000:], level[2000:], errors, open_) / 2000 - 0.8) < 0.03


def test_a_sparse_sku_cannot_be_covered_80_percent_by_whole_units_but_its_pit_can() -> None:
    """A SKU selling one unit on 7 % of days: every band holding the zero covers ~93 % of days;
    the PIT of counts says the forecast is calibrated (~0.8)."""
    rng = np.random.default_rng(3)
    actual = (rng.random(6000) < 0.07).astype(float)
    yhat = np.full(6000, 0.07)
    errors = scaled_errors(actual[:3000], yhat[:3000]).tolist()
    open_ = np.ones(3000, dtype=bool)
    low, high = band(yhat[3000:], errors, 0.0, open_)
    assert _strict(actual[3000:], low, high) > 0.9
    assert abs(pit_inside(actual[3000:], yhat[3000:], errors, open_) / 3000 - 0.8) < 0.03


def test_a_band_too_narrow_scores_low_by_both_measures() -> None:
    rng = np.random.default_rng(5)
    actual = rng.poisson(20.0, 3000).astype(float)
    narrow = list(np.linspace(-0.02, 0.02, 100))  # folds that claimed ±2 %
    open_ = np.ones(3000, dtype=bool)
    low, high = band(np.full(3000, 20.0), narrow, 0.0, open_)
    assert _strict(actual, low, high) < 0.3 and pit_inside(actual, np.full(3000, 20.0), narrow, open_) / 3000 < 0.3
