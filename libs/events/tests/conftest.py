"""Fixtures of the kernel's tests: the toy service on a real database, fresh topics, runners.

The helper modules beside this file (toy.py, broker_io.py) are imported as top-level
modules: pytest runs with --import-mode=importlib, which does not put test folders
on sys.path, so this conftest does.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from revline_testkit.broker import TansuBroker
from revline_testkit.postgres import ThrowawayPostgres

sys.path.insert(0, str(Path(__file__).parent))

from broker_io import create_topics, unique
from toy import Toy


@pytest.fixture
async def toy_topic(tansu: TansuBroker) -> str:
    """A fresh topic (3 partitions) the toy service publishes on."""
    topic = unique("toy.events")
    await create_topics(tansu.bootstrap, topic)
    return topic


@pytest.fixture
async def toy(db_url: str, toy_topic: str) -> AsyncIterator[Toy]:
    """The toy service's database with its tables, on SQLite and on PostgreSQL."""
    service = Toy(db_url, toy_topic)
    await service.create_tables()
    yield service
    await service.close()


@pytest.fixture
def second_db_url(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """Another empty database of the same kind as `db_url`, for a second service."""
    if db_url.startswith("sqlite"):
        yield f"sqlite+aiosqlite:///{tmp_path / 'second.db'}"
        return
    server: ThrowawayPostgres = request.getfixturevalue("postgres_server")
    name = f"second_{uuid.uuid4().hex}"
    yield server.create_database(name)
    server.drop_database(name)
