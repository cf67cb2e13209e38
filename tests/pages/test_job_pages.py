"""Pages that start background jobs (AppTest): the job is read from its row, so a new browser
session (a reload, another tab, another user) finds it, follows it and can cancel it; a large
upload is imported by the worker and its report shown when done; a failed job says why and
retries."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from core import db
from core.i18n import translate
from core.models import Order
from core.services.forecast_pipeline import start_forecast
from core.services.jobs import FORECAST, latest_job
from tests.factories import BUYER, make_product
from tests.jobs_support import job, running_worker, wait_for, wait_idle
from tests.pages.test_import_page import PAGE as IMPORT_PAGE
from tests.pages.test_import_page import SAMPLES, _catalogue, _upload


def _en(key: str, **params: object) -> str:
    return translate(key, "en", **params)


def _ok(at: AppTest) -> AppTest:
    assert not at.exception, at.exception
    return at


def test_a_queued_forecast_is_found_by_a_new_session_and_cancelled_there(logged_in: Callable[..., AppTest]) -> None:
    at = logged_in("buyer", page="pages/forecast.py")
    _ok(at.button(key="fc_run").click().run())  # no worker yet: the job waits in the queue
    queued = latest_job(FORECAST, BUYER)
    assert queued is not None and queued.status == "queued" and at.button(key="fc_run").disabled
    other = logged_in("manager", page="pages/forecast.py")  # a reload is a new session: nothing in it
    assert _en("job.waiting") in [c.value for c in other.caption]
    assert other.button(key="fc_run").disabled
    _ok(other.button(key="fc_job_cancel").click().run())
    assert job(queued.id).status == "cancelled"
    _ok(other.run())
    assert _en("job.was_cancelled", who="tester") in [i.value for i in other.info]
    assert not other.button(key="fc_run").disabled
    _ok(at.run())  # the first session sees it too
    assert _en("job.was_cancelled", who="tester") in [i.value for i in at.info]


def test_a_failed_forecast_says_why_and_retries(logged_in: Callable[..., AppTest]) -> None:
    job_id = start_forecast(BUYER)  # nothing sold yet: refused with a reason
    with running_worker():
        wait_for(job_id)
        at = logged_in("buyer", page="pages/forecast.py")
        reason = _en("asof.no_history", as_of=job(job_id).params["as_of"])
        assert reason in [e.value for e in at.error]
        make_product("TEA", "10.00", {"SH": 5})
        _ok(at.button(key="fc_job_retry").click().run())
        assert wait_for(job_id).attempts == 2  # the same job, again (still nothing to forecast)


def test_a_large_upload_is_imported_by_the_worker(logged_in: Callable[..., AppTest], job_worker: None,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMS_IMPORT_JOB_MB", "0")  # every upload counts as large
    _catalogue()
    at = logged_in("manager", page=IMPORT_PAGE)
    _upload(at, "generic-orders.csv", (Path(SAMPLES) / "generic-orders.csv").read_bytes())
    _ok(at.button(key="imp_run").click().run())
    wait_idle()
    _ok(at.run())
    with db.transaction(readonly=True) as s:
        assert s.execute(select(func.count(Order.id))).scalar_one() == 6
    assert _en("imp.done", summary=_en("imp.status.imported")) in [s.value for s in at.success]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[_en("imp.metric.accepted")] == "8" and metrics[_en("imp.metric.errors")] == "0"
    fresh = logged_in("manager", page=IMPORT_PAGE)  # after a reload the report is still there
    assert _en("imp.done", summary=_en("imp.status.imported")) in [s.value for s in fresh.success]
