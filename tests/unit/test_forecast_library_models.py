"""The models computed by statsmodels and coreforecast, each on small synthetic series whose
answer is known: a level, a trend, a weekly season, intermittent demand — and the closure
calendar (closed days neither train nor get a forecast)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from forecasting import library_models, models
from forecasting.models import Window

START = dt.date(2026, 1, 5)  # a Monday
WEEK = np.array([10.0, 12, 14, 16, 18, 30, 40])


def window(y: np.ndarray, horizon: int = 14, open_: np.ndarray | None = None,
           future_open: np.ndarray | None = None) -> Window:
    return Window(START, np.asarray(y, dtype=float),
                  np.ones(len(y), dtype=bool) if open_ is None else open_,
                  np.ones(horizon, dtype=bool) if future_open is None else future_open)


@pytest.mark.parametrize("name", ["ets", "theta", "adida", "imapa"])
def test_a_level_is_forecast_as_that_level(name: str) -> None:
    assert models.MODELS[name](window(np.full(70, 5.0))) == pytest.approx(np.full(14, 5.0))


@pytest.mark.parametrize("name", ["ets", "theta"])
def test_a_weekly_season_is_repeated(name: str) -> None:
    assert models.MODELS[name](window(np.tile(WEEK, 12))) == pytest.approx(np.tile(WEEK, 2), abs=1e-6)


def test_theta_continues_half_the_trend_and_ets_holds_the_level() -> None:
    """Theta = SES + half the fitted linear trend (its classic form); Holt–Winters without a
    trend term stays near the last level."""
    y = 10 + 0.5 * np.arange(100)
    theta = models.MODELS["theta"](window(y, horizon=5))
    assert np.diff(theta) == pytest.approx(np.full(4, 0.25), abs=1e-3)
    assert theta[0] == pytest.approx(y[-1] + 0.25, abs=0.05)
    ets = models.MODELS["ets"](window(y, horizon=5))
    # no trend term: it lags the line by about (1 − α)/α × slope = 4.5 and climbs far slower
    assert ets[0] == pytest.approx(y[-1] - 4.5, abs=1.0) and np.ptp(ets) < 0.5 * np.ptp(theta)


def test_adida_and_imapa_on_intermittent_demand() -> None:
    """4 units every 4th day: one a day. ADIDA on 4-day buckets sees a constant 4 a bucket;
    IMAPA averages that with the 1-, 2- and 3-day buckets, each near one a day too."""
    y = np.zeros(80)
    y[3::4] = 4.0
    assert models.MODELS["adida"](window(y)) == pytest.approx(np.full(14, 1.0))
    imapa = models.MODELS["imapa"](window(y))
    assert np.ptp(imapa) == 0 and 0.85 < imapa[0] < 1.15
    assert models.MODELS["adida"](window(np.zeros(30))).sum() == 0 == models.MODELS["imapa"](window(np.zeros(30))).sum()


def test_coreforecast_computes_the_ses_level() -> None:
    """The SES recursion by hand against coreforecast's exponentially weighted mean."""
    values = np.array([3.0, 0.0, 5.0, 2.0, 8.0])
    level = values[0]
    for v in values[1:]:
        level += library_models.SES_ALPHA * (v - level)
    assert library_models._ses_level(values) == pytest.approx(level)


@pytest.mark.parametrize("name", ["ets", "theta", "adida", "imapa"])
def test_closed_days_neither_train_nor_get_a_forecast(name: str) -> None:
    y = np.tile(WEEK, 10).copy()
    open_ = np.ones(len(y), dtype=bool)
    open_[-10:-3] = False
    y[-10:-3] = 0.0  # a closed week: no sales, and it must not pull the level down
    future_open = np.ones(14, dtype=bool)
    future_open[[2, 3]] = False
    shut = models.MODELS[name](window(y, open_=open_, future_open=future_open))
    assert shut[2] == shut[3] == 0.0
    full = models.MODELS[name](window(np.tile(WEEK, 10)))
    if name in ("ets", "theta"):  # the closed week is filled from the week before: nothing changes
        assert shut[4:] == pytest.approx(full[4:], rel=1e-6)
    else:
        assert shut[4:].mean() == pytest.approx(full[4:].mean(), rel=0.1)


@pytest.mark.parametrize("name", ["ets", "theta"])
def test_too_short_for_a_weekly_fit_falls_back_to_the_moving_average(name: str) -> None:
    y = np.array([1.0, 4, 2, 6, 3, 5, 2, 7, 1, 3])
    assert models.MODELS[name](window(y)) == pytest.approx(models.moving_average(window(y)))
