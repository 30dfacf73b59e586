"""The quote, contract, order and billing services together, over real HTTP and the real
broker.

The helper module beside this file (e2e_support.py) is imported as a top-level
module: pytest runs with --import-mode=importlib, which does not put test
folders on sys.path, so this conftest does.
"""

from __future__ import annotations

import importlib
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from revline_events.clock import FixedClock
from revline_testkit.broker import TansuBroker
from revline_testkit.live import LiveService, api_keys_setting, serve_in_process
from revline_testkit.postgres import ThrowawayPostgres

sys.path.insert(0, str(Path(__file__).parent))

SERVICES = ("quote", "contract", "order", "billing")


@dataclass
class Stack:
    """The running services by name, the broker they share and the clock they read."""

    services: dict[str, LiveService]
    bootstrap: str
    clock: FixedClock

    def __getitem__(self, name: str) -> LiveService:
        return self.services[name]


def _database_urls(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    if kind == "sqlite":
        return {name: f"sqlite+aiosqlite:///{tmp_path / name}.db" for name in SERVICES}
    server: ThrowawayPostgres = request.getfixturevalue("postgres_server")
    suffix = uuid.uuid4().hex[:8]
    return {name: server.create_database(f"e2e_{name}_{suffix}") for name in SERVICES}


@pytest.fixture(params=["sqlite", "postgresql"])
async def stack(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stack]:
    """quote, contract, order and billing, each on its own database (SQLite, then PostgreSQL).

    The stack gets a broker of its own: a deployment's topics hold only its events
    (services read their upstream topics from the beginning).
    """
    urls = _database_urls(request.param, tmp_path, request)
    clock = FixedClock(datetime(2026, 1, 15, 9, 0, tzinfo=UTC))
    group = uuid.uuid4().hex[:8]
    services: dict[str, LiveService] = {}
    async with AsyncExitStack() as exits:
        tansu = exits.enter_context(TansuBroker())
        for name in SERVICES:
            settings_module = importlib.import_module(f"{name}.settings")
            main = importlib.import_module(f"{name}.main")
            settings_cls = getattr(settings_module, f"{name.capitalize()}Settings")
            settings = settings_cls(
                database_url=urls[name],
                kafka_bootstrap=tansu.bootstrap,
                api_keys=api_keys_setting(),
                dev_keys_file=tmp_path / "dev-keys.json",
                consumer_group=f"{name}-{group}",
                consumer_session_timeout_ms=2000,
            )
            app = main.app_factory(settings, clock)
            services[name] = await exits.enter_async_context(serve_in_process(app))
        yield Stack(services=services, bootstrap=tansu.bootstrap, clock=clock)
