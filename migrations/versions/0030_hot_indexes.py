"""hot_indexes: fewer index entries written per order (issue 19)

Every order writes a row into ``orders``, ``order_lines``, ``payments`` and ``notifications``,
and every index of those tables gets an entry — on SQLite a dirty page written to the WAL at
commit, on PostgreSQL a page to maintain. Four indexes served lookups of a column that is empty
on almost every row (a merged shipment's group, a kit's component lines, a webhook event's id,
a payment provider's reference): they become partial (``WHERE … IS NOT NULL``), so an order
without those writes no entry, and the lookups (``col = ?`` implies ``col IS NOT NULL`` on both
databases) use them as before. ``ix_orders_warehouse_id`` served no query (no read filters
orders by warehouse alone; joins go from the order to the warehouse's key) and is dropped.
docs/benchmarks.md lists which query each remaining index serves.

Revision ID: 0030_hot_indexes
Revises: 0029_dash_rollups
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0030_hot_indexes"
down_revision = "0029_dash_rollups"
branch_labels = None
depends_on = None

PARTIAL = (  # (index, table, column)
    ("ix_orders_merge_group_id", "orders", "merge_group_id"),
    ("ix_order_lines_kit_line_id", "order_lines", "kit_line_id"),
    ("ix_notifications_event_id", "notifications", "event_id"),
    ("ix_payments_provider_ref", "payments", "provider_ref"),
)


def upgrade() -> None:
    for name, table, column in PARTIAL:
        op.drop_index(name, table_name=table)
        where = sa.text(f"{column} IS NOT NULL")
        op.create_index(name, table, [column], sqlite_where=where, postgresql_where=where)
    op.drop_index("ix_orders_warehouse_id", table_name="orders")


def downgrade() -> None:
    op.create_index("ix_orders_warehouse_id", "orders", ["warehouse_id"])
    for name, table, column in PARTIAL:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, [column])
