"""The quote service's settings: `QUOTE_*` variables, shared ones from `REVLINE_*`."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict
from revline_service.settings import ServiceSettings

# The quote service consumes contract.events only for its read model of contracts
# (amendment and renewal quotes name them); no hop of the event path waits on it.
# So its consumer fetches at the idle pace while events arrive too: on the dev
# broker each fetch costs this service and the broker CPU that the accept ->
# billing schedule path shares (bench/README.md, hop_latency, Round 7), and the
# read model trails the contract service by up to about half of this wait more.
QUOTE_CONSUMER_FETCH_MAX_WAIT_MS = 100


class QuoteSettings(ServiceSettings):
    """Defaults run the embedded dev stack: SQLite under var/, port 8001."""

    model_config = SettingsConfigDict(env_prefix="QUOTE_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///var/quote.db"
    port: int = 8001
    consumer_fetch_max_wait_ms: int = Field(
        default=QUOTE_CONSUMER_FETCH_MAX_WAIT_MS,
        ge=0,
        le=60_000,
        description="how long the consumer's fetch waits on the broker while events arrive; "
        "longer than the other services' 10 ms: the contract read model is on no hop's path, "
        "and on the dev broker every fetch costs this service and the broker CPU",
    )
