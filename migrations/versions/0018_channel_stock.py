"""channel stock sync: channel_stock_policies, channel_stock_overrides, channel_stock_published

Revision ID: 0018_channel_stock
Revises: 0017_webhooks
Create Date: 2026-12-07

Per sales channel a policy for the share of available stock it may sell (with a buffer, a
maximum, de-listing at zero, an explicit oversell flag and a publishing threshold), per-SKU
overrides, and the figure last published per (channel, SKU) by a ``stock.changed`` event
(``core.services.channel_stock``; docs/channel-stock.md).
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_channel_stock"
down_revision = "0017_webhooks"
branch_labels = None
depends_on = None


def _missing(table: str) -> bool:
    """A table is created only when absent: a database whose version table was rewound past this
    revision (tests of older migrations do that) runs it a second time."""
    return not sa.inspect(op.get_bind()).has_table(table)


def _stamp() -> list[sa.Column]:
    return [sa.Column("updated_at", sa.DateTime(), nullable=False),
            sa.Column("updated_by", sa.String(length=64), nullable=False)]


def upgrade() -> None:
    if _missing("channel_stock_policies"):
        op.create_table(
            "channel_stock_policies",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("channel_id", sa.Integer(), nullable=False),
            sa.Column("share_pct", sa.Integer(), nullable=False),
            sa.Column("buffer", sa.Integer(), nullable=False),
            sa.Column("maximum", sa.Integer(), nullable=True),
            sa.Column("delist_at_zero", sa.Boolean(), server_default=sa.false(), nullable=False),
            sa.Column("oversell", sa.Boolean(), server_default=sa.false(), nullable=False),
            sa.Column("threshold", sa.Integer(), nullable=False),
            *_stamp(),
            sa.CheckConstraint("share_pct >= 0 AND share_pct <= 100", name=op.f("ck_channel_stock_policies_share_range")),
            sa.CheckConstraint("buffer >= 0", name=op.f("ck_channel_stock_policies_buffer_nonneg")),
            sa.CheckConstraint("maximum IS NULL OR maximum >= 0", name=op.f("ck_channel_stock_policies_maximum_nonneg")),
            sa.CheckConstraint("threshold >= 1", name=op.f("ck_channel_stock_policies_threshold_positive")),
            sa.ForeignKeyConstraint(["channel_id"], ["channels.id"],
                                    name=op.f("fk_channel_stock_policies_channel_id_channels")),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_stock_policies")),
            sa.UniqueConstraint("channel_id", name=op.f("uq_channel_stock_policies_channel_id")),
        )
    if _missing("channel_stock_overrides"):
        op.create_table(
            "channel_stock_overrides",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("channel_id", sa.Integer(), nullable=False),
            sa.Column("product_id", sa.Integer(), nullable=False),
            sa.Column("share_pct", sa.Integer(), nullable=True),
            sa.Column("buffer", sa.Integer(), nullable=True),
            sa.Column("maximum", sa.Integer(), nullable=True),
            *_stamp(),
            sa.CheckConstraint("share_pct IS NULL OR (share_pct >= 0 AND share_pct <= 100)",
                               name=op.f("ck_channel_stock_overrides_share_range")),
            sa.CheckConstraint("buffer IS NULL OR buffer >= 0", name=op.f("ck_channel_stock_overrides_buffer_nonneg")),
            sa.CheckConstraint("maximum IS NULL OR maximum >= 0",
                               name=op.f("ck_channel_stock_overrides_maximum_nonneg")),
            sa.ForeignKeyConstraint(["channel_id"], ["channels.id"],
                                    name=op.f("fk_channel_stock_overrides_channel_id_channels")),
            sa.ForeignKeyConstraint(["product_id"], ["products.id"],
                                    name=op.f("fk_channel_stock_overrides_product_id_products")),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_stock_overrides")),
            sa.UniqueConstraint("channel_id", "product_id", name=op.f("uq_channel_stock_overrides_channel_id_product_id")),
        )
        op.create_index(op.f("ix_channel_stock_overrides_product_id"), "channel_stock_overrides", ["product_id"])
    if _missing("channel_stock_published"):
        op.create_table(
            "channel_stock_published",
            sa.Column("channel_id", sa.Integer(), nullable=False),
            sa.Column("product_id", sa.Integer(), nullable=False),
            sa.Column("ats", sa.Integer(), nullable=False),
            sa.Column("listed", sa.Boolean(), nullable=False),
            sa.Column("published_at", sa.DateTime(), nullable=False),
            sa.ForeignKeyConstraint(["channel_id"], ["channels.id"],
                                    name=op.f("fk_channel_stock_published_channel_id_channels")),
            sa.ForeignKeyConstraint(["product_id"], ["products.id"],
                                    name=op.f("fk_channel_stock_published_product_id_products")),
            sa.PrimaryKeyConstraint("channel_id", "product_id", name=op.f("pk_channel_stock_published")),
        )


def downgrade() -> None:
    op.drop_table("channel_stock_published")
    op.drop_index(op.f("ix_channel_stock_overrides_product_id"), table_name="channel_stock_overrides")
    op.drop_table("channel_stock_overrides")
    op.drop_table("channel_stock_policies")
