"""Throw-away databases for the benchmarks: a temp SQLite file, or a fresh PostgreSQL database
when DATABASE_URL points to a server (dropped again by the returned cleanup)."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, create_engine, text

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


def scratch_postgres(admin: Engine, template: str | None = None) -> tuple[str, Callable[[], None]]:
    """A new PostgreSQL database (a copy of ``template`` if given) and a function that drops it."""
    name = f"oms_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))

    def cleanup() -> None:
        db.dispose_all()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return admin.url.set(database=name).render_as_string(hide_password=False), cleanup


def _scratch_sqlite(label: str, source: str | None = None) -> tuple[str, Callable[[], None]]:
    """A SQLite file in a new temp folder (a copy of ``source`` if given) and a function that removes it."""
    tmp = tempfile.mkdtemp(prefix="oms_bench_")
    if source:
        shutil.copy(source, f"{tmp}/{label}.db")

    def cleanup() -> None:
        db.dispose_all()
        shutil.rmtree(tmp, ignore_errors=True)

    return f"sqlite:///{tmp}/{label}.db", cleanup


def fresh_database(label: str) -> tuple[str, Callable[[], None]]:
    """A migrated database with the demo shop's reference rows only, and a function that removes it."""
    ephemeral_key()
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgresql"):
        target, cleanup = scratch_postgres(create_engine(url, isolation_level="AUTOCOMMIT"))
    else:
        target, cleanup = _scratch_sqlite(label)
    upgrade(db.get_engine(target))
    with db.transaction(target) as s:
        seed_reference(s)
        seed_demo_reference(s)
    data_keys.init_keys(SYSTEM, url=target)  # registered like `oms init` does: other processes (the API) accept it
    return target, cleanup


def demo_database(orders: int, seed: int, cache_dir: str,
                  pg_prefix: str = "oms_bench_dash") -> tuple[str, Callable[[], None]]:
    """A throw-away copy of a demo shop holding ``orders`` orders, and a function that removes it.

    The demo is generated once and cached like ``bench/dashboard.py`` caches it (the same file
    ``dashboard-<orders>-<seed>.db`` under ``cache_dir``, or the same PostgreSQL database
    ``<pg_prefix>_<orders>_<seed>`` when DATABASE_URL names a server), so either benchmark
    reuses what the other generated; it is migrated to this checkout's schema first. The cached
    demo is encrypted with the key kept beside the cache (``cache_dir/keys``).
    """
    from data.demo import load_demo

    if not os.environ.get(datakeys.ENV_KEY) and not os.environ.get(datakeys.ENV_FILE):
        os.environ[datakeys.ENV_FILE] = os.path.join(cache_dir, "keys", "data-keys.json")
    url = os.environ.get("DATABASE_URL", "")
    admin = create_engine(url, isolation_level="AUTOCOMMIT") if url.startswith("postgresql") else None
    if admin is not None:
        name = f"{pg_prefix}_{orders}_{seed}"
        with admin.connect() as c:
            if not c.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
                c.execute(text(f'CREATE DATABASE "{name}"'))
        cached = admin.url.set(database=name).render_as_string(hide_password=False)
    else:
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        cached = f"sqlite:///{Path(cache_dir) / f'dashboard-{orders}-{seed}.db'}"
    upgrade(db.get_engine(cached))
    with db.transaction(cached) as s:
        seed_reference(s)
        have = s.execute(text("SELECT count(*) FROM orders")).scalar_one()
    if not have:
        load_demo(cached, orders=orders, seed=seed)
    db.dispose_all()
    if admin is not None:
        return scratch_postgres(admin, template=name)
    return _scratch_sqlite("demo", source=cached.removeprefix("sqlite:///"))
