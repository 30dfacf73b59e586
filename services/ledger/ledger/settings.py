"""The ledger service's settings: `LEDGER_*` variables, shared ones from `REVLINE_*`."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field
from pydantic_settings import SettingsConfigDict
from revline_service.settings import ServiceSettings


class LedgerSettings(ServiceSettings):
    """Defaults run the embedded dev stack: SQLite under var/, port 8005."""

    model_config = SettingsConfigDict(env_prefix="LEDGER_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///var/ledger.db"
    port: int = 8005
    recognition_interval_s: float = Field(
        default=3600.0,
        ge=0,
        description="how often the service recognises revenue through its clock's today "
        "(at start-up, then every interval; a date done is not run again); 0 turns it off",
    )
    recognition_batch_books: int = Field(
        default=200, ge=1, description="books recognised per transaction by the timer"
    )
    metrics_gross_margin: Decimal = Field(
        default=Decimal(1),
        gt=0,
        le=1,
        description="the gross margin revenue LTV is taken at (METRICS.md), in (0, 1]; "
        "GET /v1/metrics/ltv shows it and takes ?gross_margin= to try another",
    )
