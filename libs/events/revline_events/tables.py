"""The kernel's tables, present in every service's own database.

`event_store` is the source of truth; `outbox` queues its rows for Kafka;
`inbox` is the set of upstream event ids already applied. Services add their
projection tables to the same MetaData and create all of them in their first
alembic migration.
"""

from __future__ import annotations

from typing import ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL wants BIGINT identity.
Position = BigInteger().with_variant(Integer(), "sqlite")


class KernelTables:
    """Handles on the kernel tables of one MetaData."""

    def __init__(self, metadata: MetaData) -> None:
        self.metadata = metadata
        self.event_store = Table(
            "event_store",
            metadata,
            Column("position", Position, primary_key=True, autoincrement=True),
            Column("event_id", String(36), nullable=False, unique=True),
            Column("stream_id", String(200), nullable=False),
            Column("stream_version", Integer, nullable=False),
            Column("type", String(100), nullable=False),
            Column("schema_version", Integer, nullable=False),
            Column("account_id", String(64), nullable=False),
            Column("occurred_at", DateTime(timezone=True), nullable=False),
            Column("effective_date", Date, nullable=True),
            Column("correlation_id", String(64), nullable=False),
            Column("causation_id", String(64), nullable=True),
            Column("producer", String(40), nullable=False),
            Column("topic", String(200), nullable=False),
            Column("payload", JSON, nullable=False),
            UniqueConstraint("stream_id", "stream_version", name="uq_event_store_stream_version"),
        )
        self.outbox = Table(
            "outbox",
            metadata,
            Column("id", Position, primary_key=True, autoincrement=True),
            Column("event_id", String(36), nullable=False),
            Column("topic", String(200), nullable=False),
            Column("key", String(64), nullable=False),
            Column("sent_at", DateTime(timezone=True), nullable=True),
            # The W3C trace context of the request or handler that queued the event,
            # for the relay's producer span and the record's headers (revline_events.tracing).
            Column("traceparent", String(55), nullable=True),
            Column("tracestate", String(512), nullable=True),
            Index("ix_outbox_unsent", "sent_at", "id"),
        )
        self.inbox = Table(
            "inbox",
            metadata,
            Column("event_id", String(64), primary_key=True),
            Column("topic", String(200), nullable=False),
            Column("type", String(100), nullable=False),
            Column("outcome", String(20), nullable=False),
            Column("processed_at", DateTime(timezone=True), nullable=False),
        )
        self.idempotency_keys = Table(
            "idempotency_keys",
            metadata,
            Column("scope", String(300), primary_key=True),
            Column("request_hash", String(64), nullable=False),
            Column("status_code", Integer, nullable=False),
            Column("response_body", Text, nullable=False),
            Column("created_at", DateTime(timezone=True), nullable=False),
        )

    # Columns added to the kernel tables after services first created them, by the step
    # that adds them: a service's first migration creates the tables without them
    # (revline_service.migrations.create_kernel_tables) and a later migration of the
    # service adds them (add_kernel_columns), so old and new databases end up equal.
    ADDED_COLUMNS: ClassVar[dict[str, tuple[tuple[str, str], ...]]] = {
        "outbox_trace_context": (("outbox", "traceparent"), ("outbox", "tracestate")),
    }

    @property
    def names(self) -> tuple[str, ...]:
        """Names of the kernel tables (never dropped by a rebuild)."""
        return ("event_store", "outbox", "inbox", "idempotency_keys")
