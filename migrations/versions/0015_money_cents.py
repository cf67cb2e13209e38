"""money as whole cents (BIGINT) on every backend; order_lines.discount_share; summaries in cents

Revision ID: 0015_money_cents
Revises: 0014_jobs
Create Date: 2026-12-08

Why: SQLite has no exact decimal type — a NUMERIC(12, 2) value is stored as a binary float, so
raw sums drifted (759708.870000003) — and the summary tables spread order discounts and
returns over lines with four decimals, so raw and summary figures disagreed by cents. Money is
now an integer number of cents on SQLite *and* PostgreSQL (one meaning for the same raw SQL on
both; docs/money.md), each line stores its share of the order discount in whole cents, and
the summary tables hold whole cents.

What it does:
* every money column (NUMERIC(12, 2)) becomes BIGINT holding ``round(value × 100)``;
* ``order_lines.discount_share`` is added and filled for every order with a discount by the
  split order entry uses (``core.domain.totals``: largest remainder, ties to the lower line);
* the summary tables (NUMERIC(16, 4), derived data only) are emptied and become BIGINT; with
  their ``agg_state`` row gone the next refresh rebuilds them in full.

On SQLite the column types are changed in the schema text (SQLite's documented procedure, as in
0012: a batch rebuild would drop tables that others refer to, with foreign keys on) and the
values are rewritten by an UPDATE; CHECK constraints, indexes and triggers stay as they are.
A stored value that is a whole number of cents converts exactly (``round`` of ``x × 100`` is
exact for them); nothing in this app ever stored fractions of a cent.

The downgrade turns cents back into NUMERIC(12, 2) amounts (exact on PostgreSQL; binary
floats again on SQLite), drops ``discount_share`` and empties the summaries again.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

from core.domain.totals import discount_shares_cents

revision = "0015_money_cents"
down_revision = "0014_jobs"
branch_labels = None
depends_on = None

MONEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "orders": ("subtotal", "discount", "shipping_fee", "total"),
    "order_lines": ("unit_price", "discount", "line_total"),
    "products": ("unit_price", "unit_cost"),
    "warehouses": ("ship_cost",),
    "purchase_orders": ("total",),
    "po_lines": ("unit_cost",),
    "replenishment_suggestions": ("unit_cost",),
    "returns": ("refund_amount", "shipping_refund", "refund_request_amount"),
    "return_lines": ("refund_amount",),
    "refunds": ("amount", "computed_amount"),
    "stock_adjustments": ("value",),
}
SUMMARY_COLUMNS: dict[str, tuple[str, ...]] = {
    "agg_sales_daily": ("sales", "returned_sales", "cost", "uncosted_sales"),
    "agg_sales_hourly": ("net_sales",),
    "agg_product_daily": ("sales", "returned_sales", "cost"),
    "agg_customers": ("net_sales", "cost", "uncosted_sales"),
    "agg_customer_months": ("net_sales", "cost"),
    "agg_cohorts": ("net_sales", "cost"),
    "agg_customer_scores": ("net_sales", "cost"),
    "agg_customer_quintiles": ("net_sales",),
}
OLD_MONEY, OLD_SUMMARY = "NUMERIC(12, 2)", "NUMERIC(16, 4)"
CHUNK = 20_000  # orders per backfill step


def _dialect() -> str:
    return op.get_bind().dialect.name


# --- SQLite: change declared types in the schema text ------------------------------------------


def _sqlite_retype(table: str, columns: tuple[str, ...], old: str, new: str) -> None:
    """Rewrite ``column <old>`` as ``column <new>`` in ``table``'s CREATE TABLE text (see 0012 for
    the procedure); stored values keep their format until they are rewritten."""
    bind = op.get_bind()
    sql = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                               (table,)).scalar_one()
    pattern = old.replace("(", r"\(\s*").replace(")", r"\s*\)").replace(", ", r"\s*,\s*")
    new_sql = sql
    for column in columns:
        new_sql, found = re.subn(rf"(\b{column}\s+){pattern}", lambda m: m.group(1) + new, new_sql, count=1,
                                 flags=re.IGNORECASE)
        if not found:
            raise RuntimeError(f"{table}.{column} is not {old}")
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?", (new_sql, table))
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def _bigint_columns(table: str) -> set[str]:
    """Columns of ``table`` that are BIGINT already. A money column is converted only when it is
    not: a second run (a database whose version table was rewound past this revision) must never
    multiply amounts by 100 again."""
    bind = op.get_bind()
    if _dialect() == "sqlite":
        return {row[1] for row in bind.exec_driver_sql(f"PRAGMA table_info({table})") if row[2].upper() == "BIGINT"}
    return set(bind.execute(sa.text("SELECT column_name FROM information_schema.columns WHERE table_schema = "
                                    "current_schema() AND table_name = :t AND data_type = 'bigint'"),
                            {"t": table}).scalars())


def _to_cents(table: str, columns: tuple[str, ...]) -> None:
    columns = tuple(c for c in columns if c not in _bigint_columns(table))
    if not columns:
        return
    if _dialect() == "sqlite":
        _sqlite_retype(table, columns, OLD_MONEY, "BIGINT")
        op.execute(f"UPDATE {table} SET " + ", ".join(f"{c} = CAST(round({c} * 100) AS INTEGER)" for c in columns))
    else:
        op.execute(f"ALTER TABLE {table} " + ", ".join(
            f"ALTER COLUMN {c} TYPE BIGINT USING round({c} * 100)::bigint" for c in columns))


def _from_cents(table: str, columns: tuple[str, ...]) -> None:
    columns = tuple(c for c in columns if c in _bigint_columns(table))
    if not columns:
        return
    if _dialect() == "sqlite":
        _sqlite_retype(table, columns, "BIGINT", OLD_MONEY)
        op.execute(f"UPDATE {table} SET " + ", ".join(f"{c} = {c} / 100.0" for c in columns))
    else:
        op.execute(f"ALTER TABLE {table} " + ", ".join(
            f"ALTER COLUMN {c} TYPE {OLD_MONEY} USING ({c} / 100.0)" for c in columns))


def _empty_summaries() -> None:
    for table in (*SUMMARY_COLUMNS, "agg_state"):
        op.execute(f"DELETE FROM {table}")


def _retype_summaries(old: str, new: str) -> None:
    for table, columns in SUMMARY_COLUMNS.items():
        in_cents = set(columns) <= _bigint_columns(table)
        if in_cents == (new == "BIGINT"):
            continue  # already of the new type (see _bigint_columns)
        if _dialect() == "sqlite":
            _sqlite_retype(table, columns, old, new)
        else:
            op.execute(f"ALTER TABLE {table} " + ", ".join(f"ALTER COLUMN {c} TYPE {new}" for c in columns))


# --- the discount split of existing orders -----------------------------------------------------


def _backfill_discount_shares() -> None:
    """Each line's share of its order's discount, for every order with a discount, in chunks of
    orders (bounded memory); only non-zero shares are written."""
    bind = op.get_bind()
    last = 0
    while True:
        orders = bind.execute(sa.text(
            "SELECT id, discount FROM orders WHERE discount > 0 AND id > :last ORDER BY id LIMIT :n"),
            {"last": last, "n": CHUNK}).all()
        if not orders:
            return
        last = orders[-1][0]
        position = {oid: i for i, (oid, _) in enumerate(orders)}
        lines = bind.execute(sa.text(
            "SELECT l.id, l.order_id, l.line_total FROM order_lines l JOIN orders o ON o.id = l.order_id "
            "WHERE o.discount > 0 AND o.id BETWEEN :first AND :last ORDER BY l.order_id, l.line_no, l.id"),
            {"first": orders[0][0], "last": last}).all()
        if not lines:
            continue
        shares = discount_shares_cents([position[r[1]] for r in lines], [int(r[2]) for r in lines],
                                       [int(d) for _, d in orders])
        updates = [{"id": r[0], "share": int(s)} for r, s in zip(lines, shares.tolist(), strict=True) if s]
        if updates:
            bind.execute(sa.text("UPDATE order_lines SET discount_share = :share WHERE id = :id"), updates)


def upgrade() -> None:
    for table, columns in MONEY_COLUMNS.items():
        _to_cents(table, columns)
    if "discount_share" not in _bigint_columns("order_lines"):
        op.add_column("order_lines", sa.Column("discount_share", sa.BigInteger(), nullable=False, server_default="0"))
    _backfill_discount_shares()
    _empty_summaries()
    _retype_summaries(OLD_SUMMARY, "BIGINT")


def downgrade() -> None:
    _empty_summaries()
    _retype_summaries("BIGINT", OLD_SUMMARY)
    if _dialect() == "sqlite":  # a batch rebuild would drop a table others refer to (see above)
        op.execute("ALTER TABLE order_lines DROP COLUMN discount_share")
    else:
        op.drop_column("order_lines", "discount_share")
    for table, columns in MONEY_COLUMNS.items():
        _from_cents(table, columns)

