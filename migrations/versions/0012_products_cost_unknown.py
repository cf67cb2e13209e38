"""products.unit_cost (and replenishment_suggestions.unit_cost) nullable: NULL means "cost
unknown"; agg_sales_daily counts the sales
left out of the margin (uncosted_sales) and the walk-in orders (walk_in_orders); agg_customers
the uncosted sales of each customer

Revision ID: 0012_cost_unknown
Revises: 0005, 0006
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
down_revision = ("0005", "0006")  # the summary tables (0005) and the suggestions (0006)
branch_labels = None
depends_on = None

MONEY = sa.Numeric(precision=12, scale=2)


TABLES = ("products", "replenishment_suggestions")
NOT_NULL = re.compile(r"(\bunit_cost\s+NUMERIC\(12,\s*2\)(?:\s+DEFAULT\s+'?[\w.]*'?)?)(\s+NOT NULL)?",
                      re.IGNORECASE)


def _sqlite_nullable(table: str, nullable: bool) -> None:
    bind = op.get_bind()
    sql = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                               (table,)).scalar_one()
    new = NOT_NULL.sub(lambda m: m.group(1) + ("" if nullable else " NOT NULL"), sql, count=1)
    if new == sql:
        return
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?", (new, table))
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def _alter(nullable: bool) -> None:
    for table in TABLES:
        if op.get_bind().dialect.name == "sqlite":
            _sqlite_nullable(table, nullable)
        else:
            op.alter_column(table, "unit_cost", existing_type=MONEY, nullable=nullable)


def upgrade() -> None:
    _alter(True)
    # existing rows are right with 0: before this revision no cost was unknown and every order
    # had a customer
    with op.batch_alter_table("agg_sales_daily", schema=None) as batch_op:
        batch_op.add_column(sa.Column("uncosted_sales", sa.Numeric(precision=16, scale=4), nullable=False,
                                      server_default="0"))
        batch_op.add_column(sa.Column("walk_in_orders", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("agg_customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("uncosted_sales", sa.Numeric(precision=16, scale=4), nullable=False,
                                      server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("agg_customers", schema=None) as batch_op:
        batch_op.drop_column("uncosted_sales")
    with op.batch_alter_table("agg_sales_daily", schema=None) as batch_op:
        batch_op.drop_column("walk_in_orders")
        batch_op.drop_column("uncosted_sales")
    for table in TABLES:
        op.execute(f"UPDATE {table} SET unit_cost = 0 WHERE unit_cost IS NULL")
    _alter(False)
