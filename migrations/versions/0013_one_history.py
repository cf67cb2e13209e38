"""One history again: joins every branch head so ``alembic heads`` prints one revision.

Revision ID: 0013_one_history
Revises: 0002, 0003, 0008, 0009_login_attempts, 0009_refund_approval, 0009_shop_master_data,
    0009_customer_phone, 0012_cost_unknown
Create Date: 2026-12-07

Features were built side by side, each revision following the one it needed, which left eight
heads that ``upgrade heads`` applied in an order of Alembic's choosing. This revision changes no
schema; it only joins them, so the next migration has one parent and a database's revision is
one name. ``tests/services/test_migrations.py`` keeps it that way and upgrades a database from
every earlier revision to the same schema as a new one.
"""

revision = "0013_one_history"
down_revision = ("0002", "0003", "0008", "0009_login_attempts", "0009_refund_approval", "0009_shop_master_data",
                 "0009_customer_phone", "0012_cost_unknown")
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change: the parents' schemas together are the schema."""


def downgrade() -> None:
    """Nothing to undo."""
