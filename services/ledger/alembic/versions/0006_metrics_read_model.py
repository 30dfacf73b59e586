"""the RevOps metrics' read model: facts of quote and contract events

The ledger now consumes quote.events and contract.events and notes what the
metrics need of each (ContractFactsNoted, QuoteFactsNoted); these tables hold
those facts, each with the upstream event's occurred_at as recorded_at.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "metrics_lines",
        sa.Column("line_id", sa.String(length=250), nullable=False),
        sa.Column("subscription_id", sa.String(length=200), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("contract_id", sa.String(length=200), nullable=False),
        sa.Column("billing_period", sa.String(length=10), nullable=False),
        sa.Column("unit_price", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("line_id"),
    )
    op.create_index("ix_metrics_lines_currency", "metrics_lines", ["currency"])
    op.create_index(
        "ix_metrics_lines_subscription", "metrics_lines", ["subscription_id", "start_date"]
    )
    op.create_table(
        "metrics_quantity_changes",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("line_id", sa.String(length=250), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", "line_id"),
    )
    op.create_index(
        "ix_metrics_quantity_changes_currency", "metrics_quantity_changes", ["currency"]
    )
    op.create_table(
        "metrics_terms",
        sa.Column("contract_id", sa.String(length=200), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("quote_id", sa.String(length=200), nullable=True),
        sa.Column("renews", sa.String(length=200), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("contract_id", "start_date"),
    )
    op.create_index("ix_metrics_terms_currency", "metrics_terms", ["currency"])
    op.create_table(
        "metrics_contract_ends",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("contract_id", sa.String(length=200), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_index("ix_metrics_contract_ends_currency", "metrics_contract_ends", ["currency"])
    op.create_table(
        "metrics_quote_steps",
        sa.Column("quote_id", sa.String(length=200), nullable=False),
        sa.Column("step", sa.String(length=10), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("step_date", sa.Date(), nullable=False),
        sa.Column("total_contract_value", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("quote_id", "step"),
    )
    op.create_index("ix_metrics_quote_steps_currency", "metrics_quote_steps", ["currency"])
    op.create_table(
        "metrics_quote_lines",
        sa.Column("quote_id", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("billing_period", sa.String(length=10), nullable=False),
        sa.Column("unit_price", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("quote_id", "position"),
    )
    op.create_index("ix_metrics_quote_lines_currency", "metrics_quote_lines", ["currency"])


def downgrade() -> None:
    for table in (
        "metrics_quote_lines",
        "metrics_quote_steps",
        "metrics_contract_ends",
        "metrics_terms",
        "metrics_quantity_changes",
        "metrics_lines",
    ):
        op.drop_table(table)
