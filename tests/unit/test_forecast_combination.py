"""Demand classes, the median combination and the bias guard of model selection, on small
series with a known answer."""

from __future__ import annotations

import numpy as np

from forecasting.backtest import Scores
from forecasting.combination import COMBO, demand_class, members, with_combination
from forecasting.selection import select_model


def test_demand_classes_follow_adi_and_cv2() -> None:
    assert demand_class(np.full(56, 4.0)) == "smooth"
    assert demand_class(np.tile([1.0, 9.0], 28)) == "erratic"  # every day, sizes far apart
    assert demand_class(np.tile([2.0, 0.0, 0.0], 20)) == "intermittent"  # ADI 3, one size
    assert demand_class(np.tile([1.0, 0.0, 0.0, 12.0, 0.0, 0.0], 10)) == "lumpy"
    assert demand_class(np.zeros(30)) == "lumpy"  # nothing to judge by


def test_combination_is_the_daily_median_of_the_class_members() -> None:
    forecasts = {"ma28": np.array([1.0, 1.0]), "tsb": np.array([3.0, 2.0]), "seasonal_ma": np.array([2.0, 9.0]),
                 "snaive": np.array([100.0, 100.0])}
    combined = with_combination(forecasts, "smooth")
    np.testing.assert_allclose(combined[COMBO], [2.0, 2.0])  # snaive is no member
    # the seasonal twin stands in for the flat model; a lone member is no combination
    assert members("intermittent", {"tsb", "yoy_tsb", "croston"}) == ["yoy_tsb", "croston"]
    assert COMBO not in with_combination({"ma28": np.ones(3)}, "smooth")


def _scores(errors: list[float], actual: float = 100.0) -> Scores:
    s = Scores()
    for e in errors:
        s.add(Scores(abs_err_lead=abs(e), actual_lead=actual, err_sum=e, actual_sum=actual, lead_errors=[e]))
    return s


def test_a_biased_model_is_not_chosen_however_accurate() -> None:
    baseline = _scores([40.0, -40.0, 40.0])
    biased = _scores([-20.0, -18.0, -19.0])  # smaller errors, all one way: −19 % bias
    fair = _scores([12.0, -14.0, 13.0])
    assert select_model({"ma28": baseline, "yoy_ma": biased}, 3) == "ma28"
    assert select_model({"ma28": baseline, "yoy_ma": biased, "combo": fair}, 3) == "combo"
    assert select_model({"ma28": baseline, "yoy_ma": _scores([-14.0, -14.0, -14.0])}, 3) == "yoy_ma"  # −14 %: fine


def test_the_combination_is_the_incumbent_when_it_is_fair() -> None:
    ma28 = _scores([30.0, -30.0, 30.0])
    combo = _scores([20.0, -20.0, 21.0])
    slightly_better = _scores([19.0, -20.0, 20.0])  # not 5 % better than the combination
    assert select_model({"ma28": ma28, "combo": combo, "yoy_ma": slightly_better}, 3) == "combo"
    assert select_model({"ma28": ma28, "combo": combo, "yoy_ma": _scores([5.0, -5.0, 5.0])}, 3) == "yoy_ma"
    # a biased combination is no incumbent: back to the moving average
    assert select_model({"ma28": ma28, "combo": _scores([-25.0, -25.0, -25.0])}, 3) == "ma28"
