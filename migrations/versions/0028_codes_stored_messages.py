"""codes_stored_messages: alerts and order-timeline notes keep their message codes (issue 15 item 1)

- ``alerts.message_codes`` and ``order_events.note_codes``: a JSON list of ``{"key", "params"}``
  (core.errors.Message) that the pages translate into the reader's language. The plain
  ``message`` / ``note`` columns keep the English text for logs, the CLI and older readers.
- Rows written before this revision have no codes: they keep showing their plain text, which
  is what they always showed (nothing is rewritten; English cannot be turned back into codes
  reliably, which is why the codes are now stored).

Revision ID: 0028_codes_stored_messages
Revises: 0028_pg_counters
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0028_codes_stored_messages"
down_revision = "0028_pg_counters"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if "message_codes" in {c["name"] for c in sa.inspect(op.get_bind()).get_columns("alerts")}:
        return  # a version table rewound past this revision
    op.add_column("alerts", sa.Column("message_codes", sa.JSON(), nullable=True))
    op.add_column("order_events", sa.Column("note_codes", sa.JSON(), nullable=True))


def downgrade() -> None:
    # plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35), as 0027_fin_cogs_export does
    op.drop_column("order_events", "note_codes")
    op.drop_column("alerts", "message_codes")
