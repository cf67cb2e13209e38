"""personal data encrypted at rest: blind-index columns, data_keys, TEXT for ciphertext

Revision ID: 0021_field_encryption
Revises: 0020_notification_templates
Create Date: 2026-12-07

The schema half of field encryption (docs/security.md, "Protecting data"). It adds the blind
indexes (HMAC digests of the normalised phone, e-mail and the phone's last four digits) and
the ``data_keys`` table, moves the one-customer-per-phone unique index from the phone to its
digest, and drops the indexes on columns that will hold ciphertext (they could only ever find
nothing). On PostgreSQL the encrypted columns become TEXT (ciphertext is longer than the
VARCHAR lengths); SQLite does not enforce lengths, so its tables are not rebuilt.

The data half needs the keys, which a migration must never see: ``oms keys init`` (which
``oms init`` runs) encrypts the existing rows in batches and fills the digests. Until it has,
the app refuses to start (``keys.not_initialised``).

Downgrade brings the old columns and indexes back; it refuses while any value is still
ciphertext (decrypting needs the keys: run it on a database restored from a plain backup).
"""

import sqlalchemy as sa
from alembic import op

revision = "0021_field_encryption"
down_revision = "0020_notification_templates"
branch_labels = None
depends_on = None

LIVE = "phone_bidx IS NOT NULL AND merged_into_id IS NULL"
OLD_LIVE = "phone IS NOT NULL AND merged_into_id IS NULL"
INDEX_COLUMNS = {
    "customers": ("phone_bidx", "phone_last4_bidx", "email_bidx"),
    "orders": ("ship_phone_bidx", "ship_phone_last4_bidx"),
}
# the encrypted columns and their VARCHAR length before
WIDENED = {
    "customers": {"phone": 20, "email": 200, "address": 300},
    "orders": {"ship_name": 100, "ship_phone": 20, "ship_address": 300},
    "notifications": {"recipient": 200},
}


# JSON documents that may quote personal data: sealed as a whole (TEXT on PostgreSQL)
SEALED_JSON = {"import_batches": "stats", "import_errors": "raw", "jobs": "error_params"}


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    for table, columns in INDEX_COLUMNS.items():
        for column in columns:
            op.add_column(table, sa.Column(column, sa.String(length=64), nullable=True))
    op.drop_index("uq_customers_phone", table_name="customers")
    op.drop_index("ix_customers_email", table_name="customers")
    op.drop_index("ix_orders_ship_phone", table_name="orders")
    op.create_index("uq_customers_phone", "customers", ["phone_bidx"], unique=True, sqlite_where=sa.text(LIVE),
                    postgresql_where=sa.text(LIVE))
    op.create_index("ix_customers_phone_last4_bidx", "customers", ["phone_last4_bidx"])
    op.create_index("ix_customers_email_bidx", "customers", ["email_bidx"])
    op.create_index("ix_orders_ship_phone_bidx", "orders", ["ship_phone_bidx"])
    op.create_index("ix_orders_ship_phone_last4_bidx", "orders", ["ship_phone_last4_bidx"])
    if _postgres():
        for table, columns in WIDENED.items():
            for column, length in columns.items():
                op.alter_column(table, column, type_=sa.Text(), existing_type=sa.String(length=length))
        for table, column in SEALED_JSON.items():
            op.alter_column(table, column, type_=sa.Text(), existing_type=sa.JSON(), postgresql_using=f"{column}::text")
    op.create_table(
        "data_keys",
        sa.Column("kid", sa.String(length=16), nullable=False),
        sa.Column("check_value", sa.String(length=64), nullable=False),
        sa.Column("index_check", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.Column("progress", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_data_keys")),
    )


def downgrade() -> None:
    bind = op.get_bind()
    sealed = {**{t: list(c) for t, c in WIDENED.items()}, "import_errors": ["value", "raw"],
              "import_batches": ["stats"], "jobs": ["error_params"]}
    for table, columns in sealed.items():
        for column in columns:
            if bind.execute(sa.text(f"SELECT 1 FROM {table} WHERE {column} LIKE 'enc:%' LIMIT 1")).first():
                raise RuntimeError(f"{table}.{column} holds encrypted values: downgrading needs a plain database "
                                   "(restore a backup taken before 0021_field_encryption)")
    op.drop_table("data_keys")
    if _postgres():
        for table, columns in WIDENED.items():
            for column, length in columns.items():
                op.alter_column(table, column, type_=sa.String(length=length), existing_type=sa.Text())
        for table, column in SEALED_JSON.items():
            op.alter_column(table, column, type_=sa.JSON(), existing_type=sa.Text(), postgresql_using=f"{column}::json")
    op.drop_index("ix_orders_ship_phone_last4_bidx", table_name="orders")
    op.drop_index("ix_orders_ship_phone_bidx", table_name="orders")
    op.drop_index("ix_customers_email_bidx", table_name="customers")
    op.drop_index("ix_customers_phone_last4_bidx", table_name="customers")
    op.drop_index("uq_customers_phone", table_name="customers")
    op.create_index("ix_orders_ship_phone", "orders", ["ship_phone"])
    op.create_index("ix_customers_email", "customers", ["email"])
    op.create_index("uq_customers_phone", "customers", ["phone"], unique=True, sqlite_where=sa.text(OLD_LIVE),
                    postgresql_where=sa.text(OLD_LIVE))
    for table, columns in INDEX_COLUMNS.items():
        for column in columns:  # plain DROP COLUMN (SQLite >= 3.35): no rebuild of tables others refer to
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
