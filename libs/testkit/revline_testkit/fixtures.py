"""One way to get "a running service on SQLite or PostgreSQL with a broker" in a test.

A service's conftest names its service once::

    QUOTE = ServiceUnderTest("quote", QuoteSettings, app_factory)
    quote_service = live_service_fixture(QUOTE, scope="function", clock="clock")
    quote_sqlite_per_module = live_service_fixture(QUOTE, backends=("sqlite",))

and every fixture it needs comes from `live_service_fixture`: parametrised over
the backends (a test or module runs once on each), the service served over real
HTTP by uvicorn on a free port (`serve_in_process`), on the module's Tansu
broker, on a fresh database (a SQLite file in its tmp dir, or a new database of
the session's throwaway PostgreSQL, dropped afterwards). Tests that start a
service by hand (with settings of their own, or twice) use
`ServiceUnderTest.serving` and `fresh_database` directly.

Every service under test gets a consumer group of its own unless told
otherwise (the module's broker keeps every earlier test's events of the module; a
service in a group of its own reads its upstream topics from their beginning), and a 2 s
consumer session: Tansu answers a group join after half of it.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pytest
from fastapi import FastAPI
from revline_events.clock import Clock, FixedClock
from revline_service.settings import ServiceSettings

from revline_testkit.broker import TansuBroker
from revline_testkit.live import LiveService, api_keys_setting, serve_in_process
from revline_testkit.postgres import PostgresError, ThrowawayPostgres

Backend = Literal["sqlite", "postgresql"]
BACKENDS: tuple[Backend, ...] = ("sqlite", "postgresql")
# The clock every service under test starts on unless a test moves it.
TEST_START = datetime(2026, 1, 10, 9, 30, tzinfo=UTC)
# Tansu answers a JoinGroup after about half the session timeout.
TEST_SESSION_TIMEOUT_MS = 2000


@dataclass(frozen=True)
class ServiceUnderTest:
    """How the test kit builds one service: its name, settings class and app factory."""

    name: str
    settings_cls: type[ServiceSettings]
    app_factory: Callable[..., FastAPI]  # (settings, clock) -> app
    start: datetime = TEST_START

    def settings(
        self, database_url: str, bootstrap: str, tmp_path: Path, **overrides: Any
    ) -> ServiceSettings:
        """Settings for a test: the test keys, port 0, a consumer group of its own, a short
        consumer session; `overrides` win (by field name)."""
        values: dict[str, Any] = {
            "database_url": database_url,
            "kafka_bootstrap": bootstrap,
            "api_keys": api_keys_setting(),
            "dev_keys_file": tmp_path / "dev-keys.json",
            "port": 0,
            "consumer_group": f"{self.name}-test-{uuid.uuid4().hex[:12]}",
            "consumer_session_timeout_ms": TEST_SESSION_TIMEOUT_MS,
        }
        values.update(overrides)
        return self.settings_cls(**values)

    @asynccontextmanager
    async def serving(
        self,
        database_url: str,
        bootstrap: str,
        tmp_path: Path,
        clock: Clock | None = None,
        **overrides: Any,
    ) -> AsyncIterator[LiveService]:
        """The service on `database_url`, served in process until the block ends; its clock
        is `clock`, else a FixedClock at `start`."""
        settings = self.settings(database_url, bootstrap, tmp_path, **overrides)
        app = self.app_factory(settings, clock if clock is not None else FixedClock(self.start))
        async with serve_in_process(app) as service:
            yield service


@contextmanager
def fresh_database(
    request: pytest.FixtureRequest, backend: Backend, tmp_path: Path, name: str
) -> Iterator[str]:
    """The SQLAlchemy URL of a new, empty database: `<tmp_path>/<name>.db` on SQLite, or a
    uniquely named database of the session's PostgreSQL (dropped when the block ends)."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / name}.db"
        return
    server: ThrowawayPostgres = request.getfixturevalue("postgres_server")
    database = f"{name}_{uuid.uuid4().hex}"
    url = server.create_database(database)
    try:
        yield url
    finally:
        try:
            server.drop_database(database)
        except PostgresError as error:  # the cluster is thrown away at session end anyway
            warnings.warn(f"could not drop test database {database}: {error}", stacklevel=1)


def live_service_fixture(
    service: ServiceUnderTest,
    *,
    scope: Literal["function", "module"] = "module",
    backends: Sequence[Backend] = BACKENDS,
    clock: str | None = None,
    **overrides: Any,
) -> Any:
    """A pytest fixture yielding `service` live (a LiveService), once per backend.

    ``scope="module"``: one service per module and backend, shared by the module's
    tests (each works on accounts of its own); ``"function"``: a new one per test.
    With more than one backend the fixture is parametrised (ids ``sqlite`` and
    ``postgresql``, as ``db_url``). ``clock`` names a fixture whose Clock the service
    reads (else a FixedClock at ``service.start``); ``overrides`` are settings.
    Assign the result to the fixture's name in a conftest.
    """
    params = list(backends) if len(backends) > 1 else None

    @pytest.fixture(scope=scope, params=params, ids=params)
    async def live_service(
        request: pytest.FixtureRequest, tansu: TansuBroker
    ) -> AsyncIterator[LiveService]:
        backend: Backend = request.param if params is not None else backends[0]
        if scope == "function":
            tmp_path: Path = request.getfixturevalue("tmp_path")
        else:
            factory: pytest.TempPathFactory = request.getfixturevalue("tmp_path_factory")
            tmp_path = factory.mktemp(service.name)
        service_clock: Clock | None = request.getfixturevalue(clock) if clock else None
        with fresh_database(request, backend, tmp_path, service.name) as url:
            async with service.serving(
                url, tansu.bootstrap, tmp_path, service_clock, **overrides
            ) as live:
                yield live

    return live_service
