"""merged orders (合单): merge_groups, and each order's merge key, do-not-merge flag and group

Revision ID: 0027_merge_groups
Revises: 0027_kits
Create Date: 2026-12-07

``orders.merge_key`` is an HMAC digest of the normalised ship-to address (the address itself is
encrypted at rest): computing it needs the data keys, which a migration never sees, so existing
rows start without one. The merge service fills the key of open orders that lack it before it
looks for candidates (``core.services.merging``), so only open orders are ever touched.
"""

import sqlalchemy as sa
from alembic import op

revision = "0027_merge_groups"
down_revision = "0027_kits"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "merge_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), nullable=True),
        sa.Column("merge_key", sa.String(length=64), nullable=False),
        sa.Column("how", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("undone_at", sa.DateTime(), nullable=True),
        sa.Column("undone_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_merge_groups_customer_id_customers")),
        sa.ForeignKeyConstraint(["channel_id"], ["channels.id"], name=op.f("fk_merge_groups_channel_id_channels")),
        sa.ForeignKeyConstraint(["warehouse_id"], ["warehouses.id"],
                                name=op.f("fk_merge_groups_warehouse_id_warehouses")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merge_groups")),
        sa.UniqueConstraint("number", name=op.f("uq_merge_groups_number")),
    )
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("merge_key", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("do_not_merge", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("merge_group_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_orders_merge_group_id_merge_groups"), "merge_groups",
                                 ["merge_group_id"], ["id"])
        batch.create_index("ix_orders_merge", ["status", "customer_id", "merge_key"])
        batch.create_index("ix_orders_merge_group_id", ["merge_group_id"])
    sequences = sa.table("sequences", sa.column("name", sa.String), sa.column("value", sa.Integer))
    if op.get_bind().execute(sa.select(sa.func.count()).select_from(sequences)
                             .where(sequences.c.name == "MG")).scalar_one() == 0:
        op.execute(sequences.insert().values(name="MG", value=0))  # merged shipments' numbers


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_index("ix_orders_merge_group_id")
        batch.drop_index("ix_orders_merge")
        batch.drop_constraint(op.f("fk_orders_merge_group_id_merge_groups"), type_="foreignkey")
        batch.drop_column("merge_group_id")
        batch.drop_column("do_not_merge")
        batch.drop_column("merge_key")
    op.drop_table("merge_groups")
    op.execute(sa.text("DELETE FROM sequences WHERE name = 'MG'"))
