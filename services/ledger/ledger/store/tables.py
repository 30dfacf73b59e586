"""The ledger service's database: kernel tables plus the journal and its indexes.

The books (one per customer account and currency) live in the event store:
each is folded from its own stream (store/books.py). The tables here are a
projection of the ledger's own events, append only:

- `journal_entries`, `journal_lines` and `subledger_moves` of JournalEntryPosted:
  one row per entry, per ledger account in it, per sub-ledger move. Reports are
  SQL aggregates over the lines and moves, as of a date (indexed by date).
- `ledger_invoices` and `ledger_credit_notes` of InvoiceBooked / CreditNoteBooked:
  the documents' fixed figures (due date and number for aging and receivables).
- `ledger_payments` of PaymentReceived, `ledger_applications` of
  InvoiceAmountApplied: what each payment paid; `ledger_payment_reversals` of
  PaymentReversed and `ledger_write_offs` of InvoiceWrittenOff.
- `daily_account_totals`, `daily_revenue_totals` and `daily_subledger_totals`:
  the journal's lines and moves summed per day (store/totals.py), kept by the
  projector as it inserts them. The reports over every account sum these
  (rows grow with the days, not the invoices); they are derived sums, not the
  journal, so the projector adds to them.
- `metrics_*`: the RevOps metrics' facts (ledger/metrics/history.py) of the
  ledger's ContractFactsNoted and QuoteFactsNoted, which it records for each
  quote and contract event it takes in (store/metrics.py loads them as a History).
- `journal_lock`: one row once any entry exists. The database refuses every
  UPDATE of the journal, and a DELETE while the lock row stands (triggers of
  migration 0001); a rebuild empties the lock first, then the journal.
"""

from __future__ import annotations

from revline_events.tables import KernelTables
from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
)

metadata = MetaData()
kernel = KernelTables(metadata)

ledger_invoices = Table(
    "ledger_invoices",
    metadata,
    Column("invoice_id", String(200), primary_key=True),
    Column("number", String(64), nullable=False),
    Column("account_id", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("invoice_date", Date, nullable=False),
    Column("due_date", Date, nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("event_id", String(64), nullable=False),
    Index("ix_ledger_invoices_account", "account_id", "currency", "due_date", "number"),
)

ledger_credit_notes = Table(
    "ledger_credit_notes",
    metadata,
    Column("credit_note_id", String(200), primary_key=True),
    Column("number", String(64), nullable=False),
    Column("account_id", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("issue_date", Date, nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("event_id", String(64), nullable=False),
    Index("ix_ledger_credit_notes_account", "account_id", "currency", "issue_date"),
)

journal_entries = Table(
    "journal_entries",
    metadata,
    # Time-sortable (the kernel's ids): (entry_date, entry_id) is posting order within a date.
    Column("entry_id", String(40), primary_key=True),
    Column("entry_date", Date, nullable=False),
    Column("account_id", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("concerns_kind", String(20), nullable=False),
    Column("concerns_id", String(200), nullable=False),
    Column("concerns_line_no", Integer, nullable=True),
    Column("service_month", Date, nullable=True),
    Column("event_id", String(64), nullable=False, unique=True),  # the JournalEntryPosted
    Column("source_event_id", String(64), nullable=False),  # what caused it upstream
    Index("ix_journal_entries_date", "entry_date", "entry_id"),
    Index("ix_journal_entries_account", "account_id", "entry_date", "entry_id"),
    Index("ix_journal_entries_concerns", "concerns_id"),
)

journal_lines = Table(
    "journal_lines",
    metadata,
    Column("entry_id", String(40), ForeignKey("journal_entries.entry_id"), primary_key=True),
    Column("ledger_account", String(4), primary_key=True),
    Column("entry_date", Date, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("debit", BigInteger, nullable=False),
    Column("credit", BigInteger, nullable=False),
    # The trial balance and balances as of a date read only this index.
    Index(
        "ix_journal_lines_balance", "entry_date", "currency", "ledger_account", "debit", "credit"
    ),
)

subledger_moves = Table(
    "subledger_moves",
    metadata,
    Column("entry_id", String(40), ForeignKey("journal_entries.entry_id"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("target", String(20), nullable=False),
    Column("ref", String(250), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("entry_date", Date, nullable=False),
    Column("account_id", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    # Amounts due per invoice as of a date (aging) read only this index.
    Index("ix_subledger_moves_due", "target", "ref", "entry_date", "amount"),
    Index("ix_subledger_moves_account", "account_id", "currency", "entry_date"),
)

# The journal summed per day (store/totals.py): balances as of a date add up these rows.
daily_account_totals = Table(
    "daily_account_totals",
    metadata,
    Column("entry_date", Date, primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("ledger_account", String(4), primary_key=True),
    Column("debit", BigInteger, nullable=False),
    Column("credit", BigInteger, nullable=False),
)

# The revenue accounts' lines (4000, 4100) of entries with a service month, per day.
daily_revenue_totals = Table(
    "daily_revenue_totals",
    metadata,
    Column("service_month", Date, primary_key=True),
    Column("entry_date", Date, primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("ledger_account", String(4), primary_key=True),
    Column("debit", BigInteger, nullable=False),
    Column("credit", BigInteger, nullable=False),
)

# The sub-ledger moves per day: open amounts due (`invoice`) and credit lots (`credit_lot`).
daily_subledger_totals = Table(
    "daily_subledger_totals",
    metadata,
    Column("entry_date", Date, primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("target", String(20), primary_key=True),
    Column("amount", BigInteger, nullable=False),
)

ledger_payments = Table(
    "ledger_payments",
    metadata,
    Column("payment_id", String(40), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("received_on", Date, nullable=False),
    Column("reference", String(200), nullable=False),
    Column("invoice_id", String(200), nullable=True),
    Column("event_id", String(64), nullable=False),
    Index("ix_ledger_payments_account", "account_id", "payment_id"),
)

# Money applied to invoices (InvoiceAmountApplied): a payment's cash, credit from a
# payment's or a credit note's lot (source_id names the payment or credit note).
ledger_applications = Table(
    "ledger_applications",
    metadata,
    Column("application_id", String(40), primary_key=True),
    Column("invoice_id", String(200), nullable=False),
    Column("account_id", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("source", String(20), nullable=False),
    Column("source_id", String(200), nullable=False),
    Column("applied_on", Date, nullable=False),
    Column("event_id", String(64), nullable=False),
    Index("ix_ledger_applications_source", "source_id", "application_id"),
    Index("ix_ledger_applications_invoice", "invoice_id", "application_id"),
)

# A reversed payment (PaymentReversed): its status is `reversed` from then on.
ledger_payment_reversals = Table(
    "ledger_payment_reversals",
    metadata,
    Column("payment_id", String(40), primary_key=True),
    Column("reversed_on", Date, nullable=False),
    Column("reason", String(500), nullable=False),
    Column("event_id", String(64), nullable=False),
)

# An invoice written off as uncollectible (InvoiceWrittenOff) and the amount written off.
ledger_write_offs = Table(
    "ledger_write_offs",
    metadata,
    Column("invoice_id", String(200), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("written_off_on", Date, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("reason", String(500), nullable=False),
    Column("event_id", String(64), nullable=False),
)

# --- RevOps metrics (ledger/metrics): the facts of ContractFactsNoted and QuoteFactsNoted ---
# Each row keeps `recorded_at`, the upstream event's occurred_at (what `known_at` filters),
# and is keyed by what the upstream event fixed, so a replay writes the same rows.

metrics_lines = Table(
    "metrics_lines",
    metadata,
    Column("line_id", String(250), primary_key=True),
    Column("subscription_id", String(200), nullable=False),
    Column("account_id", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("contract_id", String(200), nullable=False),
    Column("billing_period", String(10), nullable=False),
    Column("unit_price", BigInteger, nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("event_id", String(64), nullable=False),
    Index("ix_metrics_lines_currency", "currency"),
    Index("ix_metrics_lines_subscription", "subscription_id", "start_date"),
)

metrics_quantity_changes = Table(
    "metrics_quantity_changes",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("line_id", String(250), primary_key=True),
    Column("currency", String(3), nullable=False),
    Column("effective_date", Date, nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Index("ix_metrics_quantity_changes_currency", "currency"),
)

metrics_terms = Table(
    "metrics_terms",
    metadata,
    Column("contract_id", String(200), primary_key=True),
    Column("start_date", Date, primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("end_date", Date, nullable=False),
    Column("quote_id", String(200), nullable=True),
    Column("renews", String(200), nullable=True),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("event_id", String(64), nullable=False),
    Index("ix_metrics_terms_currency", "currency"),
)

# A termination: the contract's last day of service.
metrics_contract_ends = Table(
    "metrics_contract_ends",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("contract_id", String(200), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("end_date", Date, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Index("ix_metrics_contract_ends_currency", "currency"),
)

# A quote's steps (created, presented, accepted, rejected), one row each.
metrics_quote_steps = Table(
    "metrics_quote_steps",
    metadata,
    Column("quote_id", String(200), primary_key=True),
    Column("step", String(10), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("step_date", Date, nullable=False),
    Column("total_contract_value", BigInteger, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("event_id", String(64), nullable=False),
    Index("ix_metrics_quote_steps_currency", "currency"),
)

# The recurring lines of an accepted quote (the ACV input).
metrics_quote_lines = Table(
    "metrics_quote_lines",
    metadata,
    Column("quote_id", String(200), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("currency", String(3), nullable=False),
    Column("billing_period", String(10), nullable=False),
    Column("unit_price", BigInteger, nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Index("ix_metrics_quote_lines_currency", "currency"),
)

METRICS = (
    metrics_lines,
    metrics_quantity_changes,
    metrics_terms,
    metrics_contract_ends,
    metrics_quote_steps,
    metrics_quote_lines,
)

journal_lock = Table(
    "journal_lock",
    metadata,
    Column("id", Integer, primary_key=True),
)

# The journal's tables: the database refuses to update them, or to delete while locked.
APPEND_ONLY = (journal_entries, journal_lines, subledger_moves)

# Parents before children: a rebuild empties them in reverse (the lock first).
PROJECTIONS = (
    ledger_invoices,
    ledger_credit_notes,
    ledger_payments,
    ledger_applications,
    ledger_payment_reversals,
    ledger_write_offs,
    journal_entries,
    journal_lines,
    subledger_moves,
    daily_account_totals,
    daily_revenue_totals,
    daily_subledger_totals,
    *METRICS,
    journal_lock,
)
