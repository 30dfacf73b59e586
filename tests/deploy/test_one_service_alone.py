"""Each service starts and is ready on its own, with only its database and the broker.

As a deployment runs it: `python -m <service> serve` as a process, on a broker
of its own that nothing else has used (no topic exists, no other service runs)
and a database of its own. The ledger goes the deploy way (its `migrate` step
first, then `serve` with migrate-on-start off) on PostgreSQL; quote migrates
on start on SQLite. Both then answer their API, and quote publishes what it
was asked to write. Every service starts through the same chassis
(revline_service: settings, migrations, topics, relay, consumer), so two cover
the path; the ledger has upstream topics, quote's consumer waits on contract.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from revline_events.topics import dead_letter_topic, events_topic
from revline_testkit.broker import TansuBroker
from revline_testkit.devstack import discover_services, env_prefix, settings_class
from revline_testkit.live import ServiceProcess, TopicReader, api_keys_setting, auth, client_tls
from revline_testkit.postgres import ThrowawayPostgres

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = {
    "sku": "ALONE-SEAT",
    "name": "Seat",
    "currency": "USD",
    "unit_price": 1000,
    "charge_type": "recurring",
    "billing_period": "month",
}


@pytest.fixture
def lonely_broker() -> Iterator[TansuBroker]:
    """A broker of the test's own: empty, so whatever topic it holds, the service made."""
    with TansuBroker() as broker:
        yield broker


def alone_env(service: str, database_url: str, bootstrap: str, **more: str) -> dict[str, str]:
    """The service's own settings and the broker's; no other service's variable at all."""
    prefixes = ["REVLINE_", *(env_prefix(settings_class(name)) for name in discover_services())]
    env = {k: v for k, v in os.environ.items() if not k.startswith(tuple(prefixes))}
    prefix = env_prefix(settings_class(service))
    env.update(
        {
            f"{prefix}DATABASE_URL": database_url,
            "REVLINE_KAFKA_BOOTSTRAP": bootstrap,
            "REVLINE_API_KEYS": api_keys_setting(),
            "REVLINE_CONSUMER_SESSION_TIMEOUT_MS": "2000",
        }
    )
    env.update({f"{prefix}{name.upper()}": value for name, value in more.items()})
    return env


def stopped_gracefully(process: ServiceProcess) -> bool:
    """It exited on its own after SIGTERM (uvicorn re-raises the signal), not killed."""
    return process.process is not None and process.process.returncode in (0, -signal.SIGTERM)


async def topics_on(bootstrap: str) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return {name for name in await admin.list_topics() if not name.startswith("__")}
    finally:
        await admin.close()


async def answers_alone(process: ServiceProcess, service: str, bootstrap: str) -> list[str]:
    """Ready, and the broker holds only the topics the service made; its upstream topics."""
    await process.wait_ready(within=120.0)
    async with httpx.AsyncClient(
        verify=client_tls(), base_url=process.base_url, timeout=10.0
    ) as client:
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert set(ready.json()["checks"].values()) == {"ok"}, ready.text
        consumer = await client.get("/v1/admin/consumer", headers=auth("admin"))
        assert consumer.status_code == 200, consumer.text
    upstream: list[str] = consumer.json()["topics"]
    made = {events_topic(service), *upstream, *(dead_letter_topic(t) for t in upstream)}
    assert await topics_on(bootstrap) == made
    return upstream


async def test_the_ledger_alone_on_postgresql_after_its_migrate_step(
    lonely_broker: TansuBroker, postgres_server: ThrowawayPostgres, tmp_path: Path
) -> None:
    database = "ledger_alone"
    url = postgres_server.create_database(database)
    try:
        env = alone_env("ledger", url, lonely_broker.bootstrap, migrate_on_start="false")
        migrate = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "ledger",
            "migrate",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(migrate.communicate(), 120)
        assert migrate.returncode == 0, output.decode(errors="replace")
        process = ServiceProcess("ledger", env, log_path=tmp_path / "ledger.log")
        process.start()
        try:
            upstream = await answers_alone(process, "ledger", lonely_broker.bootstrap)
            # billing's documents, and quotes and contracts for the RevOps metrics (#12).
            assert upstream == [events_topic(t) for t in ("billing", "quote", "contract")]
            async with httpx.AsyncClient(
                verify=client_tls(), base_url=process.base_url, timeout=10.0
            ) as client:
                accounts = await client.get("/v1/ledger-accounts", headers=auth("admin"))
                assert accounts.status_code == 200, accounts.text
                trial = await client.get("/v1/reports/trial-balance", headers=auth("admin"))
                assert trial.status_code == 200, trial.text
                assert (await client.get("/v1/ledger-accounts")).status_code == 401
        finally:
            process.stop()
        assert stopped_gracefully(process)
    finally:
        postgres_server.drop_database(database)


async def test_quote_alone_on_sqlite_migrates_on_start_and_publishes(
    lonely_broker: TansuBroker, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'quote.db'}"
    env = alone_env("quote", url, lonely_broker.bootstrap)
    process = ServiceProcess("quote", env, log_path=tmp_path / "quote.log")
    process.start()
    try:
        await answers_alone(process, "quote", lonely_broker.bootstrap)
        async with httpx.AsyncClient(
            verify=client_tls(), base_url=process.base_url, timeout=10.0
        ) as client:
            created = await client.post(
                "/v1/products",
                json=PRODUCT,
                headers={**auth("admin"), "Idempotency-Key": "alone-1"},
            )
            assert created.status_code == 201, created.text
            listed = await client.get("/v1/products", headers=auth("sales"))
            assert [p["sku"] for p in listed.json()["data"]] == [PRODUCT["sku"]]
        async with TopicReader(lonely_broker.bootstrap, events_topic("quote")) as reader:
            read = await reader.read_until(
                lambda events: any(e.type == "ProductCreated" for e in events), within=30.0
            )
        assert [e.type for e in read] == ["ProductCreated"]
    finally:
        process.stop()
    assert stopped_gracefully(process)
