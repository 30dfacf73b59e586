"""Index a bill-run batch's accounts in account order, so a batch reads them from the
index instead of scanning the run (quadratic over a run of many batches).

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bill_run_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bill_run_accounts_batch"))
        batch_op.create_index(
            "ix_bill_run_accounts_batch_account",
            ["bill_run_id", "batch_no", "account_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("bill_run_accounts", schema=None) as batch_op:
        batch_op.drop_index("ix_bill_run_accounts_batch_account")
        batch_op.create_index(
            batch_op.f("ix_bill_run_accounts_batch"), ["bill_run_id", "batch_no"], unique=False
        )
