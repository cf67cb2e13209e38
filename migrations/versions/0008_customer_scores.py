"""analytics: customers per RFM score as of a day (agg_customer_scores) and the net-sales
quintile edges of the M score (agg_customer_quintiles)

Revision ID: 0008
Revises: 0005
Create Date: 2026-11-26

Follows the analytics branch (0005, whose summary tables it extends); the other feature
branches off 0001 are unaffected. Derived data only: the next summary refresh fills it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0005"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(precision=16, scale=4)


def _int(name: str) -> sa.Column:
    return sa.Column(name, sa.Integer(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "agg_customer_scores",
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("cohort", sa.Date(), nullable=False),
        _int("channel_id"),
        sa.Column("province", sa.String(length=32), nullable=False),
        _int("r"), _int("f"),
        sa.Column("region", sa.String(length=16), nullable=False),
        _int("customers"), _int("orders"),
        sa.Column("net_sales", MONEY, nullable=False),
        sa.Column("cost", MONEY, nullable=False),
        # the page's grouping order: summing over the acquisition months is one ordered pass
        sa.PrimaryKeyConstraint("as_of", "r", "f", "province", "channel_id", "cohort",
                                name=op.f("pk_agg_customer_scores")),
        sqlite_with_rowid=False,  # rows stored in key order
    )
    op.create_table(
        "agg_customer_quintiles",
        sa.Column("quintile", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("net_sales", MONEY, nullable=False),
        sa.PrimaryKeyConstraint("quintile", name=op.f("pk_agg_customer_quintiles")),
    )


def downgrade() -> None:
    op.drop_table("agg_customer_quintiles")
    op.drop_table("agg_customer_scores")
