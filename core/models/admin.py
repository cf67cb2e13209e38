"""Rules, settings, users, audit, imports, data-quality runs, alerts, notifications, numbering."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, sparse_index
from core.models.personal import Encrypted, EncryptedJSON

# --- configuration, people, audit ------------------------------------------------------------


class Rule(Base):
    __tablename__ = "rules"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))  # review|allocation|carrier|tagging
    priority: Mapped[int] = mapped_column(Integer, default=100)
    condition: Mapped[dict[str, Any]] = mapped_column(JSON)
    action: Mapped[dict[str, Any]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_by: Mapped[str] = mapped_column(String(64))


class Setting(Base):
    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_by: Mapped[str] = mapped_column(String(64))


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class LoginAttempt(Base):
    """One sign-in attempt, for the backoff per (username, client) and per client
    (``core.services.users``). Not an audit record: rows older than the backoff window are purged."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_client_at", "client", "at"),
        Index("ix_login_attempts_username_client_at", "username", "client", "at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    username: Mapped[str] = mapped_column(String(64))
    client: Mapped[str] = mapped_column(String(64))
    success: Mapped[bool] = mapped_column(Boolean)


class AuditLog(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_entity", "entity", "entity_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ImportBatch(Base):
    __tablename__ = "import_batches"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # orders|products|stock|customers
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id"))
    file_name: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    profile: Mapped[str | None] = mapped_column(String(100))
    rows: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20))  # dry_run|rejected|imported|partial|failed
    message: Mapped[str | None] = mapped_column(Text)
    # what the attempt did: orders created/skipped, customers merged, … (core.services.imports);
    # sealed with the data key: the merges quote phones and e-mails (0021)
    stats: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON())
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(64))


class ImportError_(Base):
    __tablename__ = "import_errors"
    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batches.id"), index=True)
    row: Mapped[int] = mapped_column(Integer)
    field: Mapped[str | None] = mapped_column(String(64))
    # the rejected value and source row may be personal data: sealed with the data key (0021)
    value: Mapped[str | None] = mapped_column(Encrypted())
    message: Mapped[str] = mapped_column(Text)
    raw: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON())


class DQRun(Base):
    __tablename__ = "dq_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    suite: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(64))
    success: Mapped[bool] = mapped_column(Boolean)
    stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    results: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_by: Mapped[str] = mapped_column(String(64))


class Alert(Base):
    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    severity: Mapped[str] = mapped_column(String(8), default="warning")
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)  # English, for logs and the CLI
    # the message as codes the pages translate (core.errors.Message; migration 0028; NULL on older rows)
    message_codes: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # set when the condition behind a scanned alert has cleared (migration 0003)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class Notification(Base):
    """Outbox of customer-visible messages, written in the transaction of the change; the
    worker sends the e-mails (core.services.outbox_delivery)."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_delivery", "channel", "status", "next_attempt_at"),
                      sparse_index("ix_notifications_event_id", "event_id"))  # webhook rows only (0030)
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    channel: Mapped[str] = mapped_column(String(16))  # sms|email|webhook
    recipient: Mapped[str | None] = mapped_column(Encrypted(200))  # a phone or e-mail: encrypted at rest
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    event: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|sent|failed
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # delivery by the worker (migration 0014): tries so far, when the next may start (also the
    # lease of the worker sending it), why a row waits (a message code) and the server's last answer
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    status_reason: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    # webhook rows (migration 0017): the subscription it goes to and the event's stable id, the
    # same in every subscription's copy and in a replay, so a receiver can de-duplicate
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("webhook_subscriptions.id"))
    event_id: Mapped[str | None] = mapped_column(String(36))
    response_code: Mapped[int | None] = mapped_column(Integer)  # a webhook receiver's last HTTP status


class Sequence(Base):
    __tablename__ = "sequences"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class ImportProfile(Base):
    """A mapping profile saved from the Import page (the shipped ones are data/profiles/*.yaml).

    ``definition`` holds the same structure as a profile YAML file, so a saved profile can be
    downloaded as a file and a file uploaded as a profile (core.importing.profile).
    """

    __tablename__ = "import_profiles"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # orders|products|stock|customers
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_by: Mapped[str] = mapped_column(String(64))


# --- the open API ------------------------------------------------------------------------------


class ApiToken(Base):
    """An integration's bearer token (``core.services.api_tokens``). Only the SHA-256 of the
    token is stored; ``prefix`` (the first characters) lets a person tell tokens apart."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(16))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class ApiIdempotencyKey(Base):
    """The answer given to one ``Idempotency-Key`` of one token, replayed on a retry."""

    __tablename__ = "api_idempotency_keys"
    __table_args__ = (UniqueConstraint("token_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id"))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class WebhookSubscription(Base):
    """An integration's request to be told of events (``core.events``): each matching event is
    queued in the outbox for its ``url`` and signed with its ``secret`` when delivered. With a
    ``channel_id`` only events of that sales channel's orders (shipment write-back to the
    platform the order came from); ``events`` lists event names, ``["*"]`` for all."""

    __tablename__ = "webhook_subscriptions"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(128))
    events: Mapped[list[str]] = mapped_column(JSON)
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id"))
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(64))
