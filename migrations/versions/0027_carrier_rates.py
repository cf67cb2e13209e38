"""carriers: services, tracking-number pattern, rates by province × weight band, pre-allocated
tracking number ranges, and the parcel weight taken at dispatch (issue 16, items 5 and 6)

Revision ID: 0027_carrier_rates
Revises: 0027_merge_groups
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0027_carrier_rates"
down_revision = "0027_merge_groups"
branch_labels = None
depends_on = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if inspector.has_table("tracking_ranges"):  # a version table rewound past this revision
        return
    with op.batch_alter_table("carriers") as batch:
        batch.add_column(sa.Column("services", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("tracking_pattern", sa.String(length=200), nullable=True))
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("parcel_weight_kg", sa.Numeric(precision=9, scale=3), nullable=True))
    op.create_table(
        "carrier_rates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("carrier_id", sa.Integer(), nullable=False),
        sa.Column("province", sa.String(length=32), nullable=False),
        sa.Column("max_kg", sa.Numeric(precision=9, scale=3), nullable=False),
        sa.Column("cost", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("max_kg > 0", name=op.f("ck_carrier_rates_band_positive")),
        sa.CheckConstraint("cost >= 0", name=op.f("ck_carrier_rates_cost_nonneg")),
        sa.ForeignKeyConstraint(["carrier_id"], ["carriers.id"], name=op.f("fk_carrier_rates_carrier_id_carriers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carrier_rates")),
        sa.UniqueConstraint("carrier_id", "province", "max_kg", name=op.f("uq_carrier_rates_band")),
    )
    op.create_index("ix_carrier_rates_carrier_id", "carrier_rates", ["carrier_id"])
    op.create_table(
        "tracking_ranges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("carrier_id", sa.Integer(), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("next_no", sa.BigInteger(), nullable=False),
        sa.Column("end_no", sa.BigInteger(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.CheckConstraint("next_no >= 0 AND next_no <= end_no + 1", name=op.f("ck_tracking_ranges_next_in_range")),
        sa.CheckConstraint("width >= 1 AND width <= 18", name=op.f("ck_tracking_ranges_width_bounded")),
        sa.ForeignKeyConstraint(["carrier_id"], ["carriers.id"],
                                name=op.f("fk_tracking_ranges_carrier_id_carriers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracking_ranges")),
    )
    op.create_index("ix_tracking_ranges_carrier_id", "tracking_ranges", ["carrier_id"])


def downgrade() -> None:
    op.drop_table("tracking_ranges")
    op.drop_table("carrier_rates")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("parcel_weight_kg")
    with op.batch_alter_table("carriers") as batch:
        batch.drop_column("tracking_pattern")
        batch.drop_column("services")
