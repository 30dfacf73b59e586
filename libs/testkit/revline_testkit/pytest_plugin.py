"""pytest fixtures shared by every test in the repository.

Loaded by the root ``conftest.py`` (``pytest_plugins``). Fixtures:

* ``tansu`` (module): a started :class:`TansuBroker`; use ``tansu.bootstrap``.
  Shared by a module's tests, so give each test its own topic and group names.
* ``postgres_server`` (session): a started :class:`ThrowawayPostgres`, created
  only when a test first asks for it (directly or through ``pg_url``/``db_url``).
* ``pg_url`` (function): a fresh, uniquely named PostgreSQL database; yields its
  SQLAlchemy async URL and drops it afterwards.
* ``sqlite_url`` (function): ``sqlite+aiosqlite:///<tmp_path>/test.db``.
* ``db_url`` (function, parametrised ``sqlite``/``postgresql``): one of the two.
* ``recorded_spans`` (function): :class:`RecordedSpans`, every in-process service's
  finished spans while the test runs (an in-memory exporter).

It also loads the ``revline`` Hypothesis profile: no per-example deadline and no
too-slow health check. Both are timings, which a loaded machine or a parallel
test worker turns into failures of correct code; example counts are unchanged.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from revline_testkit.broker import TansuBroker
from revline_testkit.postgres import PostgresError, ThrowawayPostgres
from revline_testkit.spans import RecordedSpans

settings.register_profile("revline", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("revline")


@pytest.fixture(scope="module")
def tansu() -> Iterator[TansuBroker]:
    """A Tansu broker on a free loopback port for one test module (memory storage).

    One per module, not per session: a service under test with a consumer group of its
    own reads its upstream topics from the beginning, and on a broker shared by the
    session that is every event the worker's earlier modules published (thousands by
    the end of a run), read and mostly dead-lettered again by every later service. A
    broker starts in about 50 ms.
    """
    with TansuBroker() as broker:
        yield broker


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[ThrowawayPostgres]:
    """A throwaway PostgreSQL 15 cluster for the whole session, started on first use."""
    with ThrowawayPostgres() as server:
        yield server


@pytest.fixture
def pg_url(postgres_server: ThrowawayPostgres) -> Iterator[str]:
    """SQLAlchemy async URL of a fresh, empty PostgreSQL database (dropped after the test)."""
    name = f"t_{uuid.uuid4().hex}"
    url = postgres_server.create_database(name)
    yield url
    try:
        postgres_server.drop_database(name)
    except PostgresError as error:  # the cluster is thrown away at session end anyway
        warnings.warn(f"could not drop test database {name}: {error}", stacklevel=1)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """SQLAlchemy async URL of a new SQLite file database in the test's tmp_path."""
    return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(params=["sqlite", "postgresql"], ids=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """The test runs twice: once on SQLite (``sqlite_url``), once on PostgreSQL (``pg_url``)."""
    fixture = "sqlite_url" if request.param == "sqlite" else "pg_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
def recorded_spans() -> Iterator[RecordedSpans]:
    """Every in-process service's finished spans during the test (in memory)."""
    with RecordedSpans() as spans:
        yield spans
