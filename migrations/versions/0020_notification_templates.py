"""carriers: the shop's carriers with the tracking page a shipment e-mail links to

Revision ID: 0020_notification_templates
Revises: 0026_order_holds
Create Date: 2026-12-07

Orders keep the carrier's name as text (imports and carriers' CSVs write it); a ``carriers``
row with that name adds the tracking page (``tracking_url`` with a ``{tracking_no}``
placeholder) that the customer's shipment message links to (docs/notifications.md).
"""

import sqlalchemy as sa
from alembic import op

revision = "0020_notification_templates"
down_revision = "0026_order_holds"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("carriers"):  # a database rewound past this revision (tests do that)
        return
    op.create_table(
        "carriers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("tracking_url", sa.String(length=300), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carriers")),
        sa.UniqueConstraint("code", name=op.f("uq_carriers_code")),
        sa.UniqueConstraint("name", name=op.f("uq_carriers_name")),
    )


def downgrade() -> None:
    op.drop_table("carriers")
