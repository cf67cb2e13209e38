"""master data by hand: several barcodes per product (product_barcodes, filled from
products.barcode), a product's weight, and merged customer profiles (customers.merged_into_id)

Revision ID: 0009m
Revises: 0001
Create Date: 2026-12-07

``products.barcode`` stays as the product's primary barcode (pick lists and slips print it);
``product_barcodes`` holds every barcode, the primary one included, so the unique index there
keeps one barcode on one product. Columns are added with plain ``ALTER TABLE … ADD COLUMN``
(no batch rebuild): rebuilding ``customers`` on SQLite would mean dropping a table that orders
refer to.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009m"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "product_barcodes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("barcode", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], name=op.f("fk_product_barcodes_product_id_products")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_barcodes")),
        sa.UniqueConstraint("barcode", name=op.f("uq_product_barcodes_barcode")),
    )
    op.create_index(op.f("ix_product_barcodes_product_id"), "product_barcodes", ["product_id"], unique=False)
    op.execute("INSERT INTO product_barcodes (product_id, barcode) "
               "SELECT id, barcode FROM products WHERE barcode IS NOT NULL")
    op.add_column("products", sa.Column("weight_kg", sa.Numeric(precision=9, scale=3), nullable=True))
    if op.get_bind().dialect.name == "sqlite":  # SQLite takes a reference only inside ADD COLUMN
        op.execute("ALTER TABLE customers ADD COLUMN merged_into_id INTEGER "
                   "CONSTRAINT fk_customers_merged_into_id_customers REFERENCES customers (id)")
    else:
        op.add_column("customers", sa.Column(
            "merged_into_id", sa.Integer(),
            sa.ForeignKey("customers.id", name=op.f("fk_customers_merged_into_id_customers")), nullable=True))
    op.add_column("customers", sa.Column("merged_at", sa.DateTime(), nullable=True))
    op.create_index(op.f("ix_customers_merged_into_id"), "customers", ["merged_into_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_customers_merged_into_id"), table_name="customers")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("merged_at")
        batch_op.drop_column("merged_into_id")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_column("weight_kg")
    op.drop_index(op.f("ix_product_barcodes_product_id"), table_name="product_barcodes")
    op.drop_table("product_barcodes")
