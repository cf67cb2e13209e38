"""Shared fixtures: a pinned clock, and a fresh, migrated database per test on SQLite (default)
or PostgreSQL.

The clock: every test session runs at one fixed instant (``TEST_NOW``, or ``OMS_TEST_NOW`` to
try another date), exported as ``OMS_NOW`` so the app servers, CLIs and workers the tests start
share it. Nothing in the suite may read the machine's date; CI proves it by running the
date-sensitive tests again under ``faketime`` (``.ci/run-shifted``).

``OMS_TEST_BACKEND=postgres`` runs the same tests against a throw-away database
``oms_test_<random>`` on the server in ``OMS_TEST_PG_ADMIN_URL`` (default: root@127.0.0.1),
created at session start and dropped at the end.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.timeutil import CLOCK_ENV, pin_value

# The database modules are imported inside the fixtures that use them, so tests that need no
# database (tests/domain, most of tests/unit) do not pay for loading SQLAlchemy and the models.

TEST_NOW = dt.datetime.fromisoformat(os.environ.get("OMS_TEST_NOW") or "2026-11-25T04:00:00")
os.environ[CLOCK_ENV] = pin_value(TEST_NOW)
# The job queue: never the developer's Redis or data/oms-jobs.db; each test using ``db_url``
# gets a queue file of its own, the job tests a Redis queue name of their own.
os.environ.pop("REDIS_URL", None)
os.environ["OMS_JOBS_DB"] = str(Path(tempfile.mkdtemp(prefix="oms-test-jobs-")) / "oms-jobs.db")

# Backups are encrypted: a backup key of this session's own, never the developer's key file or
# second backup location (tests of the key and the schedule set their own), and backups in a
# folder of the session's own: a scheduled backup a worker runs during the tests must not land in
# the checkout's data/backups.
os.environ["OMS_BACKUP_KEY"] = base64.urlsafe_b64encode(os.urandom(32)).decode()
for _name in ("OMS_BACKUP_KEY_FILE", "OMS_BACKUP_TARGET_DIR"):
    os.environ.pop(_name, None)
os.environ["OMS_BACKUP_DIR"] = tempfile.mkdtemp(prefix="oms-test-backups-")
# Personal data is encrypted in every test database (docs/security.md) with this throw-away
# key ring, given in the environment like a container would: never the developer's key file.
TEST_KEYS = (
    '{"format": "oms-data-keys/1", "active": "k1", "index_key": "dGVzdC1pbmRleC1rZXktMzItYnl0ZXMtbG9uZy0hISE=", '
    '"keys": {"k1": "dGVzdC1kYXRhLWtleS0xLTMyLWJ5dGVzLWxvbmctISE="}}')
os.environ["OMS_DATA_KEY"] = TEST_KEYS
os.environ.pop("OMS_KEY_FILE", None)

BACKEND = os.environ.get("OMS_TEST_BACKEND", "sqlite")
PG_ADMIN_URL = os.environ.get("OMS_TEST_PG_ADMIN_URL", "postgresql+psycopg://root@127.0.0.1:5432/postgres")


def _seed(url: str) -> None:
    """What ``oms init`` creates plus the demo shop's channels, warehouses and rules, which the
    tests' orders use (SH/GZ/BJ/CD, POS/TMALL/…)."""
    from core import db
    from core.reference import seed_reference
    from data.demo_reference import seed_demo_reference

    with db.before_keys(), db.transaction(url) as s:
        seed_reference(s)
        seed_demo_reference(s)
        _register_test_key(s)


def _register_test_key(session: object) -> None:
    """The test key as ``oms keys init`` registers it: the databases under test are encrypted."""
    from core import datakeys
    from core.models import DataKey
    from core.timeutil import utcnow

    ring = datakeys.current()
    session.add(DataKey(kid=ring.active, check_value=ring.check_value(ring.active),  # type: ignore[attr-defined]
                        index_check=ring.index_check(), state="active", created_at=utcnow(), completed_at=utcnow()))


@pytest.fixture(scope="session")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated, seeded database built once per test session."""
    from sqlalchemy import create_engine, text

    from core import db
    from core.schema import upgrade

    if BACKEND == "postgres":
        name = f"oms_test_{uuid.uuid4().hex[:10]}"
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        url = admin.url.set(database=name).render_as_string(hide_password=False)
        engine = db.make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
        db.dispose_all()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        path = tmp_path_factory.mktemp("template") / "template.db"
        url = f"sqlite:///{path}"
        engine = db.make_engine(url)
        upgrade(engine)
        engine.dispose()
        _seed(url)
        db.dispose_all()
        yield str(path)


def _truncate_all(url: str) -> None:
    from sqlalchemy import text

    from core import db
    from core.models import Base
    from core.numbering import PG_COUNTERS, pg_sequence

    engine = db.make_engine(url)  # not the checked factory: the last test may have left other data keys
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        for counter in PG_COUNTERS:  # document counters are sequences of their own (core.numbering)
            conn.execute(text(f"ALTER SEQUENCE IF EXISTS {pg_sequence(counter)} RESTART"))
    engine.dispose()


@pytest.fixture
def job_worker(db_url: str) -> Iterator[None]:
    """A real worker (huey consumer threads in this process) on the test's queue."""
    from tests.jobs_support import running_worker

    if "faketime" in os.environ.get("LD_PRELOAD", ""):  # .ci/run-shifted
        pytest.skip("under libfaketime a thread's timed wait (threading.Event.wait) never returns, so a worker "
                    "cannot poll; the job tests run on the real clock")

    with running_worker():
        yield


@pytest.fixture
def db_url(_template: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """URL of an OMS database holding only reference rows (the demo shop's), also set as DATABASE_URL."""
    from core import db, refdata
    from core.jobs import queue

    db.dispose_all()
    refdata.clear_cache()
    if BACKEND == "postgres":
        url = _template
        _truncate_all(url)
        _seed(url)
    else:
        path = tmp_path / "oms.db"
        shutil.copy(_template, path)
        url = f"sqlite:///{path}"
    monkeypatch.setenv("DATABASE_URL", url)
    # the job queue: an SQLite file of this test's own (jobs tests switch to Redis themselves)
    monkeypatch.setenv("OMS_JOBS_DB", str(tmp_path / "oms-jobs.db"))
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("OMS_JOBS_QUEUE", raising=False)
    yield url
    queue.forget()
    db.dispose_all()
