"""The billing service's database: kernel tables, projections and bill-run work rows.

Every projection is a fold of billing's own events (store/projector.py):
schedules (`billing_accounts`, `subscriptions`, `subscription_terms`,
`quantity_changes`, `billing_orders`), documents (`invoices`, `credit_notes`,
`billed_lines`, `invoice_settlements`), `bill_runs` and `document_numbers`.
`bill_run_batches` and `bill_run_accounts` are work rows, not projections:
they say which accounts a run still has to bill, so a crashed run resumes.
"""

from __future__ import annotations

from revline_events.tables import KernelTables
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()
kernel = KernelTables(metadata)

ID = 200  # ids of other services are opaque: room for any of them

# One row per account billing knows: the row a bill run locks, and its next bill date.
billing_accounts = Table(
    "billing_accounts",
    metadata,
    Column("account_id", String(64), primary_key=True),
    Column("next_bill_date", Date, nullable=True),
    Column("orders_scheduled", Integer, nullable=False),
)
Index("ix_billing_accounts_next_bill_date", billing_accounts.c.next_bill_date)

billing_orders = Table(
    "billing_orders",
    metadata,
    Column("order_id", String(ID), primary_key=True),
    Column("contract_id", String(ID), nullable=False),
    Column("account_id", String(64), nullable=False, index=True),
    Column("kind", String(20), nullable=False),
    Column("effective_date", Date, nullable=False),
    Column("held", Boolean, nullable=False),
    Column("hold_reason", Text, nullable=True),
    Column("next_billing_date", Date, nullable=True),
    Column("source_event_id", String(64), nullable=False),
    Column("stream_version", Integer, nullable=False),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("subscription_id", String(ID), primary_key=True),
    Column("account_id", String(64), nullable=False, index=True),
    Column("contract_id", String(ID), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("sku", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("charge_type", String(20), nullable=False),
    Column("billing_period", String(20), nullable=True),
    Column("unit_price", BigInteger, nullable=False),
    Column("bill_cycle_day", Integer, nullable=False),
    Column("billing_timing", String(20), nullable=False),
    Column("next_bill_date", Date, nullable=True),
)

subscription_terms = Table(
    "subscription_terms",
    metadata,
    Column("subscription_id", String(ID), primary_key=True),
    Column("start_date", Date, primary_key=True),
    Column("end_date", Date, nullable=False),
    Column("order_id", String(ID), nullable=False),
)

quantity_changes = Table(
    "quantity_changes",
    metadata,
    Column("subscription_id", String(ID), primary_key=True),
    Column("sequence", Integer, primary_key=True),  # the account's order count at receipt
    Column("effective_date", Date, nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("order_id", String(ID), nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("termination", Boolean, nullable=False),
    Column("credit_unused", Boolean, nullable=False),
)

bill_runs = Table(
    "bill_runs",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("as_of", Date, nullable=False),
    Column("account_id", String(64), nullable=True),
    Column("status", String(20), nullable=False),
    Column("invoice_count", Integer, nullable=False),
    Column("credit_note_count", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("completed_at", DateTime(timezone=True), nullable=True),
    Column("stream_version", Integer, nullable=False),
)

invoices = Table(
    "invoices",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("number", String(20), nullable=False, unique=True),
    Column("bill_run_id", String(40), nullable=False, index=True),
    Column("account_id", String(64), nullable=False, index=True),
    Column("currency", String(3), nullable=False),
    Column("invoice_date", Date, nullable=False),
    Column("due_date", Date, nullable=False),
    Column("subtotal", BigInteger, nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("deferred_total", BigInteger, nullable=False),
    Column("one_time_total", BigInteger, nullable=False),
    Column("amount_paid", BigInteger, nullable=False),
    Column("amount_due", BigInteger, nullable=False),
    Column("status", String(20), nullable=False),
    Column("voided_on", Date, nullable=True),
    Column("void_reason", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("stream_version", Integer, nullable=False),
)

credit_notes = Table(
    "credit_notes",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("number", String(20), nullable=False, unique=True),
    Column("bill_run_id", String(40), nullable=False, index=True),
    Column("account_id", String(64), nullable=False, index=True),
    Column("currency", String(3), nullable=False),
    Column("issue_date", Date, nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("deferred_total", BigInteger, nullable=False),
    Column("one_time_total", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Lines of invoices and credit notes alike; what planning reads back as "billed".
billed_lines = Table(
    "billed_lines",
    metadata,
    Column("document_id", String(40), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("document_kind", String(20), nullable=False),
    Column("subscription_id", String(ID), nullable=False, index=True),
    Column("contract_id", String(ID), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("sku", String(64), nullable=False),
    Column("description", Text, nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),  # inclusive
    Column("quantity", BigInteger, nullable=False),
    Column("unit_price", BigInteger, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("span_start", Date, nullable=False),
    Column("nominal_start", Date, nullable=False),
    Column("nominal_end", Date, nullable=False),  # inclusive
    Column("days", Integer, nullable=False),
    Column("nominal_days", Integer, nullable=False),
    Column("quantity_before", BigInteger, nullable=True),
    Column("quantity_after", BigInteger, nullable=True),
    Column("order_id", String(ID), nullable=False),
    Column("order_event_ids", Text, nullable=False),  # JSON list
    Column("formula", Text, nullable=False),
)

invoice_settlements = Table(
    "invoice_settlements",
    metadata,
    Column("invoice_id", String(40), primary_key=True),
    Column("source_event_id", String(64), primary_key=True),
    Column("amount", BigInteger, nullable=False),
    Column("source", String(20), nullable=False),
    Column("applied_on", Date, nullable=False),
)

# The last number given per document kind ("invoice", "credit_note"): gapless because
# it moves in the same transaction as the document that takes the number.
document_numbers = Table(
    "document_numbers",
    metadata,
    Column("kind", String(20), primary_key=True),
    Column("last_number", Integer, nullable=False),
)

bill_run_batches = Table(
    "bill_run_batches",
    metadata,
    Column("bill_run_id", String(40), primary_key=True),
    Column("batch_no", Integer, primary_key=True),
    Column("done", Boolean, nullable=False),
)

bill_run_accounts = Table(
    "bill_run_accounts",
    metadata,
    Column("bill_run_id", String(40), primary_key=True),
    Column("account_id", String(64), primary_key=True),
    Column("batch_no", Integer, nullable=False),
)
# A batch's accounts in account order, read from the index alone (no scan of the run).
Index(
    "ix_bill_run_accounts_batch_account",
    bill_run_accounts.c.bill_run_id,
    bill_run_accounts.c.batch_no,
    bill_run_accounts.c.account_id,
)

PROJECTIONS = [
    billing_accounts,
    billing_orders,
    subscriptions,
    subscription_terms,
    quantity_changes,
    bill_runs,
    invoices,
    credit_notes,
    billed_lines,
    invoice_settlements,
    document_numbers,
]
