"""customers' names may be encrypted (a shop setting): their blind index, TEXT for ciphertext

Revision ID: 0028_names_customer_name_bidx
Revises: 0028_codes_stored_messages
Create Date: 2026-12-07

The schema half of encrypting customers' names (docs/security.md, "Protecting data"): a
``name_bidx`` column (HMAC of the normalised name under the index key) with its index, so the
exact-name search works whether names are plain or ciphertext; the index on ``name`` goes (a
ciphertext index finds nothing, and no query sorts or searches by a prefix of the name). On
PostgreSQL ``name`` becomes TEXT (a ciphertext is longer than VARCHAR(100)); SQLite does not
enforce lengths.

The data half needs the keys, which a migration never sees: existing names stay plain and the
setting off; switching it on (Settings, admin) runs the conversion job, which encrypts the
names and fills the digests. Rows written after this migration get their digest on insert.

Downgrade refuses while any name is ciphertext (switch the setting off first and let its job
finish), then restores VARCHAR(100) and the old index.
"""

import sqlalchemy as sa
from alembic import op

revision = "0028_names_customer_name_bidx"
down_revision = "0028_codes_stored_messages"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("customers", sa.Column("name_bidx", sa.String(length=64), nullable=True))
    op.create_index("ix_customers_name_bidx", "customers", ["name_bidx"])
    op.drop_index("ix_customers_name", table_name="customers")
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("customers", "name", type_=sa.Text(), existing_type=sa.String(length=100),
                        existing_nullable=False)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM customers WHERE name LIKE 'enc:%' LIMIT 1")).first():
        raise RuntimeError("customers.name holds encrypted names: switch 'encrypt customer names' off "
                           "(Settings) and let its job finish before downgrading 0028_names_customer_name_bidx")
    if bind.dialect.name == "postgresql":
        op.alter_column("customers", "name", type_=sa.String(length=100), existing_type=sa.Text(),
                        existing_nullable=False)
    op.create_index("ix_customers_name", "customers", ["name"])
    op.drop_index("ix_customers_name_bidx", table_name="customers")
    op.execute("ALTER TABLE customers DROP COLUMN name_bidx")  # plain DROP COLUMN: no rebuild of a referenced table
