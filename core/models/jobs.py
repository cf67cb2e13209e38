"""Background jobs: what the worker is asked to do and how far it got (docs/jobs.md).

The queue (huey, in Redis or an SQLite file) only carries a job's id; everything a page shows —
status, progress, result, the reason it failed — lives in this row, written by the worker in
short transactions, so a page survives a reload or a closed tab and a job survives the
queue being flushed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base
from core.models.personal import EncryptedBytes, EncryptedJSON

JOB_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in JOB_STATUSES)})", name="status_known"),
        CheckConstraint("done >= 0 AND total >= 0 AND attempts >= 0", name="counts_positive"),
        Index("ix_jobs_kind_status", "kind", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # forecast.run | replenish.suggest | import.run | summary.refresh
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    created_role: Mapped[str] = mapped_column(String(16))  # the role the job runs as (checked at enqueue)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # claims by a worker (a retry adds one)
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(String(64))  # progress message code
    message_params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error_code: Mapped[str | None] = mapped_column(String(64))  # message code of the failure
    # a refusal's parameters may quote a rejected value (a phone): sealed with the data key (0021)
    error_params: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON())
    error_detail: Mapped[str | None] = mapped_column(Text)  # English text / traceback for the log
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    cancelled_by: Mapped[str | None] = mapped_column(String(64))
    worker: Mapped[str | None] = mapped_column(String(120))  # host:pid of the process running it


class JobFile(Base):
    """An uploaded file a job reads (a large import): in the database, so a worker on another
    machine reads it too. Removed when the job succeeds; kept for a retry otherwise."""

    __tablename__ = "job_files"
    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    data: Mapped[bytes] = mapped_column(EncryptedBytes())  # sealed with the data key: imports hold personal data
