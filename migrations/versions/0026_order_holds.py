"""order holds: interceptions (拦截) that stop picking, packing and shipping until released

Revision ID: 0026_order_holds
Revises: 0025_waves
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0026_order_holds"
down_revision = "0025_waves"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("order_holds"):
        return
    op.create_table(
        "order_holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=24), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("released_at", sa.DateTime(), nullable=True),
        sa.Column("released_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_order_holds_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_holds")),
    )
    op.create_index("ix_order_holds_open", "order_holds", ["order_id", "released_at"])


def downgrade() -> None:
    op.drop_table("order_holds")
