"""append-only audit_log and stock_movements (triggers refuse UPDATE and DELETE)

Revision ID: 0007
Revises: 0001
Create Date: 2026-11-25

The application only ever inserts into these two tables; the triggers make that a property
of the database, so neither a bug, a script with the app's credentials nor a hand-typed SQL
statement can rewrite history ("改单不留痕"). TRUNCATE and DROP stay possible for the database
owner (restores, test fixtures): row triggers do not fire for them.
"""

from alembic import op


revision = "0007"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = ("audit_log", "stock_movements")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE OR REPLACE FUNCTION oms_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
                    USING ERRCODE = 'insufficient_privilege';
            END $$
        """)
        for table in TABLES:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION oms_append_only()")
        return
    for table in TABLES:
        for event in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {event} refused'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS oms_append_only()")
        return
    for table in TABLES:
        for event in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{event}")
