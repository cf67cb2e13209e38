"""Shared steps of the migration tests: downgrade a database to a revision, and compare its
schema with a fresh database built up to that revision."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import Engine

from core import db
from core.schema import alembic_config, upgrade
from core.schema_check import differences, fingerprint


def downgrade(engine: Engine, revision: str) -> None:
    """Run the migrations of ``engine``'s database down to ``revision``, committed."""
    cfg = alembic_config(engine)
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
        conn.commit()


def schema_differences(engine: Engine, revision: str, tmp_path: Path) -> list[dict[str, object]]:
    """How ``engine``'s SQLite schema differs from a new database migrated to ``revision`` (empty
    when a downgrade brought back exactly the old schema)."""
    reference = db.make_engine(f"sqlite:///{tmp_path / 'reference.db'}")
    try:
        upgrade(reference, (revision,))
        with reference.connect() as a, engine.connect() as b:
            return [i.params for i in differences(fingerprint(a), fingerprint(b))]
    finally:
        reference.dispose()
