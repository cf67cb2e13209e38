"""roll-ups of the analytics day tables: per month, and per day over fewer keys; late orders

Revision ID: 0029_dash_rollups
Revises: 0028_names_customer_name_bidx
Create Date: 2026-12-08

Dashboards at a million orders read a year as 365 days of rows per channel × warehouse ×
region (× product …): 0.4–4 s per page (issue 19). These tables hold the same measures summed
per calendar month (``day`` = the month's first day) or per day over fewer keys; they are
derived from the day tables by the summary refresh (docs/analytics.md, "Roll-ups"). Created
empty: the next refresh rebuilds every summary (the aggregation logic version moved). And a
partial index of the orders shipped after their due time (the Fulfilment page's late list),
and where each customer quintile edge stands (customers below it, at it, in all), so that the
refresh moves the edges by the customers it changed instead of sorting all of them again.
"""

import sqlalchemy as sa
from alembic import op

revision = "0029_dash_rollups"
down_revision = "0028_names_customer_name_bidx"
branch_labels = None
depends_on = None

MONEY = sa.BigInteger()  # whole cents (core.models.base.Money)
TYPES = {
    "category": sa.String(length=64), "day": sa.Date(), "channel_id": sa.Integer(), "warehouse_id": sa.Integer(),
    "region": sa.String(length=16), "hour": sa.Integer(), "product_id": sa.Integer(), "product_a": sa.Integer(),
    "product_b": sa.Integer(), "stage": sa.String(length=8), "bucket": sa.Integer(),
    "orders": sa.Integer(), "cancelled_orders": sa.Integer(), "units": sa.Integer(), "returned_units": sa.Integer(),
    "sales": MONEY, "returned_sales": MONEY, "cost": MONEY, "uncosted_sales": MONEY, "walk_in_orders": sa.Integer(),
    "net_sales": MONEY, "hours": sa.Float(), "on_time": sa.Integer(), "late": sa.Integer(),
}
SALES = ("orders", "cancelled_orders", "units", "returned_units", "sales", "returned_sales", "cost", "uncosted_sales",
         "walk_in_orders")
PRODUCTS = ("orders", "units", "returned_units", "sales", "returned_sales", "cost")
FULFILLMENT = ("orders", "hours", "on_time", "late")
TABLES = {  # name: (key columns in key order, measures)
    "agg_sales_monthly": (("category", "day", "channel_id", "warehouse_id", "region"), SALES),
    "agg_sales_channel_daily": (("category", "day", "channel_id"), SALES),
    "agg_sales_hour_daily": (("category", "day", "hour"), ("orders", "net_sales")),
    "agg_product_total_daily": (("day", "product_id"), PRODUCTS),
    "agg_product_wh_monthly": (("day", "product_id", "warehouse_id"), PRODUCTS),
    "agg_fulfillment_monthly": (("day", "channel_id", "warehouse_id", "region", "stage", "bucket"), FULFILLMENT),
    "agg_fulfillment_stage_daily": (("day", "stage"), FULFILLMENT),
    "agg_basket_pair_monthly": (("day", "product_a", "product_b"), ("orders",)),
}


def upgrade() -> None:
    for name, (keys, measures) in TABLES.items():
        op.create_table(
            name,
            *[sa.Column(c, TYPES[c], nullable=False) for c in (*keys, *measures)],
            sa.PrimaryKeyConstraint(*keys, name=op.f(f"pk_{name}")),
            sqlite_with_rowid=False,  # rows stored in key order
        )
    # where each quintile edge stands, so a refresh moves it instead of sorting every customer
    for column in ("below", "at_edge", "total"):
        op.add_column("agg_customer_quintiles", sa.Column(column, sa.Integer(), server_default="0", nullable=False))
    # the orders shipped after their due time, by placement: the late-order list's read
    op.create_index("ix_orders_shipped_late", "orders", ["placed_at"], sqlite_where=sa.text("shipped_at > due_by"),
                    postgresql_where=sa.text("shipped_at > due_by"))


def downgrade() -> None:
    with op.batch_alter_table("agg_customer_quintiles") as batch:
        for column in ("total", "at_edge", "below"):
            batch.drop_column(column)
    op.drop_index("ix_orders_shipped_late", table_name="orders")
    for name in reversed(TABLES):
        op.drop_table(name)
