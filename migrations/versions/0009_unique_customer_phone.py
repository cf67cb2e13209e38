"""one customer per normalised phone: unique index uq_customers_phone (partial: phone set,
profile not merged into another)

Revision ID: 0009_customer_phone
Revises: 0009m
Create Date: 2026-12-07

Two first orders for one new phone arriving together used to create two customers (each
looked the phone up before the other had inserted it). The unique index makes that
impossible and lets ``find_or_create`` upsert. A database that already holds customers
sharing a phone is not changed: the upgrade stops and lists them, because deciding which
profile survives (orders, channel accounts, tags) is a person's call — merge each group into
one customer (a merged profile keeps its phone but no longer counts), then run the upgrade
(``oms init``) again. Plain ``CREATE/DROP INDEX``, no batch rebuild of ``customers`` (which
orders refer to).
"""

import sqlalchemy as sa
from alembic import op

from core.errors import Refused

revision = "0009_customer_phone"
down_revision = "0009m"  # merged profiles (customers.merged_into_id) keep their phone
branch_labels = None
depends_on = None

SHOWN = 20  # duplicate phones listed in the message; the count says how many there are

def upgrade() -> None:
    dupes = op.get_bind().execute(sa.text(
        "SELECT phone, COUNT(*) AS n, MIN(code) AS first_code, MAX(code) AS last_code FROM customers "
        "WHERE phone IS NOT NULL AND merged_into_id IS NULL GROUP BY phone HAVING COUNT(*) > 1 ORDER BY phone")).all()
    if dupes:
        listed = "; ".join(f"{r.phone}: {r.n} customers ({r.first_code} … {r.last_code})" for r in dupes[:SHOWN])
        more = f"; and {len(dupes) - SHOWN} more phones" if len(dupes) > SHOWN else ""
        # A refusal, not a crash: `oms init` prints it and exits 2; the upgrade changed nothing.
        raise Refused("cc.duplicate_phones", count=len(dupes), phones=listed + more)
    live = sa.text("phone IS NOT NULL AND merged_into_id IS NULL")
    op.drop_index("ix_customers_phone", table_name="customers")
    op.create_index("uq_customers_phone", "customers", ["phone"], unique=True, sqlite_where=live,
                    postgresql_where=live)


def downgrade() -> None:
    op.drop_index("uq_customers_phone", table_name="customers")
    op.create_index("ix_customers_phone", "customers", ["phone"], unique=False)
