"""A run's coherent levels: the SKU × warehouse forecasts replenishment orders on add up to the
SKU, category and shop totals, by the method the holdout chose."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from forecasting import coherent
from forecasting.coherent import reconcile_run
from forecasting.reconcile import hierarchy
from forecasting.runner import RunConfig, SeriesTask, run_all

START = dt.date(2025, 1, 6)
DAYS = 200
CONFIG = RunConfig(horizon=28, folds=3)


def _task(product: int, warehouse: int, y: np.ndarray, group: str | None,
          future_open: np.ndarray | None = None) -> SeriesTask:
    return SeriesTask(product_id=product, warehouse_id=warehouse, start=START, y=y.astype(float),
                      open=np.ones(len(y), dtype=bool),
                      future_open=np.ones(28, dtype=bool) if future_open is None else future_open,
                      lead_time=7, group=group)


def _noisy_hierarchy() -> list[SeriesTask]:
    rng = np.random.default_rng(5)
    closed = np.ones(28, dtype=bool)
    closed[10:13] = False  # warehouse 2 of SKU 1 is shut three days ahead
    return [_task(1, 1, rng.poisson(6, DAYS), "coats"), _task(1, 2, rng.poisson(3, DAYS), "coats", closed),
            _task(2, 1, rng.poisson(1.5, DAYS), "coats"), _task(3, 1, rng.poisson(4, DAYS), "hats"),
            _task(3, 2, rng.poisson(0.4, DAYS), "hats")]


def test_reconciled_bottom_forecasts_add_up_to_every_level() -> None:
    tasks = _noisy_hierarchy()
    result = reconcile_run(tasks, run_all(tasks, CONFIG, workers=1), CONFIG, workers=1)
    bottom = {(r.product_id, r.warehouse_id): r.yhat for r in result.results}
    assert result.method in result.wape and result.chosen_on_holdout
    assert set(result.wape["base"]) == {"total", "category", "sku", "bottom"}
    assert all((y >= 0).all() for y in bottom.values())
    assert (bottom[(1, 2)][10:13] == 0).all()  # nothing forecast on a closed day, whatever the method
    shop = sum(float(y.sum()) for y in bottom.values())
    assert result.totals == pytest.approx(dict.fromkeys(("total", "category", "sku", "bottom"), shop))
    coats = sum(float(y.sum()) for (p, _w), y in bottom.items() if p in (1, 2))
    assert result.categories == pytest.approx({"coats": coats, "hats": shop - coats})
    assert result.rows == {"total": 1, "category": 2, "sku": 3, "bottom": 5}
    for r in result.results:  # the band follows the reconciled forecast
        assert (r.lower <= r.yhat + 1e-9).all() and (r.yhat <= r.upper + 1e-9).all()


def test_the_choice_follows_the_holdout() -> None:
    """Warehouse 2 stopped selling 90 days ago: its share of the history is large but it sells
    nothing now. Splitting the shop total by history (top-down) sends it orders it will not
    sell; its own forecast (bottom-up) is right, so the holdout must not choose top-down."""
    steady = np.full(DAYS, 10.0)
    stopped = np.r_[np.full(DAYS - 90, 10.0), np.zeros(90)]
    tasks = [_task(1, 1, steady, "coats"), _task(1, 2, stopped, "coats")]
    result = reconcile_run(tasks, run_all(tasks, CONFIG, workers=1), CONFIG, workers=1)
    assert result.method != "top_down"
    assert result.wape[result.method]["bottom"] < 0.01 < 0.3 < result.wape["top_down"]["bottom"]
    bottom = {(r.product_id, r.warehouse_id): r.yhat for r in result.results}
    assert bottom[(1, 2)].sum() < 1 and bottom[(1, 1)].sum() == pytest.approx(280, rel=0.01)


def test_mint_is_not_tried_on_a_hierarchy_too_big_to_invert(monkeypatch: pytest.MonkeyPatch) -> None:
    tasks = _noisy_hierarchy()
    results = run_all(tasks, CONFIG, workers=1)
    assert "mint_shrink" in reconcile_run(tasks, results, CONFIG, workers=1).wape
    monkeypatch.setattr(coherent, "MINT_MAX_ROWS", len(hierarchy([(1, 1)] * 5, {}).rows) - 1)
    assert set(reconcile_run(tasks, results, CONFIG, workers=1).wape) == {"base", "bottom_up", "top_down"}


def test_without_any_holdout_the_forecasts_stay_bottom_up() -> None:
    rng = np.random.default_rng(6)
    tasks = [_task(1, 1, rng.poisson(3, 40), "coats"), _task(2, 1, rng.poisson(2, 40), "coats")]
    results = run_all(tasks, CONFIG, workers=1)
    result = reconcile_run(tasks, results, CONFIG, workers=1)
    assert (result.method, result.chosen_on_holdout, result.wape) == ("bottom_up", False, {})
    for before, after in zip(results, result.results, strict=True):
        np.testing.assert_allclose(before.yhat, after.yhat, atol=1e-4)  # rounded as stored


def test_a_holdout_without_demand_chooses_nothing() -> None:
    """Nothing sold in the last 28 days (a history that ends in a gap): every level's WAPE is
    undefined there, so the forecasts stay bottom-up rather than follow a meaningless choice."""
    rng = np.random.default_rng(7)
    tasks = [_task(p, 1, np.r_[rng.poisson(3, DAYS - 50), np.zeros(50)], "coats") for p in (1, 2)]
    result = reconcile_run(tasks, run_all(tasks, CONFIG, workers=1), CONFIG, workers=1)
    assert (result.method, result.chosen_on_holdout, result.wape) == ("bottom_up", False, {})
