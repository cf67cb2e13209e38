"""a shop's own master data: warehouses get a street address, suppliers an active flag

Revision ID: 0009_shop_master_data
Revises: 0001
Create Date: 2026-12-07

Master data is maintained in the app now (core.services.warehouses / channels / suppliers):
a supplier that purchase orders or products refer to is deactivated, never deleted, so it
needs the flag every other master table already has. A store's street address prints on
slips and tells staff where the stock is.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_shop_master_data"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("warehouses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("address", sa.String(length=200), nullable=True))
    with op.batch_alter_table("suppliers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("suppliers", schema=None) as batch_op:
        batch_op.drop_column("active")
    with op.batch_alter_table("warehouses", schema=None) as batch_op:
        batch_op.drop_column("address")
