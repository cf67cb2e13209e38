"""Alembic environment. Used programmatically by ``core.schema`` (``oms init``) and by hand with
``alembic -c migrations/alembic.ini upgrade head``; the database URL comes from ``DATABASE_URL``
(or the SQLite default) unless a connection is passed in ``config.attributes``.
"""

from __future__ import annotations

from alembic import context

from core.db import make_engine
from core.models import Base

config = context.config
target_metadata = Base.metadata


def _sqlite_foreign_keys(connection, on: bool) -> None:  # noqa: ANN001
    """SQLite's own rule for changing a table's shape (its "12 steps"): foreign keys off while a
    batch migration copies a table that others point at (``DROP TABLE orders`` fails otherwise as
    soon as an order line exists), checked before the commit, on again after. The pragma only
    takes effect outside a transaction, so it goes to the driver before alembic begins one."""
    if connection.dialect.name == "sqlite" and not connection.in_transaction():
        connection.connection.driver_connection.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def _run(connection) -> None:  # noqa: ANN001
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    _sqlite_foreign_keys(connection, on=False)
    try:
        with context.begin_transaction():
            context.run_migrations()
            if connection.dialect.name == "sqlite":
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"the migration left rows pointing at missing rows: {broken[:5]}")
    finally:
        _sqlite_foreign_keys(connection, on=True)


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or None)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


run_migrations_online()
