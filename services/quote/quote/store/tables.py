"""The quote service's database: kernel tables plus its projections."""

from __future__ import annotations

from revline_events.tables import KernelTables
from sqlalchemy import (
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

products = Table(
    "products",
    metadata,
    Column("sku", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("unit_price", BigInteger, nullable=False),
    Column("charge_type", String(20), nullable=False),
    Column("billing_period", String(20), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

quotes = Table(
    "quotes",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("contract_id", String(64), nullable=True),
    Column("status", String(20), nullable=False),
    Column("version", Integer, nullable=False),
    Column("start_date", Date, nullable=False),
    Column("term_months", Integer, nullable=True),
    Column("end_date", Date, nullable=True),
    Column("bill_cycle_day", Integer, nullable=False),
    Column("billing_timing", String(20), nullable=False),
    Column("auto_renew", Boolean, nullable=False),
    Column("recurring_per_period", BigInteger, nullable=False),
    Column("one_time", BigInteger, nullable=False),
    Column("total_contract_value", BigInteger, nullable=False),
    Column("stream_version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("accepted_on", Date, nullable=True),
    Index("ix_quotes_account", "account_id", "created_at", "id"),
)

quote_lines = Table(
    "quote_lines",
    metadata,
    Column("quote_id", String(40), ForeignKey("quotes.id"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("sku", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("charge_type", String(20), nullable=False),
    Column("billing_period", String(20), nullable=True),
    Column("quantity", BigInteger, nullable=False),
    Column("list_price", BigInteger, nullable=False),
    Column("discount_percent", String(20), nullable=False),
    Column("net_unit_price", BigInteger, nullable=False),
    Column("amount_per_period", BigInteger, nullable=False),
    Column("subscription_id", String(64), nullable=True),
)

# Parents before children: a rebuild empties them in reverse.
PROJECTIONS = (products, quotes, quote_lines)
