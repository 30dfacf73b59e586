"""The outbox keeps the W3C trace context of the write that queued each event, so the
relay can publish it in the record's headers (revline_events.tracing).

Revision ID: 0002
Revises: 0001
"""

from alembic import op
from revline_service.migrations import add_kernel_columns, drop_kernel_columns

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_kernel_columns(op, "outbox_trace_context")


def downgrade() -> None:
    drop_kernel_columns(op, "outbox_trace_context")
