"""Demand models, the backtest and model selection on synthetic series with known answers."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from forecasting import models
from forecasting.backtest import Scores, backtest, fold_origins, mase_scale, score_fold
from forecasting.calendar import builtin_promotions, open_mask, prophet_holidays, spring_festival
from forecasting.models import Window
from forecasting.profile import SHOP, Profile, fit_profile, group_demand, shop_profiles, total_demand
from forecasting.selection import select_model

START = dt.date(2026, 1, 5)  # a Monday
WEEK = np.array([10.0, 12, 14, 16, 18, 30, 40])  # Mon … Sun


def window(y: np.ndarray, horizon: int = 14, open_: np.ndarray | None = None,
           future_open: np.ndarray | None = None) -> Window:
    return Window(START, np.asarray(y, dtype=float),
                  np.ones(len(y), dtype=bool) if open_ is None else open_,
                  np.ones(horizon, dtype=bool) if future_open is None else future_open)


def test_pure_weekly_pattern() -> None:
    y = np.tile(WEEK, 8)
    assert models.seasonal_naive(window(y)).tolist() == np.tile(WEEK, 2).tolist()
    assert models.moving_average(window(y)) == pytest.approx(np.full(14, WEEK.mean()))


def test_level_step() -> None:
    y = np.r_[np.full(60, 5.0), np.full(40, 20.0)]
    assert models.moving_average(window(y)) == pytest.approx(np.full(14, 20.0))  # 28 days after the step
    tsb = models.tsb(window(y))
    assert 15 < tsb[0] < 20  # moving towards the new level, from below
    assert models.moving_average(window(y[:70]))[0] == pytest.approx((18 * 5 + 10 * 20) / 28)


def test_intermittent_series_croston_and_tsb() -> None:
    y = np.zeros(40)
    y[[3, 7, 11, 15, 19, 23, 27, 31, 35, 39]] = 4.0  # 4 units every 4th day: 1 a day on average
    croston = models.croston(window(y))
    assert croston == pytest.approx(np.full(14, (1 - 0.05) * 4 / 4))  # SBA: size / interval × (1 − α/2)
    assert 0.9 < models.tsb(window(y))[0] < 1.1  # probability ≈ 1/4 (just after a demand day) × size 4
    dead = np.r_[y, np.zeros(120)]  # the SKU stopped selling: TSB decays, Croston does not
    assert models.tsb(window(dead))[0] < 0.01
    assert models.croston(window(dead))[0] > 0.3  # Croston only updates on demand days
    assert models.tsb(window(np.zeros(30))).sum() == 0 and models.croston(window(np.zeros(30))).sum() == 0


def test_closed_days_neither_train_nor_score() -> None:
    y = np.tile(WEEK, 6).copy()
    open_ = np.ones(len(y), dtype=bool)
    open_[-10:-3] = False
    y[-10:-3] = 0.0  # a closed week: no sales, and it must not drag the average down
    y_open = np.tile(WEEK, 6)[open_]
    assert models.moving_average(window(y, open_=open_))[0] == pytest.approx(y_open[-28:].mean())
    future_open = np.ones(14, dtype=bool)
    future_open[[2, 3]] = False
    for name in ("ma28", "snaive", "croston", "tsb"):
        forecast = models.MODELS[name](window(y, open_=open_, future_open=future_open))
        assert forecast[2] == forecast[3] == 0.0, name
    # seasonal naive skips a closed same-weekday and goes a week further back
    assert models.seasonal_naive(window(y, open_=open_))[4] == WEEK[(len(y) + 4) % 7]
    # scoring ignores closed days: a wild "actual" on a closed day changes nothing
    actual = np.array([5.0, 5, 500, 5, 5, 5, 5])
    closed = np.array([True, True, False, True, True, True, True])
    s = score_fold(actual, np.full(7, 5.0), closed, lead_time=7, scale=1.0)
    assert (s.abs_err_weekly, s.actual_weekly, s.days) == (0.0, 30.0, 6)


def test_calendar_mask_and_promotions() -> None:
    mask = open_mask(dt.date(2026, 1, 1), 10, [(dt.date(2025, 12, 30), dt.date(2026, 1, 2)),
                                                (dt.date(2026, 1, 9), dt.date(2026, 1, 20))])
    assert mask.tolist() == [False, False, True, True, True, True, True, True, False, False]
    assert spring_festival(2026) == dt.date(2026, 2, 17)
    promos = builtin_promotions(dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    assert {(p.name, p.end) for p in promos} >= {("618", dt.date(2026, 6, 18)), ("双11", dt.date(2026, 11, 11)),
                                                 ("年货节", dt.date(2026, 2, 13))}
    frame = prophet_holidays(dt.date(2026, 1, 1), dt.date(2026, 12, 31), promos)
    peak = frame[frame["ds"] == pd.Timestamp("2026-11-11")]["holiday"].tolist()
    assert "双11:peak" in peak
    assert set(frame[frame["holiday"].str.startswith("618:")]["holiday"]) == {
        "618:warmup", "618:final", "618:peak", "618:hangover"}
    assert "National Day" in set(frame["holiday"])


def _windows_seen_by_backtest(days: int) -> tuple[int, list[tuple[int, float]]]:
    """Backtest a day-numbered series (y = day index) with a spy model: the folds run and, per
    fold, (training length, last training value) — which proves what each fold could see."""
    seen: list[tuple[int, float]] = []

    def spy(w: Window) -> np.ndarray:
        seen.append((len(w.y), float(w.y.max())))
        return np.zeros(w.horizon)

    _, folds = backtest(START, np.arange(days, dtype=float), np.ones(days, dtype=bool), {"spy": spy}, horizon=28,
                        lead_time=7, folds=3, min_train=28)
    return folds, seen


def test_fold_boundaries_never_leak_future_data() -> None:
    assert fold_origins(200, 28, 3, min_train=28) == [116, 144, 172]
    assert fold_origins(100, 28, 3, min_train=28) == [44, 72]  # the oldest fold would train on 16 days
    folds, seen = _windows_seen_by_backtest(200)
    assert folds == 3
    # each fold saw exactly the days before its origin and nothing after
    assert seen == [(116, 115.0), (144, 143.0), (172, 171.0)]


def test_last_years_window_is_a_fold_once_a_year_of_history_precedes_it() -> None:
    # 800 days: the forecast starts on day 800, so last year's same window starts on day 436,
    # with 436 ≥ 364 + 28 days before it for the seasonal models to use
    assert fold_origins(800, 28, 3, min_train=28) == [436, 716, 744, 772]
    assert fold_origins(755, 28, 3, min_train=28) == [671, 699, 727]  # 391 days before it: too few
    assert fold_origins(800, 28, 13, min_train=28) == [436, *range(436, 800, 28)][1:]  # overlap: left out
    folds, seen = _windows_seen_by_backtest(800)
    assert folds == 4 and seen[0] == (436, 435.0)  # last year's fold, too, trains on its past only


def test_backtest_scores_by_hand() -> None:
    actual = np.array([1.0, 2, 3, 4, 5, 6, 7, 10, 10, 10, 10, 10, 10, 10])
    forecast = np.full(14, 5.0)
    s = score_fold(actual, forecast, np.ones(14, dtype=bool), lead_time=3, scale=2.0)
    assert s.abs_err_weekly == abs(35 - 28) + abs(35 - 70)  # two weekly buckets
    assert (s.actual_weekly, s.abs_err_lead, s.actual_lead) == (98.0, 9.0, 6.0)
    assert s.wape_weekly == pytest.approx(42 / 98)
    assert s.bias == pytest.approx((70 - 98) / 98)
    mae = float(np.abs(forecast - actual).mean())
    assert s.mase == pytest.approx(mae / 2.0)
    assert mase_scale(np.tile(WEEK, 3), np.ones(21, dtype=bool)) == 0.0
    assert math.isnan(mase_scale(np.ones(5), np.ones(5, dtype=bool)))


def _scores(lead_error: float, folds: tuple[float, ...] | None = None) -> Scores:
    per_fold = list(folds) if folds is not None else [lead_error / 3] * 3
    return Scores(abs_err_lead=lead_error, actual_lead=100.0, abs_err_weekly=lead_error, actual_weekly=100.0,
                  lead_errors=per_fold)


@pytest.mark.parametrize(("tsb_error", "expected"), [(96.0, "ma28"), (95.0, "tsb"), (60.0, "tsb"), (100.0, "ma28")])
def test_selection_needs_a_five_percent_win(tsb_error: float, expected: str) -> None:
    scores = {"ma28": _scores(100.0), "tsb": _scores(tsb_error), "croston": _scores(120.0)}
    assert select_model(scores, folds=3) == expected


def test_selection_ignores_a_win_from_one_lucky_fold() -> None:
    baseline = _scores(90.0, (30.0, 30.0, 30.0))
    lucky = _scores(60.0, (-31.0, 31.0, 2.0))  # 33 % better in total, closer in one fold only
    assert select_model({"ma28": baseline, "tsb": lucky}, folds=3) == "ma28"
    steady = _scores(80.0, (29.0, 25.0, 26.0))
    assert select_model({"ma28": baseline, "tsb": steady}, folds=3) == "tsb"


def test_selection_takes_the_runner_up_when_the_best_won_one_fold_only() -> None:
    baseline = _scores(90.0, (30.0, 30.0, 30.0))
    lucky = _scores(60.0, (-31.0, 31.0, 2.0))  # best in total, closer in one fold only
    steady = _scores(80.0, (29.0, 25.0, 26.0))  # 11 % better and closer in every fold
    assert select_model({"ma28": baseline, "yoy_ma": lucky, "yoy_tsb": steady}, folds=3) == "yoy_tsb"
    narrow = _scores(87.0, (29.0, 29.0, 29.0))  # closer in every fold, but only 3 % better
    assert select_model({"ma28": baseline, "yoy_ma": lucky, "yoy_tsb": narrow}, folds=3) == "ma28"


def test_selection_never_picks_the_reference_and_needs_a_backtest() -> None:
    scores = {"ma28": _scores(100.0), "snaive": _scores(1.0), "croston": _scores(99.0)}
    assert select_model(scores, folds=3) == "ma28"
    assert select_model({"ma28": _scores(100.0), "tsb": _scores(1.0)}, folds=0) == "ma28"
    assert select_model({"ma28": _scores(0.0), "tsb": _scores(0.0)}, folds=3) == "ma28"


def test_forecast_frame_entry_point() -> None:
    history = pd.DataFrame({"ds": pd.date_range(START, periods=56), "y": np.tile(WEEK, 8)})
    out = models.forecast_frame("snaive", history, 7, closed_future={START + dt.timedelta(days=57)})
    assert out["ds"].iloc[0] == pd.Timestamp(START + dt.timedelta(days=56))
    assert out["yhat"].tolist() == [10.0, 0.0, 14, 16, 18, 30, 40]
    with pytest.raises(ValueError):
        models.forecast_frame("ma28", history.drop(index=3), 7)


@pytest.mark.slow
def test_prophet_learns_a_weekly_pattern_and_ignores_closed_days() -> None:
    rng = np.random.default_rng(7)
    y = np.tile(WEEK, 16) + rng.normal(0, 0.5, 112)
    open_ = np.ones(112, dtype=bool)
    open_[50:57] = False
    y[50:57] = 0.0  # a closed week recorded as zeros must not pull the level down
    forecast = models.prophet(window(y, horizon=7, open_=open_))
    assert forecast == pytest.approx(WEEK[np.arange(112, 119) % 7], abs=1.5)


def test_seasonal_ma_lends_the_shop_profile_to_a_sparse_sku() -> None:
    y = np.zeros(56)
    y[::4] = 2.0  # half a unit a day, in lumps
    profile = np.r_[np.ones(56), np.full(7, 3.0), np.ones(7)]  # a promotion week ahead: 3× the usual
    forecast = models.seasonal_ma(Window(START, y, np.ones(56, dtype=bool), np.ones(14, dtype=bool),
                                         profile=profile))
    assert forecast == pytest.approx(np.r_[np.full(7, 1.5), np.full(7, 0.5)])
    assert models.seasonal_ma(window(y)) == pytest.approx(models.moving_average(window(y)))  # no profile


def test_profiles_align_by_date_and_cutoff() -> None:
    first, total = total_demand([(START, np.ones(10)), (START + dt.timedelta(days=4), np.full(6, 2.0))],
                                START + dt.timedelta(days=9))
    assert (first, total.tolist()) == (START, [1.0] * 4 + [3.0] * 6)
    profile = Profile(START, np.arange(20.0))
    assert profile.window(START + dt.timedelta(days=5), 3).tolist() == [5.0, 6.0, 7.0]
    assert profile.window(START - dt.timedelta(days=1), 3) is None
    assert profile.window(START, 21) is None
    assert fit_profile(START, np.ones(20), np.ones(20, dtype=bool), 20, 7, None) is None  # too short to fit


@pytest.mark.slow
def test_shop_profiles_are_fitted_before_each_cutoff() -> None:
    rng = np.random.default_rng(1)
    total = np.tile(WEEK, 30) + rng.normal(0, 1, 210)
    profiles = shop_profiles(START, total, np.ones(210, dtype=bool), horizon=28, folds=3, min_train=28,
                             holidays=None)
    assert sorted(profiles) == [START + dt.timedelta(days=d) for d in (126, 154, 182, 210)]
    final = profiles[START + dt.timedelta(days=210)]
    assert len(final.values) == 210 + 28
    assert final.values[210:217] == pytest.approx(WEEK[np.arange(210, 217) % 7], abs=1.5)


def test_yoy_ma_lends_last_years_category_season_not_its_growth() -> None:
    days = 500
    then = days - models.YOY_LAG  # a year before the first day to forecast
    reference = np.full(days, 100.0)
    reference[then + 14:then + 21] *= 3.0  # last year, the week two weeks ahead ran at 3×
    reference[then + 28:] *= 2.0  # and since then the category doubled
    y = np.full(days, 2.0)  # the SKU: 2 a day, flat (its own history shows no peak yet)
    w = Window(START, y, np.ones(days, dtype=bool), np.ones(28, dtype=bool), reference=reference)
    forecast = models.MODELS["yoy_ma"](w)
    # last year's factors: each day ÷ the mean of the 28 days before the horizon, a year back
    expected = 2.0 * reference[then:then + 28] / reference[then - 28:then].mean()
    assert forecast == pytest.approx(expected)
    assert forecast[14:21] == pytest.approx(np.full(7, 6.0))  # the peak week: 3× the level
    assert forecast[:14] == pytest.approx(np.full(14, 2.0))  # growth is the SKU's own: none here
    # the flat level models get the same season; without a year of the category they stay flat
    assert models.MODELS["yoy_tsb"](w)[14:21] / models.tsb(w)[0] == pytest.approx(np.full(7, 3.0))
    short = Window(START, y, np.ones(days, dtype=bool), np.ones(28, dtype=bool), reference=reference[-380:])
    assert models.MODELS["yoy_ma"](short) == pytest.approx(models.moving_average(w))
    closed = np.ones(28, dtype=bool)
    closed[15] = False
    assert models.MODELS["yoy_croston"](replace(w, future_open=closed))[15] == 0.0


def test_backtest_cuts_the_reference_at_each_fold_origin() -> None:
    y = np.arange(200, dtype=float)
    reference = np.arange(-50, 200, dtype=float)  # starts 50 days before the series; value = day index
    seen: list[tuple[int, float]] = []

    def spy(w: Window) -> np.ndarray:
        assert w.reference is not None
        seen.append((len(w.reference), float(w.reference[-1])))
        return np.zeros(w.horizon)

    backtest(START, y, np.ones(200, dtype=bool), {"spy": spy}, horizon=28, lead_time=7, folds=3, min_train=28,
             reference=reference)
    # each fold's reference ends on the day before its origin, exactly like its ``y``
    assert seen == [(166, 115.0), (194, 143.0), (222, 171.0)]


def test_group_demand_sums_categories_and_drops_thin_ones() -> None:
    last = START + dt.timedelta(days=9)
    series = [("coats", START, np.full(10, 3.0)), ("coats", START + dt.timedelta(days=5), np.full(5, 1.0)),
              ("tees", START, np.full(10, 0.5)), (None, START + dt.timedelta(days=2), np.full(8, 4.0))]
    groups = group_demand(series, last)
    assert set(groups) == {SHOP, "coats"}  # tees sell 0.5 a day: too thin a season to lend
    assert groups["coats"].values.tolist() == [3.0] * 5 + [4.0] * 5
    assert groups[SHOP].values.tolist() == [3.5, 3.5] + [7.5] * 3 + [8.5] * 5
    assert groups["coats"].ending(START + dt.timedelta(days=3)).tolist() == [3.0] * 4
    assert groups["coats"].ending(START - dt.timedelta(days=1)) is None
