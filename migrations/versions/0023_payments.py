"""payments: each order's payments and refunds as rows (issue 21)

Revision ID: 0023_payments
Revises: 0021_field_encryption
Create Date: 2026-12-07

An order's ``payment_status`` is derived from these rows from now on. The backfill gives every
order that was paid (paid, partially or wholly refunded) one payment row of its total at the
time it was approved (else placed), and every after-sales refund its refund row — so the
status the rows derive is the status the order already has.
"""

import sqlalchemy as sa
from alembic import op

revision = "0023_payments"
down_revision = "0021_field_encryption"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("payments"):  # a version table rewound past this revision
        return
    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=True),
        sa.Column("provider_ref", sa.String(length=100), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("fee", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("refund_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payments_amount_positive")),
        sa.CheckConstraint("fee >= 0", name=op.f("ck_payments_fee_nonneg")),
        sa.CheckConstraint("kind IN ('payment', 'refund')", name=op.f("ck_payments_kind_known")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_payments_order_id_orders")),
        sa.ForeignKeyConstraint(["refund_id"], ["refunds.id"], name=op.f("fk_payments_refund_id_refunds")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
    )
    op.create_index("ix_payments_at", "payments", ["at"])
    op.create_index("ix_payments_provider_ref", "payments", ["provider_ref"])
    op.create_index(op.f("ix_payments_order_id"), "payments", ["order_id"])
    op.execute(
        "INSERT INTO payments (order_id, kind, method, provider_ref, amount, fee, at, status, refund_id, created_by) "
        "SELECT id, 'payment', payment_method, NULL, total, 0, COALESCE(approved_at, placed_at), 'succeeded', NULL, "
        "'migration' FROM orders WHERE payment_status IN ('paid', 'partially_refunded', 'refunded') AND total > 0 "
        "ORDER BY id")
    op.execute(
        "INSERT INTO payments (order_id, kind, method, provider_ref, amount, fee, at, status, refund_id, created_by) "
        "SELECT order_id, 'refund', method, NULL, amount, 0, at, 'succeeded', id, 'migration' FROM refunds ORDER BY id")


def downgrade() -> None:
    op.drop_index("ix_payments_provider_ref", table_name="payments")
    op.drop_index("ix_payments_at", table_name="payments")
    op.drop_index(op.f("ix_payments_order_id"), table_name="payments")
    op.drop_table("payments")
