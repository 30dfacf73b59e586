"""The contract service's settings: `CONTRACT_*` variables, shared ones from `REVLINE_*`."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict
from revline_service.settings import ServiceSettings


class ContractSettings(ServiceSettings):
    """Defaults run the embedded dev stack: SQLite under var/, port 8002."""

    model_config = SettingsConfigDict(env_prefix="CONTRACT_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///var/contract.db"
    port: int = 8002
