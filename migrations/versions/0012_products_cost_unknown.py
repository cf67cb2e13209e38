"""products.unit_cost nullable: NULL means "cost unknown"

Revision ID: 0012_cost_unknown
Revises: 0001
Create Date: 2026-12-07

Products created by an order import without a cost column used to get cost 0, so every margin
read 100 %. NULL now says "cost unknown" and analytics leave such products out of margin
figures (and say how many). Existing rows keep their cost — including any 0 that came from an
import: the shop decides which of those are unknown (the products page or a products import
with a cost column).

On SQLite a batch rebuild of ``products`` cannot run here: it drops the table many others
refer to, and foreign keys cannot be switched off inside the migration's transaction. SQLite's
own documented procedure for dropping a NOT NULL constraint is used instead (edit the table's
definition in the schema with ``writable_schema`` and bump ``schema_version``; the stored rows
do not change format) — see https://www.sqlite.org/lang_altertable.html, "otheralter".
"""

import re

import sqlalchemy as sa
from alembic import op

revision = "0012_cost_unknown"
down_revision = "0001"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(precision=12, scale=2)


NOT_NULL = re.compile(r"(\bunit_cost\s+NUMERIC\(12,\s*2\))(\s+NOT NULL)?", re.IGNORECASE)


def _sqlite_nullable(nullable: bool) -> None:
    bind = op.get_bind()
    sql = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'products'").scalar_one()
    new = NOT_NULL.sub(lambda m: m.group(1) + ("" if nullable else " NOT NULL"), sql, count=1)
    if new == sql:
        return
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'products'", (new,))
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def _alter(nullable: bool) -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_nullable(nullable)
    else:
        op.alter_column("products", "unit_cost", existing_type=MONEY, nullable=nullable)


def upgrade() -> None:
    _alter(True)


def downgrade() -> None:
    op.execute("UPDATE products SET unit_cost = 0 WHERE unit_cost IS NULL")
    _alter(False)
