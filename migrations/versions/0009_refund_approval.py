"""after-sales: a refund that needs a second person's approval waits on its RMA
(returns.refund_request_*)

Revision ID: 0009_refund_approval
Revises: 0004
Create Date: 2026-12-07

Follows the after-sales branch (0004). A refund above the shop's ``refund_approval.amount``
setting, or on an order that came from outside, is stored as a request (amount, who, when,
note) and paid only when someone else approves it; the columns are empty otherwise.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_refund_approval"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("returns") as batch:
        batch.add_column(sa.Column("refund_request_amount", sa.Numeric(12, 2), nullable=True))
        batch.add_column(sa.Column("refund_request_by", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("refund_request_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("refund_request_note", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("returns") as batch:
        for name in ("refund_request_note", "refund_request_at", "refund_request_by", "refund_request_amount"):
            batch.drop_column(name)
