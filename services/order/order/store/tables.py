"""The order service's database: kernel tables plus its projections.

Every projection is a fold of the service's own events: `orders` and
`order_items` of OrderActivated and the billing-control events; `contracts`,
`contract_subscriptions` and `contract_subscription_quantities`, its view of
each contract, of OrderActivated (domain/contract_state.py).
"""

from __future__ import annotations

from revline_events.tables import KernelTables
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()
kernel = KernelTables(metadata)

contracts = Table(
    "contracts",
    metadata,
    Column("contract_id", String(200), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("bill_cycle_day", Integer, nullable=False),
    Column("billing_timing", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("last_order_id", String(40), nullable=False),
)

contract_subscriptions = Table(
    "contract_subscriptions",
    metadata,
    Column("contract_id", String(200), ForeignKey("contracts.contract_id"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("subscription_id", String(200), nullable=False),
    Column("sku", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("charge_type", String(20), nullable=False),
    Column("billing_period", String(20), nullable=True),
    Column("quantity", BigInteger, nullable=False),
    Column("unit_price", BigInteger, nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
)

# The quantity of each subscription from each date on (amendments may be future-dated).
contract_subscription_quantities = Table(
    "contract_subscription_quantities",
    metadata,
    Column("contract_id", String(200), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("from_date", Date, primary_key=True),
    Column("quantity", BigInteger, nullable=False),
    ForeignKeyConstraint(
        ["contract_id", "position"],
        ["contract_subscriptions.contract_id", "contract_subscriptions.position"],
    ),
)

orders = Table(
    "orders",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("contract_id", String(200), nullable=False),
    Column("account_id", String(64), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("effective_date", Date, nullable=False),
    Column("bill_cycle_day", Integer, nullable=False),
    Column("billing_timing", String(20), nullable=False),
    Column("contract_end_date", Date, nullable=False),
    Column("credit_unused", Boolean, nullable=False),
    Column("billing_hold", Boolean, nullable=False),
    Column("hold_reason", Text, nullable=True),
    Column("held_since", DateTime(timezone=True), nullable=True),
    Column("next_billing_date_override", Date, nullable=True),
    # The contract event this order answers: one order per contract change.
    Column("contract_event_id", String(64), nullable=True, unique=True),
    Column("stream_version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_orders_account", "account_id", "id"),
    Index("ix_orders_contract", "contract_id", "id"),
)

order_items = Table(
    "order_items",
    metadata,
    Column("order_id", String(40), ForeignKey("orders.id"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("subscription_id", String(200), nullable=False),
    Column("sku", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("charge_type", String(20), nullable=False),
    Column("billing_period", String(20), nullable=True),
    Column("quantity_delta", BigInteger, nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("unit_price", BigInteger, nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
)

# Parents before children: a rebuild empties them in reverse.
PROJECTIONS = (
    contracts,
    contract_subscriptions,
    contract_subscription_quantities,
    orders,
    order_items,
)
