"""The per-series runner: same results inline, in a process pool and on a Dask LocalCluster;
dense series get Prophet within a budget, sparse ones the cheap models."""

from __future__ import annotations

import datetime as dt
import sys
import types
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecasting import runner
from forecasting.profile import SHOP, GroupDemand
from forecasting.runner import RunConfig, SeriesTask, prophet_series, run_all, run_series
from forecasting.series import build_tasks

START = dt.date(2025, 1, 6)


def _tasks(n: int = 6) -> list[SeriesTask]:
    rng = np.random.default_rng(3)
    tasks = []
    for i in range(n):
        days = 150 + 20 * i
        rate = 0.3 + i
        y = rng.poisson(rate, days).astype(float)
        tasks.append(SeriesTask(product_id=i + 1, warehouse_id=1 + i % 2, start=START, y=y,
                                open=np.ones(days, dtype=bool), future_open=np.ones(28, dtype=bool), lead_time=7))
    return tasks


@pytest.fixture
def page_as_main(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``__main__`` as Streamlit leaves it: a page script that must not run in a worker."""
    script = tmp_path / "page.py"
    script.write_text("raise SystemExit('a page script ran inside a worker')\n")
    module = types.ModuleType("__main__")
    module.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", module)


def _same(a: list[runner.SeriesResult], b: list[runner.SeriesResult]) -> None:
    assert [(r.product_id, r.warehouse_id, r.model) for r in a] == [(r.product_id, r.warehouse_id, r.model) for r in b]
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose(x.yhat, y.yhat)
        assert x.selected.summary() == y.selected.summary()


def test_series_result_carries_backtest_and_interval() -> None:
    result = run_series(_tasks(1)[0], RunConfig())
    assert result.folds == 3 and result.model in {"ma28", "croston", "tsb", "combo"}
    # an intermittent series: the library's ADIDA and IMAPA are scored beside (never chosen)
    assert set(result.scores) == {"ma28", "snaive", "croston", "tsb", "combo", "adida", "imapa"}
    assert (result.lower <= result.yhat).all() and (result.yhat <= result.upper).all()
    assert result.sigma_lead_time >= np.sqrt(7) * result.sigma_daily - 1e-9


def test_a_seasonal_sku_gets_its_categorys_season_from_last_year() -> None:
    days = 800
    t = np.arange(days + 28)
    category = 100 * (1 + 0.5 * np.sin(2 * np.pi * t / 364))  # the same season every year
    sku = 0.05 * category[:days]  # the SKU sells a steady 5 % of its category
    task = SeriesTask(product_id=1, warehouse_id=1, start=START, y=sku, open=np.ones(days, dtype=bool),
                      future_open=np.ones(28, dtype=bool), lead_time=14, group="coats")
    config = RunConfig(groups={"coats": GroupDemand(START, category[:days]), SHOP: GroupDemand(START, np.ones(days))})
    result = run_series(task, config)
    # the seasonal level models replace the flat ones, and the moving average (lagging the
    # season by two weeks) loses every fold to the one that follows last year's season exactly
    assert set(result.scores) == {"ma28", "snaive", "yoy_ma", "yoy_croston", "yoy_tsb", "combo", "ets", "theta"}
    # (or the combination of the seasonal level models, which all follow it)
    assert result.model in {"yoy_ma", "combo"}
    np.testing.assert_allclose(result.yhat, 0.05 * category[days:], rtol=0.02)
    # the shop's total stands in for a category without one; no group history at all: flat models
    assert result.scores == run_series(replace(task, group="tees"), replace(
        config, groups={SHOP: config.groups["coats"]})).scores
    assert set(run_series(task, RunConfig()).scores) == {"ma28", "snaive", "croston", "tsb", "combo", "ets", "theta"}


def test_process_pool_matches_inline(monkeypatch: pytest.MonkeyPatch, page_as_main: None) -> None:
    tasks = _tasks()
    inline = run_all(tasks, RunConfig(), workers=1)
    monkeypatch.setattr(runner, "INLINE_MAX_SERIES", 1)  # force the pool for a handful of series
    seen: list[tuple[int, int]] = []
    pooled = run_all(tasks, RunConfig(), workers=2, progress=lambda done, total: seen.append((done, total)))
    _same(inline, pooled)
    assert seen[0] == (0, 6) and seen[-1] == (6, 6)


def test_dask_local_cluster_gives_the_same_forecasts(monkeypatch: pytest.MonkeyPatch, page_as_main: None) -> None:
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    tasks = _tasks()
    _same(run_all(tasks, RunConfig(), workers=1), run_all(tasks, RunConfig(), backend="dask", workers=2))
    with pytest.raises(ValueError):
        run_all(tasks, RunConfig(), backend="spark")


def test_prophet_budget_goes_to_the_densest_series() -> None:
    volume = {(1, 1): 5.0, (2, 1): 0.1, (3, 1): 9.0, (4, 1): 2.0}
    nonzero = {(1, 1): 0.9, (2, 1): 0.1, (3, 1): 0.95, (4, 1): 0.2}
    days = {(1, 1): 400, (2, 1): 400, (3, 1): 400, (4, 1): 400}
    assert prophet_series(volume, nonzero, days, 1) == {(3, 1)}
    assert prophet_series(volume, nonzero, days, 10) == {(1, 1), (3, 1)}  # (4, 1) too intermittent
    assert prophet_series(volume, nonzero, days | {(3, 1): 30}, 10) == {(1, 1)}  # too short a history


def test_build_tasks_densifies_and_masks_closures() -> None:
    last = dt.date(2026, 3, 31)
    history = pd.DataFrame({"product_id": [1, 1, 2], "warehouse_id": [1, 1, 2],
                            "day": [dt.date(2026, 3, 1), dt.date(2026, 3, 3), dt.date(2026, 3, 30)],
                            "qty": [2, 5, 1]})
    closures = {None: [(dt.date(2026, 3, 2), dt.date(2026, 3, 2))], 2: [(dt.date(2026, 4, 2), dt.date(2026, 4, 3))]}
    tasks = {(t.product_id, t.warehouse_id): t for t in build_tasks(history, last, 7, lead_times={1: 12},
                                                                  closures=closures, prophet_max_series=5)}
    first = tasks[(1, 1)]
    assert first.start == dt.date(2026, 3, 1) and len(first.y) == 31
    assert first.y[:3].tolist() == [2.0, 0.0, 5.0] and first.open[:3].tolist() == [True, False, True]
    assert (first.lead_time, tasks[(2, 2)].lead_time) == (12, 7)
    second = tasks[(2, 2)]
    assert second.start == dt.date(2026, 3, 30) and second.y.tolist() == [1.0, 0.0]
    assert second.future_open.tolist() == [True, False, False, True, True, True, True]
    assert not any(t.use_prophet for t in tasks.values())


def test_selection_never_sees_the_final_holdout() -> None:
    """Whatever happens in the last ``horizon`` days, the choice and its fold scores stay the
    same; only the holdout figures (what the buyer is shown) move with them."""
    task = _tasks(3)[2]
    config = RunConfig()
    calm = run_series(task, config)
    storm = run_series(replace(task, y=np.concatenate([task.y[:-28], task.y[-28:] * 5 + 7])), config)
    assert (calm.model, calm.folds) == (storm.model, storm.folds) and calm.folds == 3
    assert {k: s.summary() for k, s in calm.scores.items()} == {k: s.summary() for k, s in storm.scores.items()}
    assert set(calm.holdout) == set(calm.scores) and calm.holdout_selected is calm.holdout[calm.model]
    assert storm.holdout_selected is not None and calm.holdout_selected is not None
    assert storm.holdout_selected.wape_lead > calm.holdout_selected.wape_lead  # type: ignore[operator]
    inside, days = calm.coverage
    assert days == 28 and 0 < inside <= days


def test_a_short_history_has_no_holdout_figure() -> None:
    task = _tasks(1)[0]
    short = replace(task, y=task.y[:70], open=task.open[:70])  # room for one fold, not for a holdout too
    result = run_series(short, RunConfig())
    assert result.folds == 1 and result.holdout == {} and result.holdout_selected is None
    assert result.sigma_method in {"lead_error", "daily_error"} and result.sigma_windows == 1
    # no backtest at all: the spread of demand stands in for the forecast error, and says so
    assert run_series(replace(task, y=task.y[:40], open=task.open[:40]), RunConfig()).sigma_method == "demand"


def test_safety_sigma_is_the_forecast_error_over_folds_and_holdout() -> None:
    result = run_series(_tasks(3)[2], RunConfig())
    chosen, held = result.selected, result.holdout_selected
    assert held is not None and result.sigma_windows == len(chosen.lead_errors) + 1
    errors = np.array(chosen.lead_errors + held.lead_errors)
    from_lead = float(np.sqrt(np.mean(errors ** 2)))  # lead time 7 = the scored lead: no rescaling
    assert result.sigma_lead_time == pytest.approx(max(from_lead, np.sqrt(7) * result.sigma_daily))
    assert result.sigma_method == ("lead_error" if from_lead >= np.sqrt(7) * result.sigma_daily else "daily_error")
