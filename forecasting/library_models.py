"""Models computed by maintained libraries: Holt–Winters and Theta from ``statsmodels``, the
aggregate–disaggregate intermittent-demand methods (ADIDA, IMAPA) on ``coreforecast``'s
exponentially weighted mean.

Why not statsforecast (which has AutoETS, AutoTheta, ADIDA, IMAPA and TSB in one place): its
newest release, 2.1.1, requires ``pandas < 3`` and this project runs pandas 3.1
(docs/planning.md). ``statsmodels`` 0.15 and ``coreforecast`` 0.0.20 have no such bound. No
installed library has Croston (SBA) or TSB as a method, so their logic (the SBA correction,
starting from the averages, TSB's daily probability update) stays in :mod:`forecasting.models`,
but their smoothing recursions run on coreforecast's exponentially weighted mean
(:func:`smoothed`; equal to the former loops to 1e-14 on the demo's and Olist's series).

They are scored on every fold and the holdout and shown, but neither drive orders nor join the
combination (``REFERENCE_ONLY``; :mod:`forecasting.combination` has the measurements): on these
data they are less accurate than the models with last year's category season.

Like every model these are ``Window -> np.ndarray``: they see only the training days, forecast
zero on a future closed day, and leave closed days out of the fit. Holt–Winters and Theta need
a regular weekly calendar, so a closed day is filled with the same weekday a week earlier (the
closure is not "no demand", and dropping the day would shift the weekdays); ADIDA and IMAPA
work on the open days in order, as Croston and TSB do.

- ``ets``: additive weekly season, no trend (statsmodels ``ExponentialSmoothing``), smoothing
  fixed at α = 0.1 (level) and γ = 0.05 (season) — the estimated fit costs ~85 ms against
  ~4 ms, on every backtest fold of every series; on the last ``FIT_DAYS`` days.
- ``theta``: the Theta method (statsmodels ``ThetaModel``, additive weekly deseasonalising):
  SES plus half the linear trend (the M3 winner's form); ~50 ms a fit, so the runner gives it
  and ``ets`` only to smooth and erratic series, where a weekly pattern exists to fit.
- ``adida``: demand summed over buckets of the mean inter-demand interval, smoothed (SES,
  α = 0.1), spread back evenly over the bucket's days — intermittent demand seen at a scale
  where it is no longer intermittent. ``imapa``: the mean of ADIDA over every bucket size from
  one day to that interval.
"""

from __future__ import annotations

import warnings
from typing import Protocol

import numpy as np
from coreforecast.exponentially_weighted import exponentially_weighted_mean  # type: ignore[import-untyped]


class Window(Protocol):
    """What these models read of :class:`forecasting.models.Window` (which registers them, so
    this module cannot import it back)."""

    @property
    def y(self) -> np.ndarray: ...

    @property
    def open(self) -> np.ndarray: ...

    @property
    def future_open(self) -> np.ndarray: ...

    @property
    def horizon(self) -> int: ...

    def observed(self) -> np.ndarray: ...

ETS_ALPHA = 0.1
ETS_GAMMA = 0.05
SES_ALPHA = 0.1
FIT_DAYS = 365  # a year of daily data is plenty for a weekly pattern and keeps fits fast
MIN_WEEKS = 4  # fewer weeks than this and there is no weekly pattern to estimate
MAX_BUCKET = 28
SEASON = 7  # the weekly season (the same as forecasting.models.SEASON)


def _filled(window: Window) -> np.ndarray | None:
    """The last ``FIT_DAYS`` training days with closed days filled from a week earlier (the
    first open days' mean where there is no week earlier); None with under ``MIN_WEEKS`` weeks."""
    y, open_ = window.y[-FIT_DAYS:].astype(float), window.open[-FIT_DAYS:]
    if open_.sum() < MIN_WEEKS * SEASON:
        return None
    out = y.copy()
    fallback = float(y[open_].mean())
    for i in np.flatnonzero(~open_):
        out[i] = out[i - SEASON] if i >= SEASON else fallback
    return out


def _shaped(window: Window, yhat: np.ndarray) -> np.ndarray:
    return np.where(window.future_open, np.clip(np.asarray(yhat, dtype=float), 0.0, None), 0.0)


def ets(window: Window) -> np.ndarray | None:
    """Holt–Winters, additive weekly season, fixed smoothing (see the module docstring); None
    (the caller's moving average) with under ``MIN_WEEKS`` weeks of open days."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing  # type: ignore[import-untyped]

    y = _filled(window)
    if y is None:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels' convergence/frequency notes: nothing to act on
        fit = ExponentialSmoothing(y, trend=None, seasonal="add", seasonal_periods=SEASON,
                                   initialization_method="heuristic").fit(
            smoothing_level=ETS_ALPHA, smoothing_seasonal=ETS_GAMMA, optimized=False)
        return _shaped(window, fit.forecast(window.horizon))


def theta(window: Window) -> np.ndarray | None:
    """The Theta method with additive weekly deseasonalising (statsmodels); None like ``ets``,
    and for a constant series (nothing to fit: its level is the answer)."""
    from statsmodels.tsa.forecasting.theta import ThetaModel  # type: ignore[import-untyped]

    y = _filled(window)
    if y is None or np.ptp(y) == 0:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = ThetaModel(y, period=SEASON, method="additive").fit()
        return _shaped(window, fit.forecast(window.horizon))


def smoothed(values: np.ndarray, alpha: float, start: float | None = None) -> float:
    """The last value of simple exponential smoothing of ``values`` (coreforecast's
    exponentially weighted mean: ``s ← s + α (v − s)``), from ``start`` when given (else from
    the first value). Croston and TSB (forecasting.models) are this recursion too."""
    series = values.astype(np.float64) if start is None else np.r_[start, values].astype(np.float64)
    return float(exponentially_weighted_mean(series, alpha)[-1])


def _ses_level(values: np.ndarray) -> float:
    return smoothed(values, SES_ALPHA)


def _adida_rate(observed: np.ndarray, bucket: int) -> float:
    """Daily rate from the SES of demand summed over ``bucket``-day buckets, the most recent
    bucket ending on the last day (a partial oldest bucket is dropped)."""
    usable = observed[len(observed) % bucket:]
    if usable.size == 0:
        return 0.0
    return _ses_level(usable.reshape(-1, bucket).sum(axis=1)) / bucket


def _mean_interval(observed: np.ndarray) -> int:
    demand_days = int((observed > 0).sum())
    return 0 if demand_days == 0 else min(MAX_BUCKET, max(1, round(observed.size / demand_days)))


def adida(window: Window) -> np.ndarray:
    """ADIDA: SES on buckets of the mean inter-demand interval, spread evenly over their days."""
    obs = window.observed()
    bucket = _mean_interval(obs)
    rate = 0.0 if bucket == 0 else _adida_rate(obs, bucket)
    return _shaped(window, np.full(window.horizon, rate))


def imapa(window: Window) -> np.ndarray:
    """IMAPA: the mean of the ADIDA rates over every bucket size from 1 to the mean interval."""
    obs = window.observed()
    top = _mean_interval(obs)
    rate = 0.0 if top == 0 else float(np.mean([_adida_rate(obs, k) for k in range(1, top + 1)]))
    return _shaped(window, np.full(window.horizon, rate))
