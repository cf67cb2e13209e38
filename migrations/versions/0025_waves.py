"""waves: pick lists chosen by a rule, slots at the sorting wall, sort scans, short picks

Revision ID: 0025_waves
Revises: 0024_bins
Create Date: 2026-12-07

A wave is a pick list with ``kind = 'wave'`` and the rule that chose its orders; each order on it
has a slot, and ``sent_back`` says why it left the wave when the pick came back short.
"""

import sqlalchemy as sa
from alembic import op

revision = "0025_waves"
down_revision = "0024_bins"
branch_labels = None
depends_on = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if "kind" not in {c["name"] for c in inspector.get_columns("pick_lists")}:
        with op.batch_alter_table("pick_lists") as batch:
            batch.add_column(sa.Column("kind", sa.String(length=8), server_default="list", nullable=False))
            batch.add_column(sa.Column("rule", sa.JSON(), nullable=True))
        with op.batch_alter_table("pick_list_orders") as batch:
            batch.add_column(sa.Column("slot", sa.Integer(), nullable=True))
            batch.add_column(sa.Column("sent_back", sa.String(length=16), nullable=True))
    if not inspector.has_table("sort_scans"):
        op.create_table(
            "sort_scans",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("pick_list_id", sa.Integer(), nullable=False),
            sa.Column("order_line_id", sa.Integer(), nullable=False),
            sa.Column("qty", sa.Integer(), nullable=False),
            sa.Column("at", sa.DateTime(), nullable=False),
            sa.Column("actor", sa.String(length=64), nullable=False),
            sa.CheckConstraint("qty > 0", name=op.f("ck_sort_scans_qty_positive")),
            sa.ForeignKeyConstraint(["order_line_id"], ["order_lines.id"],
                                    name=op.f("fk_sort_scans_order_line_id_order_lines")),
            sa.ForeignKeyConstraint(["pick_list_id"], ["pick_lists.id"],
                                    name=op.f("fk_sort_scans_pick_list_id_pick_lists")),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_sort_scans")),
        )
        op.create_index(op.f("ix_sort_scans_order_line_id"), "sort_scans", ["order_line_id"])
        op.create_index(op.f("ix_sort_scans_pick_list_id"), "sort_scans", ["pick_list_id"])


def downgrade() -> None:
    op.drop_table("sort_scans")
    with op.batch_alter_table("pick_list_orders") as batch:
        batch.drop_column("sent_back")
        batch.drop_column("slot")
    with op.batch_alter_table("pick_lists") as batch:
        batch.drop_column("rule")
        batch.drop_column("kind")
