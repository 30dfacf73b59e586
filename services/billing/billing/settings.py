"""The billing service's settings: `BILLING_*` variables, shared ones from `REVLINE_*`."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict
from revline_service.settings import ServiceSettings


class BillingSettings(ServiceSettings):
    """Defaults run the embedded dev stack: SQLite under var/, port 8004."""

    model_config = SettingsConfigDict(env_prefix="BILLING_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///var/billing.db"
    port: int = 8004
    payment_terms_days: int = Field(
        default=30,
        ge=0,
        le=365,
        description="days from an invoice's date to its due date (due_date = invoice_date + this)",
    )
    bill_run_batch_size: int = Field(
        default=200,
        ge=1,
        le=10_000,
        description="accounts a bill run invoices per batch transaction",
    )
