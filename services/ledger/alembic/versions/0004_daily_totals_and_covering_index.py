"""daily totals of the journal for the reports, and a covering index for amounts due

The trial balance, ledger accounts, revenue and tie-out summed every journal
line or move dated on or before a date: a cost that grows with the invoices.
The projector now keeps the same sums per day (ledger/store/totals.py); this
creates the tables and fills them from the journal as it stands. The aging
report sums each invoice's moves: `ix_subledger_moves_due` carries the amount,
so that sum reads the index alone (it replaces `ix_subledger_moves_ref`).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BACKFILL = (
    "INSERT INTO daily_account_totals (entry_date, currency, ledger_account, debit, credit) "
    "SELECT entry_date, currency, ledger_account, SUM(debit), SUM(credit) FROM journal_lines "
    "GROUP BY entry_date, currency, ledger_account",
    "INSERT INTO daily_revenue_totals "
    "(service_month, entry_date, currency, ledger_account, debit, credit) "
    "SELECT e.service_month, l.entry_date, l.currency, l.ledger_account, SUM(l.debit), "
    "SUM(l.credit) FROM journal_lines l JOIN journal_entries e ON e.entry_id = l.entry_id "
    "WHERE l.ledger_account IN ('4000', '4100') AND e.service_month IS NOT NULL "
    "GROUP BY e.service_month, l.entry_date, l.currency, l.ledger_account",
    "INSERT INTO daily_subledger_totals (entry_date, currency, target, amount) "
    "SELECT entry_date, currency, target, SUM(amount) FROM subledger_moves "
    "GROUP BY entry_date, currency, target",
)


def upgrade() -> None:
    op.create_table(
        "daily_account_totals",
        sa.Column("entry_date", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("ledger_account", sa.String(length=4), nullable=False),
        sa.Column("debit", sa.BigInteger(), nullable=False),
        sa.Column("credit", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("entry_date", "currency", "ledger_account"),
    )
    op.create_table(
        "daily_revenue_totals",
        sa.Column("service_month", sa.Date(), nullable=False),
        sa.Column("entry_date", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("ledger_account", sa.String(length=4), nullable=False),
        sa.Column("debit", sa.BigInteger(), nullable=False),
        sa.Column("credit", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("service_month", "entry_date", "currency", "ledger_account"),
    )
    op.create_table(
        "daily_subledger_totals",
        sa.Column("entry_date", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("target", sa.String(length=20), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("entry_date", "currency", "target"),
    )
    for statement in BACKFILL:
        op.execute(statement)
    op.create_index(
        "ix_subledger_moves_due",
        "subledger_moves",
        ["target", "ref", "entry_date", "amount"],
        unique=False,
    )
    op.drop_index("ix_subledger_moves_ref", table_name="subledger_moves")


def downgrade() -> None:
    op.create_index(
        "ix_subledger_moves_ref", "subledger_moves", ["target", "ref", "entry_date"], unique=False
    )
    op.drop_index("ix_subledger_moves_due", table_name="subledger_moves")
    op.drop_table("daily_subledger_totals")
    op.drop_table("daily_revenue_totals")
    op.drop_table("daily_account_totals")
