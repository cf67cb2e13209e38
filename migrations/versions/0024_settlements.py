"""settlements: payout statement lines and the differences matching finds (issue 21)

Revision ID: 0024_settlements
Revises: 0023_payments
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0024_settlements"
down_revision = "0023_payments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("settlement_lines"):  # a version table rewound past this revision
        return
    op.create_table(
        "settlement_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("provider_ref", sa.String(length=100), nullable=True),
        sa.Column("order_ref", sa.String(length=100), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("commission", sa.BigInteger(), nullable=False),
        sa.Column("net", sa.BigInteger(), nullable=False),
        sa.Column("settled_at", sa.DateTime(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("matched_by", sa.String(length=12), nullable=True),
        sa.CheckConstraint("amount > 0", name=op.f("ck_settlement_lines_amount_positive")),
        sa.CheckConstraint("kind IN ('payment', 'refund')", name=op.f("ck_settlement_lines_kind_known")),
        sa.ForeignKeyConstraint(["batch_id"], ["import_batches.id"],
                                name=op.f("fk_settlement_lines_batch_id_import_batches")),
        sa.ForeignKeyConstraint(["channel_id"], ["channels.id"], name=op.f("fk_settlement_lines_channel_id_channels")),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"], name=op.f("fk_settlement_lines_payment_id_payments")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_lines")),
    )
    op.create_index(op.f("ix_settlement_lines_batch_id"), "settlement_lines", ["batch_id"])
    op.create_index(op.f("ix_settlement_lines_payment_id"), "settlement_lines", ["payment_id"])
    op.create_index("ix_settlement_lines_channel_settled", "settlement_lines", ["channel_id", "settled_at"])
    op.create_table(
        "settlement_differences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=True),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("expected", sa.BigInteger(), nullable=False),
        sa.Column("actual", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.DateTime(), nullable=False),
        sa.Column("found_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["channel_id"], ["channels.id"],
                                name=op.f("fk_settlement_differences_channel_id_channels")),
        sa.ForeignKeyConstraint(["line_id"], ["settlement_lines.id"],
                                name=op.f("fk_settlement_differences_line_id_settlement_lines")),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"],
                                name=op.f("fk_settlement_differences_payment_id_payments")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_differences")),
    )
    op.create_index(op.f("ix_settlement_differences_line_id"), "settlement_differences", ["line_id"])
    op.create_index(op.f("ix_settlement_differences_payment_id"), "settlement_differences", ["payment_id"])
    op.create_index("ix_settlement_differences_open", "settlement_differences", ["resolved_at", "day"])


def downgrade() -> None:
    op.drop_table("settlement_differences")
    op.drop_table("settlement_lines")
