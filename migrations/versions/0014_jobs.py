"""background jobs: the jobs table (kind, parameters, who, status, progress, result or error,
heartbeat, cancel flag), job_files (uploads a job reads) and the outbox's delivery columns
(attempts, next attempt, status reason, last error)

Revision ID: 0014_jobs
Revises: 0013_one_history
Create Date: 2026-12-07

Long work (forecast and replenishment runs, large imports, summary refreshes, e-mail delivery)
moves to a huey worker; the queue carries only a job's id and this table holds what the page
shows (docs/jobs.md). Existing notifications keep their status: pending e-mails are sent by the
first worker that runs with ``OMS_SMTP_HOST`` set.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_jobs"
down_revision = "0013_one_history"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_role", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("message", sa.String(length=64), nullable=True),
        sa.Column("message_params", sa.JSON(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("error_params", sa.JSON(), nullable=True),
        sa.Column("error_detail", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("cancelled_by", sa.String(length=64), nullable=True),
        sa.Column("worker", sa.String(length=120), nullable=True),
        sa.CheckConstraint("status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')",
                           name=op.f("ck_jobs_status_known")),
        sa.CheckConstraint("done >= 0 AND total >= 0 AND attempts >= 0", name=op.f("ck_jobs_counts_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    op.create_index("ix_jobs_kind_status", "jobs", ["kind", "status"], unique=False)
    op.create_table(
        "job_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_job_files_job_id_jobs"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_files")),
    )
    op.create_index(op.f("ix_job_files_job_id"), "job_files", ["job_id"], unique=False)
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("next_attempt_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("status_reason", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch_op.create_index("ix_notifications_delivery", ["channel", "status", "next_attempt_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_delivery")
        batch_op.drop_column("last_error")
        batch_op.drop_column("status_reason")
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("attempts")
    op.drop_index(op.f("ix_job_files_job_id"), table_name="job_files")
    op.drop_table("job_files")
    op.drop_index("ix_jobs_kind_status", table_name="jobs")
    op.drop_table("jobs")
