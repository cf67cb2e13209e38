"""The two Prophet speed-ups change nothing that is fitted: only holidays the training days hold
reach the fit, and the Stan data file written by the C encoder is the one stanio writes."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from forecasting.prophet_fit import holidays_seen

START = dt.date(2025, 1, 6)


def _holidays() -> pd.DataFrame:
    return pd.DataFrame({"holiday": ["old", "seen", "seen", "ahead", "edge"],
                         "ds": pd.to_datetime(["2024-06-01", "2025-02-01", "2025-05-20", "2025-05-22", "2025-01-03"]),
                         "lower_window": [0, 0, 0, 0, 0], "upper_window": [0, 0, 1, 0, 3]})


def test_only_holidays_the_training_days_hold_are_kept() -> None:
    train = pd.Series(pd.date_range(START, periods=120, freq="D"))  # 2025-01-06 … 2025-05-05
    future = pd.Series(pd.date_range("2025-05-06", periods=28, freq="D"))
    kept = holidays_seen(_holidays(), train, future)
    assert kept is not None
    # "old" lies before the history, "ahead" only in the forecast days (nothing to learn it from);
    # "edge" starts before the history but its window reaches into it; "seen" keeps its future day
    assert kept[["holiday", "ds"]].astype(str).values.tolist() == [
        ["seen", "2025-02-01"], ["seen", "2025-05-20"], ["edge", "2025-01-03"]]
    assert holidays_seen(_holidays(), train.iloc[:10], future.iloc[:0]) is not None  # "edge" alone
    assert holidays_seen(_holidays().iloc[:1], train, future) is None
    assert holidays_seen(None, train, future) is None


@pytest.mark.slow
def test_the_fit_is_the_same_with_both_speed_ups() -> None:
    from prophet import Prophet

    from forecasting import models

    rng = np.random.default_rng(8)
    days = pd.date_range(START, periods=150, freq="D")
    train = pd.DataFrame({"ds": days, "y": 10 + 3 * np.sin(np.arange(150) / 7 * 2 * np.pi) + rng.normal(0, 1, 150)})
    future = pd.DataFrame({"ds": pd.date_range(days[-1] + pd.Timedelta(days=1), periods=28, freq="D")})
    holidays = pd.concat([_holidays(), pd.DataFrame({"holiday": ["later"], "ds": pd.to_datetime(["2026-01-01"]),
                                                     "lower_window": [0], "upper_window": [0]})])
    fast = models.fit_prophet(train, future, yearly=False, holidays=holidays)
    models.quiet_prophet_logging()
    plain = Prophet(weekly_seasonality=True, yearly_seasonality=False, daily_seasonality=False, holidays=holidays,
                    changepoint_prior_scale=models.PROPHET_CHANGEPOINT_PRIOR, uncertainty_samples=0)
    plain.fit(train)
    np.testing.assert_allclose(fast, plain.predict(future)["yhat"].to_numpy(), rtol=1e-4, atol=1e-3)
