"""kits and bundles (组合装): kit components, the kit lines of orders, component lines' kit

Revision ID: 0027_kits
Revises: 0027_scan_gifts
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0027_kits"
down_revision = "0027_scan_gifts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kit_components",
        sa.Column("kit_product_id", sa.Integer(), nullable=False),
        sa.Column("component_product_id", sa.Integer(), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.CheckConstraint("qty >= 1 AND qty <= 999", name=op.f("ck_kit_components_qty_range")),
        sa.CheckConstraint("kit_product_id <> component_product_id", name=op.f("ck_kit_components_not_itself")),
        sa.ForeignKeyConstraint(["kit_product_id"], ["products.id"],
                                name=op.f("fk_kit_components_kit_product_id_products")),
        sa.ForeignKeyConstraint(["component_product_id"], ["products.id"],
                                name=op.f("fk_kit_components_component_product_id_products")),
        sa.PrimaryKeyConstraint("kit_product_id", "component_product_id", name=op.f("pk_kit_components")),
    )
    op.create_index(op.f("ix_kit_components_component_product_id"), "kit_components", ["component_product_id"])
    op.create_table(
        "order_kit_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.BigInteger(), nullable=False),
        sa.Column("discount", sa.BigInteger(), nullable=False),
        sa.Column("line_total", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("qty > 0", name=op.f("ck_order_kit_lines_qty_positive")),
        sa.CheckConstraint("unit_price >= 0", name=op.f("ck_order_kit_lines_price_nonneg")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_order_kit_lines_order_id_orders")),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], name=op.f("fk_order_kit_lines_product_id_products")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_kit_lines")),
    )
    op.create_index(op.f("ix_order_kit_lines_order_id"), "order_kit_lines", ["order_id"])
    op.create_index(op.f("ix_order_kit_lines_product_id"), "order_kit_lines", ["product_id"])
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kit_line_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_order_lines_kit_line_id_order_kit_lines"),
                                    "order_kit_lines", ["kit_line_id"], ["id"])
        batch_op.create_index(batch_op.f("ix_order_lines_kit_line_id"), ["kit_line_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_lines_kit_line_id"))
        batch_op.drop_constraint(batch_op.f("fk_order_lines_kit_line_id_order_kit_lines"), type_="foreignkey")
        batch_op.drop_column("kit_line_id")
    op.drop_table("order_kit_lines")
    op.drop_table("kit_components")
