"""gift lines: order_lines.is_gift marks a line a gift rule added (赠品; price 0, demand, no revenue)

Revision ID: 0027_scan_gifts
Revises: 0024_settlements
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0027_scan_gifts"
down_revision = "0024_settlements"
branch_labels = None
depends_on = None


def upgrade() -> None:
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("order_lines")}
    if "is_gift" in columns:
        return
    with op.batch_alter_table("order_lines") as batch:
        batch.add_column(sa.Column("is_gift", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("order_lines") as batch:
        batch.drop_column("is_gift")
