"""A forecast run in a real browser is a background job that outlives the page and its worker:
the buyer starts it, the worker takes it, the browser reloads (a new session) and finds it
running, the worker is killed mid-run (SIGKILL) and a new one started — which runs the job again
— and the page, polling the job row, shows the finished run. Nothing of the killed attempt is
kept. Screenshots: test-artifacts/job_*.png.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select

from core import db
from core.models import Forecast, ForecastRun, Job
from tests.browser.conftest import DemoServer, app_env, screenshot
from tests.browser.test_smoke import _log_in, _open, _settle
from tests.jobs_support import WorkerProcess

RUNNING = re.compile(r"Job #\d+: started by buyer")
FINISHED = re.compile(r"Forecast #\d+ finished: \d+ series")


def _forecast_page(page: object, server: DemoServer) -> None:
    _log_in(page, server, "buyer")
    _open(page, "Demand forecast")
    _settle(page)


def test_a_forecast_run_survives_a_reload_and_a_worker_restart(page: object, demo_server: DemoServer,
                                                               tmp_path: object) -> None:
    server = demo_server
    server.worker.stop()  # the app's worker makes way for one that stops mid-run until it is killed
    held = WorkerProcess("tests.faults.job_worker", (), {"OMS_TEST_HOLD": "forecast.run:plan.progress"},
                         environ=app_env(server.database_url))
    try:
        held.start()
        _forecast_page(page, server)
        page.get_by_role("button", name="Run forecast").click()  # type: ignore[attr-defined]
        held.read_until("held")  # the worker took the job and is in the middle of the run
        page.get_by_text(RUNNING).wait_for()  # type: ignore[attr-defined]
        screenshot(page, "job_forecast_running")

        page.reload()  # type: ignore[attr-defined]  # a new browser session: nothing of the job in it
        _forecast_page(page, server)
        page.get_by_text(RUNNING).wait_for()  # type: ignore[attr-defined]  # found again, from the job row
        assert page.get_by_role("button", name="Run forecast").is_disabled()  # type: ignore[attr-defined]

        held.kill()  # the worker dies mid-run …
        server.worker.start()  # … and the next one adopts the job and runs it again
        page.get_by_text(FINISHED).wait_for(timeout=120_000)  # type: ignore[attr-defined]
        _settle(page)
        screenshot(page, "job_forecast_finished")
    finally:
        held.stop()
        if server.worker.proc is None or server.worker.proc.poll() is not None:
            server.worker.start()
    with db.transaction(server.database_url, readonly=True) as s:
        job = s.execute(select(Job).where(Job.kind == "forecast.run").order_by(Job.id.desc()).limit(1)).scalar_one()
        runs = s.execute(select(ForecastRun).order_by(ForecastRun.id.desc()).limit(2)).scalars().all()
        stored = {r.id: s.execute(select(func.count(Forecast.id)).where(Forecast.run_id == r.id)).scalar_one()
                  for r in runs}
    assert (job.status, job.attempts) == ("succeeded", 2)
    finished, killed = runs
    assert (killed.status, finished.status) == ("failed", "succeeded") and "abandoned" in (killed.error or "")
    assert job.result is not None and job.result["run"] == finished.id
    assert stored[killed.id] == 0 and stored[finished.id] > 0  # nothing of the killed attempt
