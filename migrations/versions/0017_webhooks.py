"""webhooks: webhook_subscriptions, and the outbox's subscription and stable event id

Revision ID: 0017_webhooks
Revises: 0016_api_tokens
Create Date: 2026-12-07

An event is queued in the notifications outbox once per matching subscription (``core.events``),
in the transaction of the change; every copy, and every replay, carries the same ``event_id`` so
a receiver can de-duplicate. ``response_code`` keeps the receiver's last HTTP status (the body's
excerpt goes to ``last_error``) for the delivery log.
"""

import sqlalchemy as sa
from alembic import op

revision = "0017_webhooks"
down_revision = "0016_api_tokens"
branch_labels = None
depends_on = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if not inspector.has_table("webhook_subscriptions"):
        op.create_table(
            "webhook_subscriptions",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("name", sa.String(length=64), nullable=False),
            sa.Column("url", sa.String(length=500), nullable=False),
            sa.Column("secret", sa.String(length=128), nullable=False),
            sa.Column("events", sa.JSON(), nullable=False),
            sa.Column("channel_id", sa.Integer(), nullable=True),
            sa.Column("token_id", sa.Integer(), nullable=True),
            sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
            sa.Column("created_at", sa.DateTime(), nullable=False),
            sa.Column("created_by", sa.String(length=64), nullable=False),
            sa.ForeignKeyConstraint(["channel_id"], ["channels.id"],
                                    name=op.f("fk_webhook_subscriptions_channel_id_channels")),
            sa.ForeignKeyConstraint(["token_id"], ["api_tokens.id"],
                                    name=op.f("fk_webhook_subscriptions_token_id_api_tokens")),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_subscriptions")),
            sa.UniqueConstraint("name", name=op.f("uq_webhook_subscriptions_name")),
        )
    columns = {c["name"] for c in inspector.get_columns("notifications")}
    if "event_id" not in columns:
        with op.batch_alter_table("notifications") as batch:
            batch.add_column(sa.Column("subscription_id", sa.Integer(), nullable=True))
            batch.add_column(sa.Column("event_id", sa.String(length=36), nullable=True))
            batch.add_column(sa.Column("response_code", sa.Integer(), nullable=True))
            batch.create_foreign_key(op.f("fk_notifications_subscription_id_webhook_subscriptions"),
                                     "webhook_subscriptions", ["subscription_id"], ["id"])
            batch.create_index(op.f("ix_notifications_event_id"), ["event_id"])


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.drop_index(op.f("ix_notifications_event_id"))
        batch.drop_constraint(op.f("fk_notifications_subscription_id_webhook_subscriptions"), type_="foreignkey")
        batch.drop_column("response_code")
        batch.drop_column("event_id")
        batch.drop_column("subscription_id")
    op.drop_table("webhook_subscriptions")
