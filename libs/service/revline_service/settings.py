"""Twelve-factor settings: one object per service, every value from the environment.

Service-specific variables carry the service's prefix (`QUOTE_DATABASE_URL`,
`QUOTE_PORT`); what the whole stack shares is read from `REVLINE_*`
(`REVLINE_KAFKA_BOOTSTRAP`, `REVLINE_API_KEYS`) unless the prefixed one is set.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SHARED = (
    "kafka_bootstrap",
    "api_keys",
    "topic_partitions",
    "replication_factor",
    "dev_keys_file",
    "consumer_session_timeout_ms",
    "consumer_fetch_max_wait_ms",
    "consumer_idle_fetch_max_wait_ms",
    "consumer_idle_after_ms",
)


class ServiceSettings(BaseSettings):
    """Settings every service has; subclasses set `env_prefix` and the defaults."""

    model_config = SettingsConfigDict(extra="ignore")

    database_url: str = Field(description="SQLAlchemy async URL of the service's own database")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    kafka_bootstrap: str = "127.0.0.1:9092"
    topic_partitions: int = Field(default=3, ge=1)
    replication_factor: int = Field(default=1, ge=1)
    api_keys: str | None = Field(
        default=None, description="`key:role` pairs, comma separated; unset: dev_keys_file"
    )
    dev_keys_file: Path = Path("var/dev-keys.json")
    consumer_group: str | None = Field(
        default=None, description="consumer group of the service's replicas (default: its name)"
    )
    consumer_session_timeout_ms: int = Field(
        default=6000,
        ge=1000,
        description="Kafka group session timeout; Apache Kafka refuses < 6000 by default, "
        "the dev broker answers a group join after half of it (make run uses 2000)",
    )
    consumer_fetch_max_wait_ms: int = Field(
        default=10,
        ge=0,
        le=60_000,
        description="how long a consumer's fetch waits on the broker while records arrive; "
        "the dev broker answers a waiting fetch only at this deadline (a hop waits about "
        "half of it), Apache Kafka as soon as a record arrives (500 costs nothing there)",
    )
    consumer_idle_fetch_max_wait_ms: int = Field(
        default=100,
        ge=0,
        le=60_000,
        description="the fetch wait once no record arrived for consumer_idle_after_ms: "
        "fewer fetches while idle (each costs the service and the dev broker CPU), at the "
        "price of up to this much on the dev broker for the first record after a quiet spell",
    )
    consumer_idle_after_ms: int = Field(
        default=1000,
        ge=0,
        le=3_600_000,
        description="time without a record before a consumer switches to the idle fetch wait",
    )
    migrate_on_start: bool = True
    log_level: str = "INFO"
    max_body_bytes: int = Field(default=1_000_000, ge=1024)

    @model_validator(mode="before")
    @classmethod
    def _shared_from_revline_env(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        for name in SHARED:
            value = os.environ.get(f"REVLINE_{name.upper()}")
            if value is not None and name not in data:
                data[name] = value
        return data
