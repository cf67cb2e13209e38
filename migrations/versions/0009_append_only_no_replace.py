"""append-only audit_log and stock_movements: refuse inserts that would replace a row (SQLite)

Revision ID: 0009_no_replace
Revises: 0007
Create Date: 2026-12-07

SQLite's ``INSERT OR REPLACE`` / ``REPLACE INTO`` resolves a primary-key conflict by deleting
the old row and inserting the new one. That delete fires DELETE triggers only on connections
with ``PRAGMA recursive_triggers=ON``, so the triggers of 0007 let a REPLACE rewrite history
from any other connection (the sqlite3 shell, a script). A BEFORE INSERT trigger that refuses
a row whose id already exists holds for every connection and every conflict clause
(REPLACE, OR IGNORE, upsert). On PostgreSQL there is no REPLACE, and ``INSERT … ON CONFLICT DO
UPDATE`` fires the BEFORE UPDATE trigger of 0007, so nothing is added there.
"""

from alembic import op

revision = "0009_no_replace"
down_revision = "0007"
branch_labels = None
depends_on = None

TABLES = ("audit_log", "stock_movements")


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        op.execute(f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} "
                   f"WHEN EXISTS (SELECT 1 FROM {table} WHERE id = NEW.id) "
                   f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: REPLACE refused'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_replace")
