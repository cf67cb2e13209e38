"""Throw-away databases for the benchmarks: a temp SQLite file, or a fresh PostgreSQL database
when DATABASE_URL points to a server (dropped again by the returned cleanup)."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable

from sqlalchemy import create_engine, text

from core import datakeys, db
from core.permissions import SYSTEM
from core.reference import seed_reference
from core.schema import upgrade
from core.services import data_keys
from data.demo_reference import seed_demo_reference


def ephemeral_key() -> None:
    """Personal data is encrypted (docs/security.md): a benchmark without a configured key runs
    with a throw-away one in its own environment, never a key file in the user's home."""
    if not os.environ.get(datakeys.ENV_KEY) and not datakeys.key_file_path().exists():
        os.environ[datakeys.ENV_KEY] = datakeys.new_ring("env").to_json()


def fresh_database(label: str) -> tuple[str, Callable[[], None]]:
    """A migrated database with the demo shop's reference rows only, and a function that removes it."""
    ephemeral_key()
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgresql"):
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        name = f"oms_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        target = admin.url.set(database=name).render_as_string(hide_password=False)

        def cleanup() -> None:
            db.dispose_all()
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    else:
        tmp = tempfile.mkdtemp(prefix="oms_bench_")
        target = f"sqlite:///{tmp}/{label}.db"

        def cleanup() -> None:
            db.dispose_all()
            shutil.rmtree(tmp, ignore_errors=True)
    upgrade(db.get_engine(target))
    with db.transaction(target) as s:
        seed_reference(s)
        seed_demo_reference(s)
    data_keys.init_keys(SYSTEM, url=target)  # registered like `oms init` does: other processes (the API) accept it
    return target, cleanup
