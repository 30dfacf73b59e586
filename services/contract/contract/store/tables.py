"""The contract service's database: kernel tables plus its projections."""

from __future__ import annotations

from revline_events.tables import KernelTables
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
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

contracts = Table(
    "contracts",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("quote_id", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(20), nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("term_start", Date, nullable=False),
    Column("term_months", Integer, nullable=False),
    Column("bill_cycle_day", Integer, nullable=False),
    Column("billing_timing", String(20), nullable=False),
    Column("auto_renew", Boolean, nullable=False),
    Column("terminated_on", Date, nullable=True),  # T, the first day without service
    Column("credit_unused", Boolean, nullable=True),
    Column("stream_version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_contracts_account", "account_id", "id"),
    Index("ix_contracts_quote", "quote_id"),
    Index("ix_contracts_due", "status", "end_date"),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("contract_id", String(40), ForeignKey("contracts.id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("sku", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("charge_type", String(20), nullable=False),
    Column("billing_period", String(20), nullable=True),
    Column("unit_price", BigInteger, nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Index("ix_subscriptions_contract", "contract_id", "position"),
)

subscription_quantities = Table(
    "subscription_quantities",
    metadata,
    Column("subscription_id", String(40), ForeignKey("subscriptions.id"), primary_key=True),
    Column("effective_date", Date, primary_key=True),
    Column("quantity", BigInteger, nullable=False),
)

contract_amendments = Table(
    "contract_amendments",
    metadata,
    Column("contract_id", String(40), ForeignKey("contracts.id"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("quote_id", String(64), nullable=False),
    Column("effective_date", Date, nullable=False),
    Index("ix_contract_amendments_quote", "quote_id"),
)

contract_renewals = Table(
    "contract_renewals",
    metadata,
    Column("contract_id", String(40), ForeignKey("contracts.id"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("quote_id", String(64), nullable=True),
    Column("term_start", Date, nullable=False),
    Column("term_end", Date, nullable=False),
    Column("term_months", Integer, nullable=False),
    Index("ix_contract_renewals_quote", "quote_id"),
)

renewal_runs = Table(
    "renewal_runs",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("as_of", Date, nullable=False),
    Column("renewed", JSON, nullable=False),  # contract ids
    Column("expired", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Parents before children: a rebuild empties them in reverse.
PROJECTIONS = (
    contracts,
    subscriptions,
    subscription_quantities,
    contract_amendments,
    contract_renewals,
    renewal_runs,
)
