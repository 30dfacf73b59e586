"""The ledger service's settings: `LEDGER_*` variables, shared ones from `REVLINE_*`."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict
from revline_service.settings import ServiceSettings


class LedgerSettings(ServiceSettings):
    """Defaults run the embedded dev stack: SQLite under var/, port 8005."""

    model_config = SettingsConfigDict(env_prefix="LEDGER_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///var/ledger.db"
    port: int = 8005
