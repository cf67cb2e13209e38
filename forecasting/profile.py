"""The shop-wide demand profile: seasonality, holidays and promotions learnt once from the
total of all series, lent to every sparse SKU.

A SKU selling two units a week cannot teach any model that 双11 multiplies demand by five,
but the shop's total sells thousands a week and can. So Prophet is fitted once per backtest
fold (and once for the final forecast) on the shop's total daily demand, and its fitted and
forecast values become a profile ``p_t``; the ``seasonal_ma`` model then forecasts a SKU as
its recent level in profile units times the profile ahead:

    f_t = Σ_(last 28 open days) y  ÷  Σ_(same days) p  ×  p_t

(top-down seasonality: the classic cure for intermittent SKUs in a seasonal business). Each
profile is fitted on the days before its cutoff only, like every backtest fit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasting.backtest import fold_origins
from forecasting.models import SEASON, YEARLY_MIN_DAYS, fit_prophet

MIN_TOTAL_DAYS = 8 * SEASON
SHOP = ""  # the group of every series: the shop's total demand
MIN_GROUP_RATE = 2.0  # units a day: a thinner category total is too noisy a season to lend


@dataclass(frozen=True)
class Profile:
    """Profile values per day from ``first`` up to the cutoff + horizon (exclusive)."""

    first: dt.date
    values: np.ndarray

    def window(self, start: dt.date, days: int) -> np.ndarray | None:
        """``days`` values from ``start`` (None if the profile does not cover them)."""
        offset = (start - self.first).days
        if offset < 0 or offset + days > len(self.values):
            return None
        return self.values[offset:offset + days]


def total_demand(series: Iterable[tuple[dt.date, np.ndarray]], last_day: dt.date) -> tuple[dt.date, np.ndarray]:
    """Sum of daily series (each ``(start, y)`` ending on ``last_day``) on one calendar."""
    items = list(series)
    first = min(start for start, _ in items)
    total = np.zeros((last_day - first).days + 1)
    for start, y in items:
        offset = (start - first).days
        total[offset:offset + len(y)] += y
    return first, total


@dataclass(frozen=True)
class GroupDemand:
    """A group's (category's, or the shop's) total daily demand from ``first`` on."""

    first: dt.date
    values: np.ndarray

    def ending(self, last_day: dt.date) -> np.ndarray | None:
        """The totals up to and including ``last_day`` (None before ``first``): a series gets
        its group's demand cut where its own history ends, so a fold never sees past it."""
        days = (last_day - self.first).days + 1
        return self.values[:days] if 0 < days <= len(self.values) else None


def group_demand(series: Iterable[tuple[str | None, dt.date, np.ndarray]],
                 last_day: dt.date) -> dict[str, GroupDemand]:
    """Total demand per group (``(group, start, y)`` items ending on ``last_day``) and of the
    whole shop (key :data:`SHOP`). Groups selling under :data:`MIN_GROUP_RATE` units a day are
    left out: their series borrow the shop's season instead of a noisy one of their own."""
    items = list(series)
    if not items:
        return {}
    out: dict[str, GroupDemand] = {}
    for key in {SHOP, *(g for g, _, _ in items if g)}:
        first, total = total_demand(((start, y) for g, start, y in items if key == SHOP or g == key), last_day)
        if key == SHOP or total.mean() >= MIN_GROUP_RATE:
            out[key] = GroupDemand(first, total)
    return out


def fit_profile(first: dt.date, total: np.ndarray, open_: np.ndarray, cutoff: int, horizon: int,
                holidays: pd.DataFrame | None) -> Profile | None:
    """Prophet on the total's open days before ``cutoff``; fitted + forecast values as a profile."""
    train_open = open_[:cutoff]
    if train_open.sum() < MIN_TOTAL_DAYS or total[:cutoff][train_open].sum() <= 0:
        return None
    dates = pd.date_range(first, periods=cutoff + horizon, freq="D")
    values = fit_prophet(pd.DataFrame({"ds": dates[:cutoff][train_open], "y": total[:cutoff][train_open]}),
                         pd.DataFrame({"ds": dates}), yearly=cutoff >= YEARLY_MIN_DAYS, holidays=holidays)
    floor = max(float(np.mean(total[:cutoff][train_open])) * 0.05, 1e-6)
    return Profile(first, np.clip(values, floor, None))


def shop_profiles(first: dt.date, total: np.ndarray, open_: np.ndarray, *, horizon: int, folds: int,
                  min_train: int, holidays: pd.DataFrame | None,
                  ends: tuple[int, ...] = (0,)) -> dict[dt.date, Profile]:
    """A profile for each backtest cutoff and for the final forecast, keyed by cutoff date
    (the first day it forecasts). Every series ends on the same day as the total, so fold
    cutoffs fall on the same dates for all of them. ``ends`` lists how many days before the
    total's last day a run's history ends (a benchmark's holdout also backtests 28 days back)."""
    cutoffs = sorted({cut for end in ends
                      for cut in (*fold_origins(len(total) - end, horizon, folds, min_train), len(total) - end)})
    out = {}
    for cutoff in cutoffs:
        profile = fit_profile(first, total, open_, cutoff, horizon, holidays)
        if profile is not None:
            out[first + dt.timedelta(days=cutoff)] = profile
    return out
