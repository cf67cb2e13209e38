"""One generated demo database for every analytics test (built once per session), and the
pandas model of its raw tables the tests compare with."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core import db, refdata
from tests.analytics_support import Raw, demo_database, load_raw

DEMO_ORDERS = 1_500
DEMO_SEED = 11


@pytest.fixture(scope="session")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from demo_database(tmp_path_factory.mktemp("analytics_demo"), DEMO_ORDERS, DEMO_SEED)


@pytest.fixture(scope="session")
def raw_model(demo_url: str) -> Raw:
    return load_raw(demo_url)


@pytest.fixture
def demo(demo_url: str, raw_model: Raw, monkeypatch: pytest.MonkeyPatch) -> Iterator[Raw]:
    """The shared demo database as DATABASE_URL (read-only tests) and its pandas model."""
    db.dispose_all()
    refdata.clear_cache()
    monkeypatch.setenv("DATABASE_URL", demo_url)
    yield raw_model
    db.dispose_all()
