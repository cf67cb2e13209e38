"""One Alembic history: a single head, and a database left at any earlier revision upgrades to
exactly the schema a new database gets (tables, columns, indexes, constraints, triggers)."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from core import db
from core.schema import alembic_config, upgrade
from core.schema_check import differences, fingerprint
from tests.conftest import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "sqlite", reason="one backend is enough to walk the history; "
                                "PostgreSQL upgrades are exercised by every PostgreSQL test database")


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(db.make_engine("sqlite://")))


def _revisions() -> list[str]:
    """Every revision but the head, oldest first."""
    script = _scripts()
    head = script.get_current_head()
    return [r.revision for r in reversed(list(script.walk_revisions())) if r.revision != head]


def _schema(engine: Engine) -> dict:
    with engine.connect() as conn:
        return fingerprint(conn)


def test_the_history_has_one_head() -> None:
    assert len(_scripts().get_heads()) == 1, "add a merge revision (alembic merge heads) or chain the new one"


@pytest.mark.parametrize("revision", _revisions())
def test_a_database_at_an_earlier_revision_upgrades_to_the_same_schema(revision: str, tmp_path: Path) -> None:
    fresh, old = (db.make_engine(f"sqlite:///{tmp_path / name}.db") for name in ("fresh", "old"))
    upgrade(fresh)
    upgrade(old, targets=(revision,))
    upgrade(old)
    assert [i.params for i in differences(_schema(fresh), _schema(old))] == []
    fresh.dispose()
    old.dispose()
