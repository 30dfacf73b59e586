"""The order service's settings: `ORDER_*` variables, shared ones from `REVLINE_*`."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict
from revline_service.settings import ServiceSettings


class OrderSettings(ServiceSettings):
    """Defaults run the embedded dev stack: SQLite under var/, port 8003."""

    model_config = SettingsConfigDict(env_prefix="ORDER_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///var/order.db"
    port: int = 8003
