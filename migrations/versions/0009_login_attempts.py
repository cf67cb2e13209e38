"""sign-in backoff: login_attempts per (username, client); users lose the per-account lock

Revision ID: 0009_login_attempts
Revises: 0009_no_replace
Create Date: 2026-12-07

The per-account lock (``users.failed_logins`` / ``users.locked_until``) let anyone lock anyone
out and told an attacker which usernames exist. Failed sign-ins are now counted per
(username, client) and per client in ``login_attempts`` and answered with a growing wait
(``core.backoff``); the two columns go.
"""

from alembic import op
import sqlalchemy as sa


revision = "0009_login_attempts"
down_revision = "0009_no_replace"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_attempts_at"), ["at"], unique=False)
        batch_op.create_index("ix_login_attempts_client_at", ["client", "at"], unique=False)
        batch_op.create_index("ix_login_attempts_username_client_at", ["username", "client", "at"], unique=False)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("locked_until")
        batch_op.drop_column("failed_logins")


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("locked_until", sa.DateTime(), nullable=True))
    op.drop_table("login_attempts")
