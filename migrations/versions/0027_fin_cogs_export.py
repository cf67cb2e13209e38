"""fin_cogs_export: the cost of goods recorded at shipping, and the accountant's export (issue 21)

- ``order_lines.unit_cost``: the product's unit cost when the line shipped. Backfilled for lines
  already shipped from the products' **current** unit cost (the only cost known; docs/finance.md).
- ``return_lines.restocked_at``: when returned units went back to stock (their cost leaves COGS
  that day). Backfilled from the ledger's ``return_restock`` movements.
- ``account_mappings``: the shop's own account codes for each journal entry (defaults in
  ``core.domain.journal`` when a row is missing).
- ``journal_exports``: one row per day and export (layout, checksum of the day's journal, who, when).
- ``journal_files``: the voucher file a background export job built (a job's own files are
  its inputs, deleted when it ends).

Revision ID: 0027_fin_cogs_export
Revises: 0027_carrier_rates
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0027_fin_cogs_export"
down_revision = "0027_carrier_rates"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("journal_exports"):  # a version table rewound past this revision
        return
    op.add_column("order_lines", sa.Column("unit_cost", sa.BigInteger(), nullable=True))
    op.add_column("return_lines", sa.Column("restocked_at", sa.DateTime(), nullable=True))
    op.execute("UPDATE order_lines SET unit_cost = (SELECT p.unit_cost FROM products p WHERE p.id = order_lines.product_id)"
               " WHERE qty_shipped > 0")
    op.execute("UPDATE return_lines SET restocked_at = (SELECT MIN(m.at) FROM stock_movements m"
               " WHERE m.kind = 'return_restock' AND m.ref_type = 'return' AND m.ref_id = return_lines.return_id)"
               " WHERE restocked_qty > 0")
    op.create_table(
        "account_mappings",
        sa.Column("entry", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("entry", name=op.f("pk_account_mappings")),
    )
    op.create_table(
        "journal_exports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("layout", sa.String(length=16), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal_exports")),
    )
    op.create_index("ix_journal_exports_day", "journal_exports", ["day", "at"])
    op.create_table(
        "journal_files",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_journal_files")),
    )


def downgrade() -> None:
    op.drop_table("journal_files")
    op.drop_table("journal_exports")
    op.drop_table("account_mappings")
    # plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35): a batch copy of order_lines would drop a
    # table that return_lines and the scans refer to, which SQLite refuses with foreign keys on
    op.drop_column("return_lines", "restocked_at")
    op.drop_column("order_lines", "unit_cost")
