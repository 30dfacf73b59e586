"""The ledger process (`python -m ledger serve`) killed outright during a burst of payments.

Four accounts owe F1's three invoices each (in a currency of the test's own).
Forty payments with Idempotency-Keys are sent eight at a time; once some have
been answered the process gets a SIGKILL, so others die in flight: committed
with their answer lost, or never committed. Restarted on the same database, the
client retries every key with the same body, as a client must after a lost
answer: each key gets a 201, the same answer as before when it had one, and
each payment exists once. The books (trial balance, receivables, payments)
equal those of a ledger that took the same payments without a fault. On
SQLite and PostgreSQL.

Payments name no invoice and each account's add up to more than it owes, so
what they pay does not depend on the order they arrive in (oldest invoice
first, the rest customer credit): the fault-free run sends them one by one.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from ledger.main import app_factory
from ledger.settings import LedgerSettings
from ledger_feed import BILLING_EVENTS, FINANCE, BillingFeed, f1_invoices
from ledger_process import (
    books_state,
    fresh_currency,
    group_caught_up,
    ledger_env,
    ledger_process,
    new_group,
)
from revline_testkit.broker import TansuBroker
from revline_testkit.fixtures import Backend, ServiceUnderTest, fresh_database
from revline_testkit.topics import topic_ends, unique
from revline_testkit.waiting import eventually

LEDGER = ServiceUnderTest("ledger", LedgerSettings, app_factory)
PAYMENTS_PER_ACCOUNT = 10
IN_FLIGHT = 8
KILL_AFTER_ANSWERS = 10


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> Backend:
    """Each backend in turn."""
    param: Backend = request.param
    return param


def payments(accounts: list[str], currency: str) -> list[tuple[str, dict[str, Any]]]:
    """(Idempotency-Key, body) of every payment, accounts interleaved: each account pays
    161250 against the 152856 it owes."""
    return [
        (f"{account}-pay-{n}", {
            "account_id": account, "amount": 15000 + 250 * n, "currency": currency,
            "received_on": "2026-03-05", "reference": f"wire {n}",
        })
        for n in range(PAYMENTS_PER_ACCOUNT)
        for account in accounts
    ]  # fmt: skip


async def pay(client: httpx.AsyncClient, key: str, body: dict[str, Any]) -> httpx.Response:
    """POST /v1/payments under `key`."""
    return await client.post("/v1/payments", json=body, headers={**FINANCE, "Idempotency-Key": key})


async def test_killed_during_a_burst_of_payments_each_retried_key_pays_once(
    request: pytest.FixtureRequest,
    backend: Backend,
    tansu: TansuBroker,
    feed: BillingFeed,
    tmp_path: Path,
) -> None:
    start = await topic_ends(tansu.bootstrap, BILLING_EVENTS)
    currency = fresh_currency()
    accounts = [unique("paying") for _ in range(4)]
    for account in accounts:
        for envelope in f1_invoices(feed, account, currency=currency):
            await feed.send(envelope)
    sent = payments(accounts, currency)

    with fresh_database(request, backend, tmp_path, "ledger") as url:
        env = ledger_env(url, tansu.bootstrap, tmp_path, await new_group(tansu.bootstrap, start))
        first_answers: dict[str, httpx.Response] = {}
        lost: list[str] = []
        async with ledger_process(env, tmp_path / "ledger-1.log") as (first, client):
            await group_caught_up(tansu.bootstrap, env["LEDGER_CONSUMER_GROUP"])
            gate = asyncio.Semaphore(IN_FLIGHT)

            async def send(key: str, body: dict[str, Any]) -> None:
                async with gate:
                    try:
                        first_answers[key] = await pay(client, key, body)
                    except httpx.TransportError:
                        lost.append(key)

            burst = [asyncio.create_task(send(key, body)) for key, body in sent]

            async def some_answered() -> bool:
                return len(first_answers) >= KILL_AFTER_ANSWERS

            await eventually(some_answered, within=60, interval=0.002, what="first answers")
            first.kill()
            await asyncio.gather(*burst)
        assert all(r.status_code == 201 for r in first_answers.values()), first_answers
        assert lost, "the kill came after every payment was answered"
        assert len(first_answers) + len(lost) == len(sent)

        async with ledger_process(env, tmp_path / "ledger-2.log") as (_second, client):
            retried = {key: await pay(client, key, body) for key, body in sent}
            after = await books_state(client, accounts, currency, entries=False)

    assert {k: r.status_code for k, r in retried.items()} == {k: 201 for k, _ in sent}
    assert {k: retried[k].json() for k in first_answers} == {
        k: r.json() for k, r in first_answers.items()
    }
    assert len({r.json()["id"] for r in retried.values()}) == len(sent)

    # The same payments, one by one, on a ledger that does not die.
    with fresh_database(request, backend, tmp_path, "reference") as url:
        reference_group = await new_group(tansu.bootstrap, start)
        async with LEDGER.serving(url, tansu.bootstrap, tmp_path, recognition_interval_s=0,
                                  consumer_group=reference_group) as reference:  # fmt: skip
            group = reference.runtime.settings.consumer_group
            assert group is not None
            await group_caught_up(tansu.bootstrap, group)
            for key, body in sent:
                assert (await pay(reference.client, key, body)).status_code == 201
            expected = await books_state(reference.client, accounts, currency, entries=False)

    assert after == expected
    for account in accounts:
        mine = expected["accounts"][account]
        assert len(mine["payments"]) == PAYMENTS_PER_ACCOUNT
        assert mine["unapplied_cash"] == 161250 - 152856
        assert mine["open_invoices"] == []
