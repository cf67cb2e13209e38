"""The as-of date on the Forecast, Replenishment and Customers pages (AppTest): a shop whose
history ended months before the (pinned) today forecasts, replenishes and sees its customers
as of the end of that history, and is told where the history ends and why nothing happened."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core import db
from core.analytics import summary
from core.i18n import translate
from core.models import ForecastRun
from core.timeutil import local_today
from tests.factories import make_product
from tests.jobs_support import wait_idle
from tests.planning_data import daily_sales, make_supplier, place_on, stored_run


def _en(key: str, **params: object) -> str:
    return translate(key, "en", **params)


def _runs() -> list[ForecastRun]:
    with db.transaction() as s:
        return list(s.execute(select(ForecastRun).order_by(ForecastRun.id)).scalars())


def _ok(at: AppTest) -> AppTest:
    assert not at.exception, at.exception
    return at


def _queued_then_done(at: AppTest) -> AppTest:
    """The button queued a job: once the worker finished it, the page shows how it went."""
    _ok(at)
    wait_idle()
    return _ok(at.run())


def test_forecast_page_as_of_the_end_of_an_old_history(logged_in: Callable[..., AppTest], job_worker: None) -> None:
    make_product("TEA", "10.00", {"SH": 1_000})
    end = local_today() - dt.timedelta(days=150)
    daily_sales("TEA", end, 21, 2)
    at = logged_in("buyer", page="pages/forecast.py")
    # The run reads the days before its as-of date: the help says so (not "later orders do not count").
    assert at.date_input(key="fc_as_of").help == _en("asof.forecast_help")
    gap = (local_today() - end).days - 1
    first = (end + dt.timedelta(days=1)).isoformat()
    assert [w.value for w in at.warning] == [_en("asof.gap_warning", last_sale=end.isoformat(), gap=gap,
                                                 as_of=local_today().isoformat(), first=first)]
    at.checkbox(key="fc_from_last_sale").check()
    at.number_input(key="fc_horizon").set_value(14)
    _queued_then_done(at.button(key="fc_run").click().run())
    run = _runs()[-1]
    assert (run.status, run.params["as_of"], run.metrics["first_day"]) == ("succeeded", local_today().isoformat(),
                                                                          first)
    assert _en("asof.run_caption", as_of=local_today().isoformat(), history_end=end.isoformat(),
               first=first) in [c.value for c in at.caption]
    _ok(at.date_input(key="fc_as_of").set_value(end + dt.timedelta(days=1)).run())
    assert not at.warning and not any(c.key == "fc_from_last_sale" for c in at.checkbox)
    assert _en("asof.history_ends", last_sale=end.isoformat(), gap=0, as_of=first) in [c.value for c in at.caption]
    runs = at.dataframe[0].value
    assert runs[_en("plan.col.as_of")].tolist()[0] == local_today().isoformat()
    assert runs[_en("plan.col.history_end")].tolist()[0] == end.isoformat()


def test_forecast_page_run_with_nothing_to_forecast_says_why(logged_in: Callable[..., AppTest],
                                                             job_worker: None) -> None:
    at = logged_in("buyer", page="pages/forecast.py")
    reason = _en("asof.no_history", as_of=local_today().isoformat())
    assert reason in [i.value for i in at.info]
    _queued_then_done(at.button(key="fc_run").click().run())
    assert reason in [e.value for e in at.error]
    assert [r.status for r in _runs()] == ["failed"]
    assert at.dataframe[0].value[_en("plan.col.error")].tolist() == [reason]


def test_replenishment_page_as_of_the_forecast_date(logged_in: Callable[..., AppTest], job_worker: None) -> None:
    tea = make_product("TEA", "20.00", {"SH": 30})
    make_supplier("茶具厂", 7, 1, tea)
    as_of = local_today() - dt.timedelta(days=150)
    run = stored_run({(tea, "SH"): 10.0}, first_day=as_of)
    at = logged_in("buyer", page="pages/replenishment.py")
    assert at.date_input(key="rp_as_of").value == local_today()
    _queued_then_done(at.button(key="rp_compute").click().run())
    last = (as_of + dt.timedelta(days=27)).isoformat()
    assert _en("asof.run_too_old", run=run, first=as_of.isoformat(), last=last,
               as_of=local_today().isoformat()) in [e.value for e in at.error]
    _ok(at.date_input(key="rp_as_of").set_value(as_of).run())
    _queued_then_done(at.button(key="rp_compute").click().run())
    assert any(s.value.startswith(_en("asof.suggest_done", as_of=as_of.isoformat(), n=1, units=110, value="")[:40])
               for s in at.success)
    assert len(at.expander) == 1 and at.expander[0].label.startswith("TEA · SH · order 110")


def test_customers_page_as_of_the_end_of_an_old_history(logged_in: Callable[..., AppTest]) -> None:
    make_product("TEA", "10.00", {"SH": 100})
    end = local_today() - dt.timedelta(days=400)
    place_on(end - dt.timedelta(days=20), "TEA", 1, customer_name="李四", phone="13900139000")
    place_on(end, "TEA", 1, customer_name="李四", phone="13900139000")
    place_on(end, "TEA", 2, customer_name="王五", phone="13700137000")
    summary.refresh()  # what the worker does every few minutes (dashboards only read)
    at = logged_in("manager", page="pages/customers.py")

    def segments() -> dict[str, int]:
        table = next(d.value for d in at.dataframe if _en("acol.segment") in d.value.columns)
        return {s: int(n) for s, n in zip(table[_en("acol.segment")], table[_en("acol.customers")], strict=True)
                if int(n)}

    # as of today a year-old history is lost: R1, one or two orders
    assert segments() == {_en("an_segment.lost"): 2}
    assert _en("asof.customers_history_end", last=end.isoformat()) in [c.value for c in at.caption]
    _ok(at.date_input(key="an_as_of").set_value(end).run())
    assert _en("asof.customers_scope", as_of=end.isoformat()) in [c.value for c in at.caption]
    # as of its last day: both bought within 30 days; one new, one back for a second order
    assert segments() == {_en("an_segment.new"): 1, _en("an_segment.potential"): 1}
    recent = (local_today() - dt.timedelta(days=29), local_today())
    _ok(at.date_input(key="an_acquired").set_value(recent).run())
    assert _en("asof.range_after", start=recent[0].isoformat(), as_of=end.isoformat()) in [i.value for i in at.info]
