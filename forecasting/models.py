"""Daily demand models: 28-day moving average, seasonal naive, Croston (SBA), TSB, a profiled
moving average, the cheap models with last year's season of the SKU's category, and Prophet.

Every model is a function ``Window -> np.ndarray`` (one forecast per future day) so the
backtest can call each one on a truncated history — a fold's model cannot see the future
because it is never given it. Closed days (``open == False``: the shop or warehouse was shut)
are left out of training, and a future closed day is forecast as zero.

Why these models:
- ``ma28`` is what buyers already trust and the baseline every other model must beat by 5 %;
- ``snaive`` (same weekday last week) is the scale of MASE and a sanity reference; it is never
  used to drive orders (a one-week memory is too noisy for that);
- ``croston`` (with the Syntetos–Boylan correction) and ``tsb`` are made for intermittent SKUs
  (many zero days); TSB also decays towards zero when a SKU stops selling, Croston does not;
- ``seasonal_ma`` is the moving average in units of the shop-wide seasonal and promotion
  profile (:mod:`forecasting.profile`), so a sparse SKU still rises into 双11;
- ``yoy_ma``, ``yoy_croston`` and ``yoy_tsb`` are those levels times the seasonal factors the
  SKU's *category* showed at this time last year (category totals are dense even when the SKU
  is not, and categories move differently: coats rise into winter while T-shirts fall, 小家电
  and 美妆 gain most in 双11) — promotions and seasons for the price of a cheap model;
- ``ets`` and ``theta`` (statsmodels) and ``adida`` and ``imapa`` (on coreforecast) come from
  maintained libraries: :mod:`forecasting.library_models`;
- ``prophet`` captures weekly seasonality, yearly seasonality (only with ≥ 18 months of
  history — less under-identifies it), Chinese holidays and the promotions. It costs ~0.2
  CPU-s a fit, so the runner gives it only to series dense enough to profit.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from forecasting import library_models
from forecasting.library_models import smoothed

MA_WINDOW = 28
SEASON = 7
CROSTON_ALPHA = 0.1
TSB_ALPHA = 0.1  # demand size, updated on demand days
TSB_BETA = 0.05  # demand probability, updated every open day (~20-day memory)
# Yearly seasonality from 18 months on: one and a half cycles identify it well enough, and a
# two-year threshold meant that with two years of history every backtest fold (a few weeks
# shorter) judged a Prophet *without* yearly seasonality while the final forecast used one —
# selection chose on the wrong model (measured on the demo's 100 densest series, holdout 28-day
# WAPE 0.43 without yearly seasonality against 0.21 with it; the moving average scored 0.29).
YEARLY_MIN_DAYS = 548
YOY_LAG = 364  # a year back on the same weekday, so last year's weekly pattern lines up
PROPHET_CHANGEPOINT_PRIOR = 0.01


@dataclass(frozen=True)
class Window:
    """One fit: the training days (from ``start``) and which of the next days are open."""

    start: dt.date
    y: np.ndarray  # daily demand, float
    open: np.ndarray  # bool: the shop/warehouse was open that day
    future_open: np.ndarray  # bool, one per day to forecast (the horizon)
    holidays: pd.DataFrame | None = None  # Prophet holidays (calendar.prophet_holidays)
    profile: np.ndarray | None = None  # shop-wide profile, one value per training + future day
    # the demand of the SKU's group (category, else the shop) per day, ending on the last
    # training day like ``y``; it may start earlier than ``y`` (a SKU launched after its category)
    reference: np.ndarray | None = None

    @property
    def horizon(self) -> int:
        return len(self.future_open)

    def observed(self) -> np.ndarray:
        """Demand of the open training days, in order (closed days dropped)."""
        return self.y[self.open]


Model = Callable[[Window], np.ndarray]


def _flat(window: Window, level: float) -> np.ndarray:
    return np.where(window.future_open, max(level, 0.0), 0.0)


def moving_average(window: Window) -> np.ndarray:
    """Mean of the last 28 open days, flat over the horizon."""
    obs = window.observed()
    return _flat(window, float(obs[-MA_WINDOW:].mean()) if obs.size else 0.0)


def seasonal_naive(window: Window) -> np.ndarray:
    """Each future day repeats the latest open training day on the same weekday."""
    n = len(window.y)
    out = np.zeros(window.horizon)
    fallback = float(window.observed().mean()) if window.open.any() else 0.0
    for k in range(window.horizon):
        if not window.future_open[k]:
            continue
        i = n + k - SEASON * ((k // SEASON) + 1)
        while i >= 0 and not window.open[i]:
            i -= SEASON
        out[k] = window.y[i] if i >= 0 else fallback
    return out


def croston(window: Window) -> np.ndarray:
    """Croston's method with the Syntetos–Boylan bias correction: size / interval × (1 − α/2)."""
    obs = window.observed()
    nonzero = np.flatnonzero(obs > 0)
    if nonzero.size == 0:
        return _flat(window, 0.0)
    # start from the averages, not the first demand: one bulk order at launch would otherwise
    # set the size for months (Croston never decays between demands)
    # (the recursions run on coreforecast's exponentially weighted mean, library_models.smoothed)
    size = smoothed(obs[nonzero[1:]], CROSTON_ALPHA, start=float(obs[nonzero].mean()))
    interval = smoothed(np.diff(nonzero).astype(float), CROSTON_ALPHA, start=float(len(obs) / nonzero.size))
    return _flat(window, (1 - CROSTON_ALPHA / 2) * size / interval)


def tsb(window: Window) -> np.ndarray:
    """Teunter–Syntetos–Babai: probability of demand × size, both exponentially smoothed.

    The probability is updated every open day, so a SKU that stopped selling decays to zero.
    """
    obs = window.observed()
    nonzero = obs > 0
    if not nonzero.any():
        return _flat(window, 0.0)
    prob = smoothed(nonzero.astype(float), TSB_BETA, start=float(nonzero.mean()))
    size = smoothed(obs[nonzero], TSB_ALPHA, start=float(obs[nonzero].mean()))
    return _flat(window, prob * size)


def quiet_prophet_logging() -> None:
    """cmdstanpy resets its logger's level on every fit; disabling the logger sticks."""
    for name in ("cmdstanpy", "prophet", "prophet.plot"):
        logging.getLogger(name).disabled = True


def fit_prophet(train: pd.DataFrame, future: pd.DataFrame, *, yearly: bool,
                holidays: pd.DataFrame | None) -> np.ndarray:
    """Fit Prophet on ``train`` (``ds``, ``y``) and return ``yhat`` for ``future`` (``ds``).
    Only the holidays the fit can learn from are passed on, and the Stan data file is written
    fast (:mod:`forecasting.prophet_fit`): the same fit at ~80 % of the CPU (measured)."""
    from prophet import Prophet  # imported on use: ~1 s, and only dense series need it

    from forecasting.prophet_fit import FastJsonBackend, holidays_seen

    quiet_prophet_logging()
    holidays = holidays_seen(holidays, train["ds"], future["ds"])
    model = Prophet(
        growth="linear",
        weekly_seasonality=True,
        yearly_seasonality=yearly,
        daily_seasonality=False,
        holidays=holidays,
        # a stiff trend: a shop's level drifts slowly, and a flexible trend chases the run-up to
        # a promotion and extrapolates it (measured on the demo: −14 % lead-time error vs 0.05)
        changepoint_prior_scale=PROPHET_CHANGEPOINT_PRIOR,
        uncertainty_samples=0,  # intervals come from the backtest errors, as for every model
    )
    model.stan_backend = FastJsonBackend()
    model.fit(train)
    return model.predict(future)["yhat"].to_numpy()


def prophet(window: Window) -> np.ndarray:
    """Prophet on the open days: weekly seasonality, yearly with ≥ 18 months, holidays/promotions."""
    dates = pd.date_range(window.start, periods=len(window.y), freq="D")
    train = pd.DataFrame({"ds": dates[window.open], "y": window.observed()})
    if len(train) < 2 * SEASON or train["y"].nunique() < 2:
        return moving_average(window)  # nothing for Prophet to fit; behave like the baseline
    future = pd.DataFrame({"ds": pd.date_range(dates[-1] + pd.Timedelta(days=1), periods=window.horizon, freq="D")})
    yhat = fit_prophet(train, future, yearly=len(window.y) >= YEARLY_MIN_DAYS, holidays=window.holidays)
    return np.where(window.future_open, np.clip(yhat, 0.0, None), 0.0)


def seasonal_ma(window: Window) -> np.ndarray:
    """The SKU's last 28 open days in units of the shop-wide profile, times the profile ahead
    (:mod:`forecasting.profile`); the plain moving average when there is no profile."""
    if window.profile is None:
        return moving_average(window)
    n = len(window.y)
    recent = np.flatnonzero(window.open)[-MA_WINDOW:]
    weight = float(window.profile[recent].sum())
    if recent.size == 0 or weight <= 0:
        return moving_average(window)
    level = float(window.y[recent].sum()) / weight
    return np.where(window.future_open, level * window.profile[n:n + window.horizon], 0.0)


def yoy_factors(reference: np.ndarray | None, horizon: int) -> np.ndarray | None:
    """Last year's demand on each day ahead ÷ its mean over the ``MA_WINDOW`` days before that
    stretch: how the group moved from "the moving average's window" into "the horizon" a year
    ago. None without a year and a window of group history, when the group sold nothing then,
    or for a horizon reaching past last year's days.
    """
    if reference is None or len(reference) < YOY_LAG + MA_WINDOW or horizon > YOY_LAG:
        return None
    then = len(reference) - YOY_LAG
    base = float(reference[then - MA_WINDOW:then].mean())
    if base <= 0:
        return None
    return reference[then:then + horizon] / base


def with_yoy_season(level_model: Model) -> Model:
    """``level_model``'s level times the SKU's group's seasonal factors from a year ago.

    Growth is not carried over from last year (the SKU's own recent level sets it); only the
    *shape* of the season is — a factor of 2.2 on 双11 eve means the category sold 2.2× its
    previous four weeks' daily mean on that day last year. The level models are flat, so this is
    how a cheap model learns promotions and seasons without a single extra fit. Without a year of
    group history it is ``level_model`` itself.
    """
    def model(window: Window) -> np.ndarray:
        factors = yoy_factors(window.reference, window.horizon)
        if factors is None:
            return level_model(window)
        level = float(level_model(replace(window, future_open=np.ones(1, dtype=bool)))[0])
        return np.where(window.future_open, level * factors, 0.0)

    return model


def _or_baseline(model: Callable[[Window], np.ndarray | None]) -> Model:
    """``model``, or the moving average where it has nothing to fit (too short, constant)."""
    def run(window: Window) -> np.ndarray:
        forecast = model(window)
        return moving_average(window) if forecast is None else forecast

    return run


MODELS: dict[str, Model] = {
    "ma28": moving_average,
    "snaive": seasonal_naive,
    "croston": croston,
    "tsb": tsb,
    "prophet": prophet,
    "seasonal_ma": seasonal_ma,
    # the cheap level models with last year's season of the SKU's category (runner: used in
    # place of the flat ones when that category has a year of history)
    "yoy_ma": with_yoy_season(moving_average),
    "yoy_croston": with_yoy_season(croston),
    "yoy_tsb": with_yoy_season(tsb),
    # from maintained libraries (forecasting.library_models): statsmodels, coreforecast
    "ets": _or_baseline(library_models.ets),
    "theta": _or_baseline(library_models.theta),
    "adida": library_models.adida,
    "imapa": library_models.imapa,
    "yoy_adida": with_yoy_season(library_models.adida),
    "yoy_imapa": with_yoy_season(library_models.imapa),
}
BASELINE = "ma28"
# scored and shown, never selected to drive orders: the seasonal naive (one week's memory), and
# the library models — selectable, they cost the demo's holdout gain over the moving average
# 0.133 → 0.114 and Olist's +0.002 → −0.002 (cheap models; forecasting.library_models)
REFERENCE_ONLY = frozenset({"snaive", "ets", "theta", "adida", "imapa", "yoy_adida", "yoy_imapa"})


def forecast_frame(model: str, history: pd.DataFrame, horizon: int, *, closed_future: set[dt.date] | None = None,
                   holidays: pd.DataFrame | None = None) -> pd.DataFrame:
    """DataFrame entry point: ``history`` has one row per consecutive day with columns ``ds``,
    ``y`` and optionally ``open``; returns ``[ds, yhat]`` for the ``horizon`` days after it."""
    if history.empty:
        raise ValueError("history is empty")
    ds = pd.to_datetime(history["ds"])
    if (ds.diff().dropna() != pd.Timedelta(days=1)).any():
        raise ValueError("history must hold consecutive days")
    future = pd.date_range(ds.iloc[-1] + pd.Timedelta(days=1), periods=horizon, freq="D")
    closed = closed_future or set()
    window = Window(
        start=ds.iloc[0].date(),
        y=history["y"].to_numpy(dtype=float),
        open=history["open"].to_numpy(dtype=bool) if "open" in history else np.ones(len(history), dtype=bool),
        future_open=np.array([d.date() not in closed for d in future]),
        holidays=holidays,
    )
    return pd.DataFrame({"ds": future, "yhat": MODELS[model](window)})
