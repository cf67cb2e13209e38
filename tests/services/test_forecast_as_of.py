"""Forecast runs as of a past date: a history that ended months before the (pinned) today,
where the history ends, the gap warning and ``--from-last-sale``, and runs with nothing to
forecast failing with a reason instead of "succeeded: 0 series"."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from core import db
from core.cli import main
from core.errors import Refused, ValidationError, english
from core.models import Forecast, ForecastRun, ForecastSeries
from core.services import forecast_pipeline as pipeline
from core.timeutil import local_today
from tests.factories import ADMIN, make_product
from tests.planning_data import daily_sales, place_on

RATE = 3
SMALL = {"horizon": 14, "workers": 1, "prophet_max_series": 0, "folds": 1}


@pytest.fixture
def old_history(db_url: str) -> dt.date:
    """TEA sold 3 a day for 8 weeks, ending five months before today; the last day is returned."""
    make_product("TEA", "10.00", {"SH": 10_000})
    end = local_today() - dt.timedelta(days=150)
    daily_sales("TEA", end, 56, RATE)
    return end


def _forecasts(run_id: int) -> list[tuple[dt.date, float]]:
    with db.transaction() as s:
        return [tuple(r) for r in s.execute(select(Forecast.ds, Forecast.yhat).where(Forecast.run_id == run_id)
                                            .order_by(Forecast.ds))]


def _history_days(run_id: int) -> int:
    with db.transaction() as s:
        return s.execute(select(ForecastSeries.history_days).where(ForecastSeries.run_id == run_id)).scalar_one()


def _run(run_id: int) -> ForecastRun:
    with db.transaction() as s:
        return s.execute(select(ForecastRun).where(ForecastRun.id == run_id)).scalar_one()


def test_run_as_of_the_end_of_an_old_history(old_history: dt.date) -> None:
    as_of = old_history + dt.timedelta(days=1)
    place_on(old_history + dt.timedelta(days=3), "TEA", 900)  # after the as-of date: must not leak
    info = pipeline.run_forecast(ADMIN, as_of=as_of, **SMALL)
    assert (info.status, info.series) == ("succeeded", 1)
    rows = _forecasts(info.id)
    assert [d for d, _ in rows] == [as_of + dt.timedelta(days=i) for i in range(14)]
    # a flat 3 a day with nothing after the history's end: every model forecasts 3 a day
    assert all(abs(y - RATE) < 0.5 for _, y in rows), rows
    run = _run(info.id)
    assert run.params["as_of"] == as_of.isoformat() and run.params["from_last_sale"] is False
    assert (run.metrics["history_end"], run.metrics["gap_days"], run.metrics["first_day"]) == (
        old_history.isoformat(), 0, as_of.isoformat())


def test_history_end_and_gap(old_history: dt.date) -> None:
    end = pipeline.history_end()
    assert (end.as_of, end.last_sale, end.gap_days, end.long_gap) == (
        local_today(), old_history, (local_today() - old_history).days - 1, True)
    week = pipeline.history_end(old_history + dt.timedelta(days=8))
    assert (week.gap_days, week.long_gap) == (7, False)
    assert pipeline.history_end(old_history + dt.timedelta(days=9)).long_gap
    assert pipeline.history_end(old_history - dt.timedelta(days=56)).last_sale is None
    with pytest.raises(ValidationError) as err:
        pipeline.history_end(local_today() + dt.timedelta(days=1))
    assert err.value.issues[0].field == "as_of"


def test_a_gap_counts_as_zero_unless_forecasting_from_the_last_sale(old_history: dt.date) -> None:
    as_of = old_history + dt.timedelta(days=15)  # two weeks without sales
    counted = pipeline.run_forecast(ADMIN, as_of=as_of, **SMALL)
    assert _forecasts(counted.id)[0][0] == as_of
    assert _history_days(counted.id) == 56 + 14  # the fortnight without sales is read as zero demand
    skipped = pipeline.run_forecast(ADMIN, as_of=as_of, from_last_sale=True, **SMALL)
    rows = _forecasts(skipped.id)
    assert rows[0][0] == old_history + dt.timedelta(days=1) and _history_days(skipped.id) == 56
    assert all(abs(y - RATE) < 0.5 for _, y in rows)
    run = _run(skipped.id)
    assert (run.params["from_last_sale"], run.metrics["gap_days"], run.metrics["from_last_sale"]) == (True, 14, True)


def test_nothing_to_forecast_fails_with_a_reason(old_history: dt.date) -> None:
    before = old_history - dt.timedelta(days=60)
    with pytest.raises(Refused) as err:
        pipeline.run_forecast(ADMIN, as_of=before, **SMALL)
    assert (err.value.key, err.value.params) == ("asof.no_history", {"as_of": before.isoformat()})
    failed = _run(1)
    assert failed.status == "failed" and failed.error == english("asof.no_history", {"as_of": before.isoformat()})
    assert failed.metrics["failure"] == {"code": "asof.no_history", "params": {"as_of": before.isoformat()}}
    # today, reading only the last 30 days: the history ended long before them
    with pytest.raises(Refused) as err:
        pipeline.run_forecast(ADMIN, history_days=30, **SMALL)
    assert err.value.key == "asof.history_too_old" and err.value.params["last_sale"] == old_history.isoformat()
    assert pipeline.run_forecast(ADMIN, history_days=30, from_last_sale=True, **SMALL).series == 1
    with db.transaction() as s:
        assert s.execute(select(func.count()).select_from(Forecast).where(Forecast.run_id != 3)).scalar_one() == 0


def test_empty_shop_fails_and_the_cli_says_why(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["forecast", "run", "--horizon", "14", "--workers", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "oms: " + english("asof.no_history", {"as_of": local_today().isoformat()})
    assert _run(1).status == "failed"
    assert main(["forecast", "run", "--as-of", "2026-13-01"]) == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err
    tomorrow = (local_today() + dt.timedelta(days=1)).isoformat()
    assert main(["forecast", "run", "--as-of", tomorrow]) == 2
    assert "as_of" in capsys.readouterr().err


def test_cli_warns_about_the_gap_and_forecasts_from_the_last_sale(old_history: dt.date,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    as_of = (old_history + dt.timedelta(days=30)).isoformat()
    args = ["forecast", "run", "--as-of", as_of, "--horizon", "14", "--workers", "1", "--prophet-max-series", "0"]
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert "warning: the history ends on " + old_history.isoformat() in err and "--from-last-sale" in err
    assert f"as of {as_of}; history ends {old_history.isoformat()}; forecast from {as_of}" in out
    assert main([*args, "--from-last-sale"]) == 0
    out, err = capsys.readouterr()
    assert "warning" not in err
    assert f"forecast from {(old_history + dt.timedelta(days=1)).isoformat()}" in out
