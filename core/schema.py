"""Schema management: Alembic upgrade to head and the reference rows every database needs.

``oms init`` calls :func:`upgrade`; tests call it too, so the schema under test is always the
one the migrations build, never ``metadata.create_all``.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ``%`` escaped for configparser: a URL may carry %-encoded parameters (sslrootcert=%2F…)
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, targets: tuple[str, ...] = ("heads",)) -> None:
    """Bring the database behind ``engine`` to the newest migration (every branch head), or to
    exactly the revisions ``targets`` (the restore's reference schema for an older backup)."""
    cfg = alembic_config(engine)
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        for target in targets:
            command.upgrade(cfg, target)
        conn.commit()
