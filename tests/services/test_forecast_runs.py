"""Forecast runs end to end on demo data: demand history by local day, stored forecasts and
accuracy, failed and killed runs, and the CLI."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys

import pytest
from sqlalchemy import func, select, update

from core import db
from core.analytics.demand import demand_history, product_groups
from core.analytics.planning import model_accuracy, series_accuracy
from core.cli import main
from core.errors import Conflict, ValidationError
from core.models import Forecast, ForecastRun, ForecastSeries, Order, Product
from core.services import forecast_pipeline as pipeline
from core.services import forecast_runs, orders
from core.timeutil import local_today, utcnow
from data.demo import load_demo
from tests.factories import ADMIN, CLERK, make_product, order_input


def _place(at: dt.datetime, qty: int, status: str | None = None) -> None:
    result = orders.create_order(order_input(("TEA", qty)), CLERK)
    with db.transaction() as s:
        s.execute(update(Order).where(Order.id == result.id).values(placed_at=at, **(
            {"status": status} if status else {})))


def test_product_groups_are_the_categories(db_url: str) -> None:
    tea = make_product("TEA", "10.00", {"SH": 1})
    assert product_groups() == {tea: "测试"}


def test_demand_history_buckets_by_shop_local_day(db_url: str) -> None:
    pid = make_product("TEA", "10.00", {"SH": 100})
    _place(dt.datetime(2026, 3, 10, 15, 59), 2)  # 23:59 in Shanghai: 10 March
    _place(dt.datetime(2026, 3, 10, 16, 1), 3)  # 00:01 in Shanghai: 11 March
    _place(dt.datetime(2026, 3, 10, 2, 0), 4)
    _place(dt.datetime(2026, 3, 10, 3, 0), 50, status="cancelled")  # not demand
    history = demand_history(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    assert history[["product_id", "day", "qty"]].values.tolist() == [
        [pid, dt.date(2026, 3, 10), 6], [pid, dt.date(2026, 3, 11), 3]]
    assert demand_history(dt.date(2026, 3, 11), dt.date(2026, 3, 11))["qty"].tolist() == [3]
    assert demand_history(dt.date(2026, 3, 1), dt.date(2026, 3, 31), warehouse_id=999).empty
    with pytest.raises(ValueError):
        demand_history(dt.date(2026, 3, 2), dt.date(2026, 3, 1))


@pytest.fixture
def demo(db_url: str) -> str:
    load_demo(orders=2_000, seed=11)
    return db_url


def test_run_stores_forecasts_accuracy_and_metrics(demo: str) -> None:
    info = pipeline.run_forecast(ADMIN, horizon=14, workers=1, prophet_max_series=0)
    assert info.status == "succeeded" and info.series > 100
    with db.transaction() as s:
        run = s.execute(select(ForecastRun).where(ForecastRun.id == info.id)).scalar_one()
        n_forecasts = s.execute(select(func.count()).select_from(Forecast).where(Forecast.run_id == info.id)
                                ).scalar_one()
        first, lowest = s.execute(select(func.min(Forecast.ds), func.min(Forecast.yhat))
                                  .where(Forecast.run_id == info.id)).one()
        models = set(s.execute(select(ForecastSeries.model).where(ForecastSeries.run_id == info.id)).scalars())
    assert (run.status, run.horizon, run.finished_at is not None) == ("succeeded", 14, True)
    assert n_forecasts == 14 * info.series
    assert first == local_today() and lowest >= 0
    # coherent levels: the run records the method its holdout chose and every method's WAPE per
    # level; the stored SKU × warehouse forecasts add up to every level's and category's total
    recon = run.metrics["reconciliation"]
    assert recon["method"] in {"bottom_up", "top_down", "mint_shrink"} and recon["chosen_on_holdout"]
    assert recon["method"] == min(("bottom_up", "top_down", "mint_shrink"),
                                  key=lambda m: (sum(recon["wape"][m].values()), m))
    assert set(recon["wape"]["base"]) == {"total", "category", "sku", "bottom"}
    assert recon["rows"]["bottom"] == info.series
    with db.transaction() as s:
        by_category = dict(s.execute(
            select(Product.category, func.sum(Forecast.yhat)).join(Product, Product.id == Forecast.product_id)
            .where(Forecast.run_id == info.id).group_by(Product.category)).all())
    shop = sum(by_category.values())
    assert recon["totals"] == pytest.approx(dict.fromkeys(("total", "category", "sku", "bottom"), shop), rel=1e-5)
    assert {c or "": v for c, v in by_category.items()} == pytest.approx(recon["categories"], rel=1e-5)
    # never snaive; no Prophet without a budget; two years of the shop's demand (the demo's
    # categories are too thin at 2,000 orders) bring the seasonal level models instead of the flat ones
    assert models <= {"ma28", "yoy_ma", "yoy_croston", "yoy_tsb", "seasonal_ma", "combo"}
    # the library models are scored beside them, by demand class (never chosen: see above)
    scored = set(run.metrics["models"])
    assert {"ma28", "snaive", "yoy_ma", "yoy_croston", "yoy_tsb", "seasonal_ma", "combo"} <= scored
    assert scored - {"ma28", "snaive", "yoy_ma", "yoy_croston", "yoy_tsb", "seasonal_ma", "combo"} <= {
        "ets", "theta", "yoy_adida", "yoy_imapa"}
    selected = run.metrics["selected"]
    assert selected["series"] == info.series and 0 < selected["wape_lead_time"] < 2
    per_model = model_accuracy(info.id)
    assert per_model["model"].tolist()[-1] == "selected"
    # selecting per series can only match or beat the baseline pooled over the same series
    assert selected["wape_lead_time"] <= run.metrics["models"]["ma28"]["wape_lead_time"] + 1e-9
    per_series = series_accuracy(info.id)
    assert len(per_series) == info.series and per_series["folds"].max() == 3
    # what the buyer sees is the holdout the choice never saw, with the moving average's beside it
    holdout = run.metrics["holdout"]
    assert 0 < holdout["series"] <= info.series and 0 <= holdout["interval_coverage_80"] <= 1
    assert holdout["gain_vs_ma28"] == pytest.approx(
        1 - holdout["selected"]["wape_lead_time"] / holdout["ma28"]["wape_lead_time"])
    assert per_model["wape_lead_time"].tolist()[-1] == pytest.approx(holdout["selected"]["wape_lead_time"])
    assert per_model["backtest_wape_lead_time"].tolist()[-1] == pytest.approx(selected["wape_lead_time"])
    with db.transaction() as s:
        stored = s.execute(select(ForecastSeries).where(ForecastSeries.run_id == info.id,
                                                        ForecastSeries.wape_lead_time.is_not(None))).scalars().first()
    assert stored is not None
    assert stored.wape_lead_time == pytest.approx(stored.metrics["holdout"][stored.model]["wape_lead_time"])
    row = per_series[(per_series["product_id"] == stored.product_id)
                     & (per_series["warehouse_id"] == stored.warehouse_id)].iloc[0]
    assert row["ma28_wape_lead_time"] == pytest.approx(stored.metrics["holdout"]["ma28"]["wape_lead_time"])
    # a run stored before holdouts existed keeps backtest figures in those columns: shown blank
    with db.transaction() as s:
        s.execute(update(ForecastSeries).where(ForecastSeries.run_id == info.id).values(metrics={"ma28": {}}))
    old = series_accuracy(info.id)
    assert old["wape_lead_time"].isna().all() and old["ma28_wape_lead_time"].isna().all()


def test_failed_run_is_marked_and_can_run_again(demo: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: object, **_kwargs: object) -> list:
        raise RuntimeError("worker crashed")

    with monkeypatch.context() as patched, pytest.raises(RuntimeError):
        patched.setattr(pipeline, "run_all", broken)
        pipeline.run_forecast(ADMIN, workers=1, prophet_max_series=0)
    with db.transaction() as s:
        failed = s.execute(select(ForecastRun)).scalar_one()
        assert (failed.status, failed.error) == ("failed", "RuntimeError: worker crashed")
        assert s.execute(select(Forecast)).first() is None  # nothing half-stored
    assert pipeline.run_forecast(ADMIN, workers=1, prophet_max_series=0).status == "succeeded"


def _running_run(pid: int, host: str, heartbeat: dt.datetime) -> int:
    with db.transaction() as s:
        run = ForecastRun(started_at=heartbeat, heartbeat_at=heartbeat, status="running", horizon=28, backend="local",
                          params={"pid": pid, "host": host}, metrics={}, created_by="cron")
        s.add(run)
        s.flush()
        return run.id


def test_killed_runs_are_failed_by_the_next_start(db_url: str) -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    dead = _running_run(child.pid, socket.gethostname(), utcnow())
    stale = _running_run(1, "another-host", utcnow() - dt.timedelta(hours=1))
    new = forecast_runs.start_run(ADMIN, horizon=28, backend="local")
    with db.transaction() as s:
        rows = dict(s.execute(select(ForecastRun.id, ForecastRun.error).where(ForecastRun.status == "failed")).all())
    assert set(rows) == {dead, stale}
    assert "is gone" in rows[dead] and "no heartbeat" in rows[stale]
    with pytest.raises(Conflict):  # the new run is alive (this process, fresh heartbeat)
        forecast_runs.start_run(ADMIN, horizon=28, backend="local")
    forecast_runs.fail_run(new, "stopped by test", ADMIN)
    assert forecast_runs.start_run(ADMIN, horizon=28, backend="local") > new


def test_bad_parameters_refused_before_anything_is_written(db_url: str) -> None:
    with pytest.raises(ValidationError):
        pipeline.run_forecast(ADMIN, horizon=2)
    with pytest.raises(ValidationError):
        pipeline.run_forecast(ADMIN, backend="spark")
    with pytest.raises(ValidationError):
        pipeline.run_forecast(ADMIN, workers=0)
    with db.transaction() as s:
        assert s.execute(select(ForecastRun)).first() is None


def test_cli_forecast_and_suggest(demo: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["forecast", "run", "--horizon", "14", "--workers", "1", "--prophet-max-series", "0"]) == 0
    out = capsys.readouterr().out
    assert "succeeded" in out and "holdout wape_weekly" in out and "28-day moving average" in out
    assert main(["replenish", "suggest", "--service-level", "0.9"]) == 0
    assert "suggestions" in capsys.readouterr().out
    assert main(["replenish", "suggest", "--review-days", "-1"]) == 2
    assert "review_days" in capsys.readouterr().err
    assert main(["forecast", "run", "--horizon", "500"]) == 2
    assert os.environ["DATABASE_URL"] == demo
