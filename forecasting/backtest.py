"""Rolling-origin backtest at the level orders are placed.

For each fold the model is fitted on the days *before* the origin only (the window handed to
it simply ends there) and forecasts the next ``horizon`` days, which are then compared with
what happened. Folds step back by the horizon from the end of the history, so their test
windows do not overlap and the latest fold ends on the last known day.

Scores are kept as error *sums* (not ratios) so they pool across folds and across series:
pooled WAPE = Σ|error| / Σ actual over every series, which weighs a series by its volume, as
the money at stake does. Per fold and series:

- weekly WAPE: the test window cut into 7-day buckets (the ordering rhythm);
- lead-time WAPE: the total over the first ``lead_time`` days — what a purchase order covers;
- daily MASE: mean absolute daily error ÷ the in-sample mean absolute change from the same
  weekday a week earlier (seasonal naive), so 1.0 means "as good as last week's numbers";
- bias: Σ(forecast − actual) ÷ Σ actual (positive = over-forecast).

Closed days are excluded from every score: the shop was shut, there was nothing to predict.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd

from forecasting.combination import demand_class, with_combination
from forecasting.intervals import scaled_errors
from forecasting.models import MA_WINDOW, SEASON, YOY_LAG, Model, Window

WEEK = 7


class ProfileLike(Protocol):
    def window(self, start: dt.date, days: int) -> np.ndarray | None: ...


def profile_for(profiles: Mapping[dt.date, ProfileLike] | None, start: dt.date, cutoff: int,
                horizon: int) -> np.ndarray | None:
    """The profile fitted before ``start + cutoff``, over the ``cutoff + horizon`` days from ``start``."""
    profile = (profiles or {}).get(start + dt.timedelta(days=cutoff))
    return None if profile is None else profile.window(start, cutoff + horizon)


@dataclass
class Scores:
    """One model's backtest error sums for one series (or pooled over many)."""

    abs_err_weekly: float = 0.0
    actual_weekly: float = 0.0
    abs_err_lead: float = 0.0
    actual_lead: float = 0.0
    err_sum: float = 0.0
    actual_sum: float = 0.0
    sq_err_daily: float = 0.0
    days: int = 0
    mase_values: list[float] = field(default_factory=list)
    lead_errors: list[float] = field(default_factory=list)
    # (actual − forecast) ÷ the day's error scale on each open day: what the 80 % band is cut
    # from (:mod:`forecasting.intervals`)
    residuals: list[float] = field(default_factory=list, repr=False)
    # actual − forecast on every day of every fold, oldest fold first (closed days 0): the last
    # ``horizon`` are the latest fold's, aligned by date across series (forecasting.reconcile)
    daily_errors: list[float] = field(default_factory=list, repr=False)

    @staticmethod
    def _ratio(num: float, den: float) -> float | None:
        return num / den if den > 0 else None

    @property
    def wape_weekly(self) -> float | None:
        return self._ratio(self.abs_err_weekly, self.actual_weekly)

    @property
    def wape_lead(self) -> float | None:
        return self._ratio(self.abs_err_lead, self.actual_lead)

    @property
    def bias(self) -> float | None:
        return self._ratio(self.err_sum, self.actual_sum)

    @property
    def mase(self) -> float | None:
        finite = [m for m in self.mase_values if math.isfinite(m)]
        return float(np.mean(finite)) if finite else None

    @property
    def sigma_daily(self) -> float:
        """Root-mean-square daily error: the spread of one day's demand around the forecast."""
        return math.sqrt(self.sq_err_daily / self.days) if self.days else 0.0

    @property
    def sigma_lead(self) -> float:
        """Root-mean-square error of the lead-time totals over the folds."""
        return math.sqrt(float(np.mean(np.square(self.lead_errors)))) if self.lead_errors else 0.0

    def add(self, other: Scores) -> None:
        """Pool ``other`` into this one (sums add up; MASE values are averaged later)."""
        for name in ("abs_err_weekly", "actual_weekly", "abs_err_lead", "actual_lead", "err_sum", "actual_sum",
                     "sq_err_daily", "days"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.mase_values += other.mase_values
        self.lead_errors += other.lead_errors
        self.residuals += other.residuals
        self.daily_errors += other.daily_errors

    def summary(self) -> dict[str, float | None]:
        """The figures a person reads, plus the sums that pool (stored as JSON)."""
        return {"wape_weekly": self.wape_weekly, "wape_lead_time": self.wape_lead, "mase": self.mase,
                "bias": self.bias, "abs_err_weekly": self.abs_err_weekly, "actual_weekly": self.actual_weekly,
                "abs_err_lead": self.abs_err_lead, "actual_lead": self.actual_lead, "err_sum": self.err_sum,
                "actual_sum": self.actual_sum}


def fold_origins(days: int, horizon: int, folds: int, min_train: int) -> list[int]:
    """Indices where the test windows start, oldest first; each trains on ``[0, origin)``.

    The last fold's window ends on the last day; earlier ones step back by ``horizon``. Folds
    that would leave fewer than ``min_train`` training days are dropped.

    With more than two years of history one more fold comes first: *last year's* window of the
    days about to be forecast (origin a year before the end). Recent folds only show the last
    few months — forecasting in late October, they are summer and autumn weeks without a 双11 —
    so they cannot tell which model handles the season ahead; last year's same window can. It is added only when a year and a
    moving-average window of history precede it, so that the seasonal models, which need last
    year's data, are judged there with it (with less they are the flat models in disguise).
    """
    origins = [o for o in (days - horizon * k for k in range(folds, 0, -1)) if o >= min_train]
    seasonal = days - YOY_LAG
    if seasonal >= YOY_LAG + MA_WINDOW and (not origins or seasonal + horizon <= origins[0]):
        origins.insert(0, seasonal)
    return origins


def mase_scale(y: np.ndarray, open_: np.ndarray) -> float:
    """In-sample mean |y_t − y_{t−7}| over pairs of open days (the seasonal-naive error)."""
    both = open_[SEASON:] & open_[:-SEASON]
    if not both.any():
        return math.nan
    return float(np.abs(y[SEASON:] - y[:-SEASON])[both].mean())


def _bucket_sums(values: np.ndarray, size: int) -> np.ndarray:
    edges = np.arange(0, len(values), size)
    return np.add.reduceat(values, edges) if len(values) else np.zeros(0)


def score_fold(actual: np.ndarray, forecast: np.ndarray, open_: np.ndarray, lead_time: int,
               scale: float) -> Scores:
    """Scores of one forecast against what happened (closed days zeroed out on both sides)."""
    a = np.where(open_, actual, 0.0)
    f = np.where(open_, forecast, 0.0)
    weekly_a, weekly_f = _bucket_sums(a, WEEK), _bucket_sums(f, WEEK)
    lead = min(lead_time, len(a))
    lead_err = float(f[:lead].sum() - a[:lead].sum())
    err = (f - a)[open_]
    mae = float(np.abs(err).mean()) if err.size else math.nan
    return Scores(
        abs_err_weekly=float(np.abs(weekly_f - weekly_a).sum()), actual_weekly=float(weekly_a.sum()),
        abs_err_lead=abs(lead_err), actual_lead=float(a[:lead].sum()),
        err_sum=float(err.sum()), actual_sum=float(a.sum()),
        sq_err_daily=float(np.square(err).sum()), days=int(err.size),
        mase_values=[mae / scale if scale > 0 else math.nan], lead_errors=[lead_err],
        residuals=scaled_errors(a[open_], f[open_]).tolist(), daily_errors=(a - f).tolist(),
    )


def backtest(start: dt.date, y: np.ndarray, open_: np.ndarray, models: dict[str, Model], *, horizon: int,
             lead_time: int, folds: int, min_train: int, holidays: pd.DataFrame | None = None,
             profiles: Mapping[dt.date, ProfileLike] | None = None,
             reference: np.ndarray | None = None, combine: bool = False) -> tuple[dict[str, Scores], int]:
    """Score every model on the same folds; returns ``({model: Scores}, folds used)``.

    ``profiles`` maps a cutoff date to the shop-wide profile fitted before it
    (:mod:`forecasting.profile`); each fold gets the one of its own origin. ``reference`` is the
    series' group demand ending on the same day as ``y`` (it may start earlier); each fold gets
    it cut at its origin, like ``y``. With ``combine`` the median combination of the fold's
    demand class (:mod:`forecasting.combination`) is scored too, as ``combo``, from the same
    forecasts — no extra fit.
    """
    scores = {name: Scores() for name in models}
    origins = fold_origins(len(y), horizon, folds, min_train)
    lead_in = 0 if reference is None else len(reference) - len(y)
    for origin in origins:
        end = origin + horizon
        window = Window(start, y[:origin], open_[:origin], open_[origin:end], holidays,
                        profile_for(profiles, start, origin, horizon),
                        None if reference is None else reference[:lead_in + origin])
        scale = mase_scale(y[:origin], open_[:origin])
        for name, forecast in forecast_all(window, models, combine).items():
            scores.setdefault(name, Scores()).add(score_fold(y[origin:end], forecast, open_[origin:end], lead_time,
                                                             scale))
    return scores, len(origins)


def holdout_start(days: int, horizon: int, folds: int, min_train: int) -> int | None:
    """Where the final holdout begins: the last ``horizon`` days, kept from selection — or
    None when the history before them leaves room for no selection fold at all (then a series
    is selected on its folds and shows no holdout figure rather than an optimistic one)."""
    cut = days - horizon
    return cut if fold_origins(cut, horizon, folds, min_train) else None


def forecast_all(window: Window, models: Mapping[str, Model], combine: bool) -> dict[str, np.ndarray]:
    """Every model's forecast for ``window``, plus the combination of the window's demand class."""
    forecasts = {name: model(window) for name, model in models.items()}
    return with_combination(forecasts, demand_class(window.observed())) if combine else forecasts
