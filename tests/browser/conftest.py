"""Real-browser fixtures: a demo database (or an empty install, ``empty_server``),
``streamlit run app.py`` on 127.0.0.1 with a worker (``oms worker``) beside it, and Debian's Chromium driven by Playwright (never ``playwright install``: the browser comes from apt).

Everything is skipped, with the reason, when Chromium or Playwright is missing; ``.ci/run``
installs them. Screenshots go to ``test-artifacts/`` (kept by CI as artifacts).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from core import db, refdata
from core.permissions import SYSTEM
from core.reference import seed_reference
from core.schema import upgrade
from core.services.users import create_user
from data.demo import load_demo
from tests.jobs_support import WorkerProcess

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("OMS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
DEMO_ORDERS = 400
START_TIMEOUT = 60
EMPTY_ADMIN, EMPTY_PASSWORD = "owner", "Xihu-tea-2026"


@dataclass(frozen=True)
class DemoServer:
    url: str  # http://127.0.0.1:PORT
    database_url: str
    passwords: dict[str, str]  # demo username (= role) -> password
    worker: WorkerProcess  # the app's worker (``make run`` starts one beside the app); tests may restart it


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    reason = None
    if not (shutil.which(CHROMIUM) or Path(CHROMIUM).exists()):
        reason = f"no Chromium at {CHROMIUM} (.ci/run installs it: apt-get install chromium fonts-noto-cjk)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "the playwright Python package is not installed (requirements-dev.txt)"
    for item in items:
        if item.path.parent == Path(__file__).parent:
            item.add_marker(pytest.mark.browser)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"streamlit did not answer on {url} within {START_TIMEOUT} s")


def app_env(database_url: str) -> dict[str, str]:
    """The environment of the app and its worker: this process's (so ``OMS_NOW``, the pinned
    clock, too), the database, English, and the job queue in an SQLite file beside the database
    (never a ``REDIS_URL`` the developer happens to have set)."""
    path = Path(make_url(database_url).database or "")
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "OMS_JOBS_QUEUE")}
    return env | {"DATABASE_URL": database_url, "OMS_JOBS_DB": str(path.with_name("oms-jobs.db")), "OMS_LANG": "en",
                  "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none", "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}


@contextmanager
def _streamlit(database_url: str, log_path: Path) -> Iterator[tuple[str, WorkerProcess]]:
    """``streamlit run app.py`` on a free port against ``database_url`` and one worker beside it
    (what ``make run`` starts); yields the app's URL and the worker."""
    db.dispose_all()
    refdata.clear_cache()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = app_env(database_url)
    worker = WorkerProcess(environ=env, log=log_path.with_name(f"{log_path.stem}-worker.log")).start()
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_healthy(url, proc)
        yield url, worker
    finally:
        worker.stop()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    database_url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'oms.db'}"
    upgrade(db.get_engine(database_url))
    with db.transaction(database_url) as session:
        seed_reference(session)
    summary = load_demo(database_url, orders=DEMO_ORDERS, seed=3)
    with _streamlit(database_url, tmp_path_factory.getbasetemp() / "streamlit.log") as (url, worker):
        yield DemoServer(url, database_url, summary.users, worker)


@pytest.fixture(scope="session")
def empty_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    """A brand-new install, as ``oms init`` + ``oms users add owner --role admin`` leave it:
    the schema, the numbering sequences and default settings, one admin — no warehouse,
    channel, supplier, product or rule."""
    database_url = f"sqlite:///{tmp_path_factory.mktemp('empty') / 'oms.db'}"
    upgrade(db.get_engine(database_url))
    with db.transaction(database_url) as session:
        seed_reference(session)
        create_user(EMPTY_ADMIN, EMPTY_PASSWORD, "admin", SYSTEM, display_name="店主", session=session)
    with _streamlit(database_url, tmp_path_factory.getbasetemp() / "streamlit-empty.log") as (url, worker):
        yield DemoServer(url, database_url, {EMPTY_ADMIN: EMPTY_PASSWORD}, worker)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield instance
        instance.close()


@contextmanager
def _tab(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="en-US")  # type: ignore[attr-defined]
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    yield tab
    context.close()


@pytest.fixture
def page(browser: object, demo_server: DemoServer) -> Iterator[object]:
    with _tab(browser) as tab:
        yield tab


@pytest.fixture
def empty_page(browser: object, empty_server: DemoServer) -> Iterator[object]:
    """A browser tab for the empty install (the demo server is not started)."""
    with _tab(browser) as tab:
        yield tab


def screenshot(page: object, name: str) -> Path:
    """Save a full-page screenshot as test-artifacts/<name>.png."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser: object, demo_server: DemoServer) -> Iterator[object]:
    """A tab of a phone-sized browser (390 × 844, English, downloads allowed) for floor screens."""
    context = browser.new_context(viewport=PHONE, locale="en-US", accept_downloads=True)  # type: ignore[attr-defined]
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    yield tab
    context.close()
