"""bins: shelf locations per warehouse, each product's home bin, and the bin of a putaway

Revision ID: 0024_bins
Revises: 0018_channel_stock
Create Date: 2026-12-07

New tables only: the bin a receipt went into is kept in ``movement_bins`` beside the
append-only ledger, whose rows and triggers stay untouched.
"""

import sqlalchemy as sa
from alembic import op

revision = "0024_bins"
down_revision = "0018_channel_stock"
branch_labels = None
depends_on = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if not inspector.has_table("bins"):
        op.create_table(
            "bins",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("warehouse_id", sa.Integer(), nullable=False),
            sa.Column("code", sa.String(length=32), nullable=False),
            sa.Column("zone", sa.String(length=16), nullable=False),
            sa.Column("walk_order", sa.Integer(), nullable=False),
            sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
            sa.CheckConstraint("zone IN ('pick', 'reserve', 'defective')", name=op.f("ck_bins_zone_known")),
            sa.CheckConstraint("walk_order >= 0", name=op.f("ck_bins_walk_order_nonneg")),
            sa.ForeignKeyConstraint(["warehouse_id"], ["warehouses.id"], name=op.f("fk_bins_warehouse_id_warehouses")),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_bins")),
            sa.UniqueConstraint("warehouse_id", "code", name=op.f("uq_bins_warehouse_id_code")),
        )
    if not inspector.has_table("product_bins"):
        op.create_table(
            "product_bins",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("product_id", sa.Integer(), nullable=False),
            sa.Column("warehouse_id", sa.Integer(), nullable=False),
            sa.Column("bin_id", sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(["bin_id"], ["bins.id"], name=op.f("fk_product_bins_bin_id_bins")),
            sa.ForeignKeyConstraint(["product_id"], ["products.id"], name=op.f("fk_product_bins_product_id_products")),
            sa.ForeignKeyConstraint(["warehouse_id"], ["warehouses.id"],
                                    name=op.f("fk_product_bins_warehouse_id_warehouses")),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_product_bins")),
            sa.UniqueConstraint("product_id", "warehouse_id", name=op.f("uq_product_bins_product_id_warehouse_id")),
        )
        op.create_index(op.f("ix_product_bins_bin_id"), "product_bins", ["bin_id"])
    if not inspector.has_table("movement_bins"):
        op.create_table(
            "movement_bins",
            sa.Column("movement_id", sa.Integer(), nullable=False),
            sa.Column("bin_id", sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(["bin_id"], ["bins.id"], name=op.f("fk_movement_bins_bin_id_bins")),
            sa.ForeignKeyConstraint(["movement_id"], ["stock_movements.id"],
                                    name=op.f("fk_movement_bins_movement_id_stock_movements")),
            sa.PrimaryKeyConstraint("movement_id", name=op.f("pk_movement_bins")),
        )
        op.create_index(op.f("ix_movement_bins_bin_id"), "movement_bins", ["bin_id"])


def downgrade() -> None:
    op.drop_table("movement_bins")
    op.drop_table("product_bins")
    op.drop_table("bins")
