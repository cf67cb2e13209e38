"""Fixtures shared by the permission-matrix test and the mutants that must fail it, a real
SMTP server for the outbox's tests, and the data keys in a key file for the rotation tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

import core.permissions
from core import datakeys, db
from core.permissions import PERMISSIONS, Actor
from tests.conftest import BACKEND, PG_ADMIN_URL, TEST_KEYS
from tests.smtp_support import Inbox, free_port, start


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Actions passed to ``require`` since the last clear, from every module that imported it."""
    from tests.services.test_permission_matrix import service_modules

    calls: list[str] = []
    real = core.permissions.require

    def recording(actor: Actor, action: str) -> None:
        assert action in PERMISSIONS, f"require() with an action missing from the matrix: {action!r}"
        calls.append(action)
        real(actor, action)

    for module in [core.permissions, *service_modules()]:
        if getattr(module, "require", None) is real:
            monkeypatch.setattr(module, "require", recording)
    return calls


@pytest.fixture
def smtp(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    """A real SMTP server on a free port, configured as the shop's mail server."""
    inbox, port = Inbox(), free_port()
    controller = start(inbox, port)
    monkeypatch.setenv("OMS_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("OMS_SMTP_PORT", str(port))
    monkeypatch.setenv("OMS_SMTP_FROM", "shop@example.com")
    yield inbox
    controller.stop()


@pytest.fixture
def empty_engine(tmp_path: Path) -> Iterator[Engine]:
    """An empty database of the backend under test (for migration tests): a SQLite file, or a
    throw-away PostgreSQL database dropped afterwards."""
    if BACKEND == "sqlite":
        e = db.make_engine(f"sqlite:///{tmp_path / 'old.db'}")
        yield e
        e.dispose()
        return
    name = f"oms_test_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    e = db.make_engine(admin.url.set(database=name).render_as_string(hide_password=False))
    yield e
    e.dispose()
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def key_file(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The test keys moved from the environment into a key file (a rotation writes to it)."""
    path = tmp_path / "keys" / "data-keys.json"
    datakeys.write_key_file(path, datakeys.parse(TEST_KEYS, str(path)))
    monkeypatch.delenv(datakeys.ENV_KEY)
    monkeypatch.setenv(datakeys.ENV_FILE, str(path))
    datakeys.forget()
    yield path
    datakeys.forget()
