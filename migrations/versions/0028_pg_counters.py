"""pg_counters: document counters as PostgreSQL SEQUENCEs (issue 19)

On PostgreSQL the ``sequences`` row of a counter was locked by ``UPDATE … RETURNING`` until the
order (RMA, PO…) committed, so concurrent clerks queued on it. Each counter but ``REF`` becomes
a sequence ``oms_seq_<name>`` starting after the table's value (core.numbering). SQLite keeps
the table. The downgrade writes each sequence's last value back into the table and drops it.

Revision ID: 0028_pg_counters
Revises: 0027_fin_cogs_export
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0028_pg_counters"
down_revision = "0027_fin_cogs_export"
branch_labels = None
depends_on = None

# the counters of core.numbering.PG_COUNTERS at this revision (a migration does not import app code)
COUNTERS = ("SO", "RMA", "PO", "TR", "CUST", "PL", "WV", "MG")


def _seq(name: str) -> str:
    return f"oms_seq_{name.lower()}"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for name in COUNTERS:
        op.execute(f"CREATE SEQUENCE IF NOT EXISTS {_seq(name)}")
        bind.execute(sa.text(f"SELECT setval('{_seq(name)}', s.value) FROM sequences s "
                             "WHERE s.name = :n AND s.value > 0"), {"n": name})


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for name in COUNTERS:
        bind.execute(sa.text(
            f"UPDATE sequences SET value = GREATEST(value, (SELECT CASE WHEN is_called THEN last_value "
            f"ELSE last_value - 1 END FROM {_seq(name)})) WHERE name = :n"), {"n": name})
        op.execute(f"DROP SEQUENCE IF EXISTS {_seq(name)}")
