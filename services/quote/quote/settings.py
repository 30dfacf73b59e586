"""The quote service's settings: `QUOTE_*` variables, shared ones from `REVLINE_*`."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict
from revline_service.settings import ServiceSettings


class QuoteSettings(ServiceSettings):
    """Defaults run the embedded dev stack: SQLite under var/, port 8001."""

    model_config = SettingsConfigDict(env_prefix="QUOTE_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///var/quote.db"
    port: int = 8001
