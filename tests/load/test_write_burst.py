"""A bounded burst of concurrent writes against every service's POST endpoints (loopback).

The five services run together in process (real HTTP, a broker of the test's own,
SQLite and then PostgreSQL), and a few hundred POSTs go at them with at most
IN_FLIGHT in flight at once, each with an Idempotency-Key; some keys are sent twice
at the same moment, and some bill runs for one account race each other under
different keys. The guarantees (issue 11, "Load"): no answer is a 5xx, and nothing
is lost or doubled: every key's resource exists once, counts equal what was sent,
each account is invoiced once however many runs raced, invoice numbers are gapless,
and each payment is applied once.

The phases follow the flow, since later writes need what the earlier ones made:
products and quotes (quote), accepts (quote), then, once contracts, orders and
schedules followed through Kafka, terminations and renewal runs (contract), holds
and releases (order) and bill runs (billing) all at once, then payments (ledger)
once the ledger has booked the invoices.

Found by it: on PostgreSQL a bill-run key sent twice at once answered the replay
201 with the run still running and no invoice ids (fixed in billing; its own test
is in services/billing/tests/api/test_bill_runs.py).
"""

from __future__ import annotations

import asyncio
import importlib
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from revline_events.clock import FixedClock
from revline_testkit.broker import TansuBroker
from revline_testkit.devstack import FLOW_ORDER, settings_class
from revline_testkit.fixtures import BACKENDS, ServiceUnderTest, fresh_database
from revline_testkit.live import LiveService, auth, stored_events
from revline_testkit.topics import caught_up
from revline_testkit.waiting import eventually

ADMIN = auth("admin")
IN_FLIGHT = 12
ACCOUNTS = 16
BILLED = range(0, 8)  # bill runs race, then payments
HELD = range(8, 12)  # holds and releases
TERMINATED = range(12, 16)  # terminations
PRODUCTS = 40
RENEWAL_RUNS = 6
PAYMENTS_PER_ACCOUNT = 6
PAYMENT = 1000  # minor units


@dataclass
class Sent:
    """One POST of the burst and its answer."""

    service: str
    path: str
    key: str
    status: int
    body: Any
    replayed: bool


@dataclass
class Burst:
    """The five services and every POST sent at them, at most IN_FLIGHT at once."""

    services: dict[str, LiveService]
    run: str  # makes skus, accounts and keys unique to this run
    sent: list[Sent] = field(default_factory=list)
    _gate: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(IN_FLIGHT))

    def account(self, n: int) -> str:
        """The n-th account of the run."""
        return f"load-{self.run}-{n}"

    async def post(self, service: str, path: str, key: str, body: Any = None) -> Sent:
        """POST with an Idempotency-Key once a slot is free; the answer is recorded."""
        async with self._gate:
            response = await self.services[service].client.post(
                path, json=body, headers={**ADMIN, "Idempotency-Key": f"{self.run}-{key}"}
            )
        answer = Sent(
            service, path, key, response.status_code,
            response.json() if response.content else None,
            response.headers.get("Idempotent-Replayed") == "true",
        )  # fmt: skip
        self.sent.append(answer)
        return answer

    async def twice(self, service: str, path: str, key: str, body: Any = None) -> Sent:
        """The same POST twice at the same moment: both answers must be the one write."""
        first, second = await asyncio.gather(
            self.post(service, path, key, body), self.post(service, path, key, body)
        )
        assert first.status == second.status, (first, second)
        assert first.body == second.body, (first, second)
        assert sorted([first.replayed, second.replayed]) == [False, True], (first, second)
        return first

    async def send(self, service: str, path: str, key: str, body: Any, *, dup: bool) -> Sent:
        """`twice` when `dup`, else one post."""
        if dup:
            return await self.twice(service, path, key, body)
        return await self.post(service, path, key, body)

    async def get(self, service: str, path: str, **params: str) -> Any:
        """A GET that must answer 200; its JSON."""
        response = await self.services[service].client.get(path, params=params, headers=ADMIN)
        assert response.status_code == 200, response.text
        return response.json()

    async def listed(self, service: str, path: str, **params: str) -> list[dict[str, Any]]:
        """Every item of a list endpoint (all pages)."""
        found: list[dict[str, Any]] = []
        query = {**params, "limit": "500"}
        while True:
            page = await self.get(service, path, **query)
            found += page["data"]
            if page.get("next_cursor") is None:
                return found
            query["cursor"] = page["next_cursor"]

    async def each_account(
        self, accounts: range, probe: Callable[[str], Awaitable[bool]], what: str
    ) -> None:
        """Wait until `probe(account)` holds for every account of `accounts`."""

        async def all_there() -> bool:
            return all([await probe(self.account(n)) for n in accounts])

        await eventually(all_there, within=60, interval=0.1, what=what)


async def gather(*steps: Awaitable[Any]) -> list[Any]:
    """Run the steps concurrently (the burst's gate bounds what is in flight)."""
    return list(await asyncio.gather(*steps))


@pytest.fixture(params=BACKENDS)
async def burst(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Burst]:
    """The five services on their own broker and databases (SQLite, then PostgreSQL)."""
    clock = FixedClock(datetime(2026, 1, 15, 9, 0, tzinfo=UTC))
    group = uuid.uuid4().hex[:8]
    services: dict[str, LiveService] = {}
    async with AsyncExitStack() as exits:
        tansu = exits.enter_context(TansuBroker())
        for name in FLOW_ORDER:
            main = importlib.import_module(f"{name}.main")
            under_test = ServiceUnderTest(name, settings_class(name), main.app_factory)
            url = exits.enter_context(fresh_database(request, request.param, tmp_path, name))
            services[name] = await exits.enter_async_context(
                under_test.serving(
                    url, tansu.bootstrap, tmp_path, clock, consumer_group=f"{name}-{group}"
                )
            )
        yield Burst(services, group)


async def test_a_burst_of_concurrent_writes_loses_and_doubles_nothing(burst: Burst) -> None:
    sku = f"SEAT-{burst.run}"
    dup = [n % 4 == 0 for n in range(ACCOUNTS)]  # every fourth key goes twice at once

    # -- quote: products, quotes (two per account, one accepted), accepts ----------------------
    products = [
        {"sku": f"{sku}-{n}" if n else sku, "name": f"Seat {n}", "currency": "USD",
         "unit_price": 5000 + n, "charge_type": "recurring", "billing_period": "month"}
        for n in range(PRODUCTS)
    ]  # fmt: skip
    await gather(*(
        burst.send("quote", "/v1/products", f"product-{n}", body, dup=n % 3 == 0)
        for n, body in enumerate(products)
    ))  # fmt: skip

    def quote_body(n: int, quantity: int) -> dict[str, Any]:
        return {
            "account_id": burst.account(n), "currency": "USD", "start_date": "2026-01-15",
            "term_months": 12, "bill_cycle_day": 1,
            "lines": [{"sku": sku, "quantity": quantity}],
        }  # fmt: skip

    kept = await gather(*(
        burst.send("quote", "/v1/quotes", f"quote-{n}", quote_body(n, 10), dup=dup[n])
        for n in range(ACCOUNTS)
    ))  # fmt: skip
    await gather(*(
        burst.send("quote", "/v1/quotes", f"draft-{n}", quote_body(n, 3), dup=n % 2 == 1)
        for n in range(ACCOUNTS)
    ))  # fmt: skip
    quote_ids = [q.body["id"] for q in kept]
    accepted = await gather(*(
        burst.send("quote", f"/v1/quotes/{quote_id}/accept", f"accept-{n}", None, dup=dup[n])
        for n, quote_id in enumerate(quote_ids)
    ))  # fmt: skip
    assert {a.body["status"] for a in accepted} == {"accepted"}

    # -- the flow carries them to contract, order and billing -----------------------------------
    def one_each(service: str, path: str) -> Callable[[str], Awaitable[bool]]:
        async def probe(account: str) -> bool:
            return len(await burst.listed(service, path, account_id=account)) >= 1

        return probe

    everyone = range(ACCOUNTS)
    await burst.each_account(everyone, one_each("contract", "/v1/contracts"), "contracts")
    await burst.each_account(everyone, one_each("order", "/v1/orders"), "orders")
    await burst.each_account(everyone, one_each("billing", "/v1/billing-schedules"), "schedules")
    contracts = {
        n: await burst.listed("contract", "/v1/contracts", account_id=burst.account(n))
        for n in everyone
    }
    orders = {
        n: await burst.listed("order", "/v1/orders", account_id=burst.account(n)) for n in everyone
    }

    # -- contract, order and billing at once ------------------------------------------------
    async def hold_and_release(n: int) -> None:
        order_id = orders[n][0]["id"]
        await burst.send("order", f"/v1/orders/{order_id}/hold", f"hold-{n}",
                         {"reason": "PO missing"}, dup=dup[n])  # fmt: skip
        await burst.send("order", f"/v1/orders/{order_id}/release", f"release-{n}", None,
                         dup=not dup[n])  # fmt: skip

    async def bill(n: int) -> None:
        body = {"as_of": "2026-01-15", "account_id": burst.account(n)}
        # Two runs for one account under different keys, and one key sent twice: all at once.
        await gather(
            burst.twice("billing", "/v1/bill-runs", f"run-{n}-a", body),
            burst.post("billing", "/v1/bill-runs", f"run-{n}-b", body),
        )

    renewal_runs = [
        burst.post("contract", "/v1/renewal-runs", f"renewals-{n}", {"as_of": "2026-03-01"})
        for n in range(RENEWAL_RUNS)
    ]

    async def terminate(n: int) -> None:
        path = f"/v1/contracts/{contracts[n][0]['id']}/terminate"
        end = {"effective_date": "2026-07-01", "credit_unused": False}
        await burst.send("contract", path, f"terminate-{n}", end, dup=n % 2 == 0)

    await gather(
        *renewal_runs, *map(terminate, TERMINATED), *map(hold_and_release, HELD), *map(bill, BILLED)
    )

    # -- ledger: payments, once the invoices are booked -----------------------------------------
    async def booked(account: str) -> bool:
        entries = await burst.listed("ledger", "/v1/journal-entries", account_id=account)
        return any(entry["kind"] == "invoice_posted" for entry in entries)

    await burst.each_account(BILLED, booked, "invoices booked by the ledger")

    def payment(n: int, p: int) -> dict[str, Any]:
        return {"account_id": burst.account(n), "amount": PAYMENT, "currency": "USD",
                "received_on": "2026-01-20", "reference": f"wire {p}"}  # fmt: skip

    await gather(*(
        burst.send("ledger", "/v1/payments", f"pay-{n}-{p}", payment(n, p), dup=p == 0)
        for n in BILLED
        for p in range(PAYMENTS_PER_ACCOUNT)
    ))  # fmt: skip

    # -- no 5xx, and every answer the write it asked for ------------------------------------
    statuses = Counter((s.service, s.status) for s in burst.sent)
    assert not [s for s in burst.sent if s.status >= 500], statuses
    refused = [s for s in burst.sent if s.status not in (200, 201)]
    assert refused == [], refused
    assert len(burst.sent) >= 200, statuses
    per_service = {s.service for s in burst.sent}
    assert per_service == set(FLOW_ORDER)

    # -- nothing lost, nothing doubled -------------------------------------------------------
    catalogue = await burst.listed("quote", "/v1/products")
    assert Counter(p["sku"] for p in catalogue if p["sku"].startswith(sku)) == {
        body["sku"]: 1 for body in products
    }

    async def quoted_once(n: int) -> None:
        account = burst.account(n)
        quotes = await burst.listed("quote", "/v1/quotes", account_id=account)
        assert sorted(q["status"] for q in quotes) == ["accepted", "draft"], account
        stream = await stored_events(burst.services["quote"], quote_ids[n])
        assert [e.type for e in stream].count("QuoteAccepted") == 1, account
        assert len(await burst.listed("contract", "/v1/contracts", account_id=account)) == 1
        expected = ["new", "termination"] if n in TERMINATED else ["new"]

        async def ordered() -> list[str] | None:
            found = await burst.listed("order", "/v1/orders", account_id=account)
            kinds = [o["kind"] for o in found]
            return kinds if len(kinds) >= len(expected) else None

        assert await eventually(ordered, what=f"{account}'s orders") == expected, account

    async def terminated_once(n: int) -> None:
        contract = await burst.get("contract", f"/v1/contracts/{contracts[n][0]['id']}")
        assert contract["status"] == "terminated"
        stream = await stored_events(burst.services["contract"], contract["id"])
        assert [e.type for e in stream].count("ContractTerminated") == 1

    async def held_and_released_once(n: int) -> None:
        order = await burst.get("order", f"/v1/orders/{orders[n][0]['id']}")
        assert order["billing_hold"] in (None, False), order
        stream = await stored_events(burst.services["order"], order["id"])
        kinds = [e.type for e in stream]
        assert (kinds.count("OrderBillingHeld"), kinds.count("OrderBillingReleased")) == (1, 1)

    # Contract has taken in every quote event, and order every contract event published so
    # far: a doubled contract or order would show now (a termination's order may trail).
    await caught_up(burst.services["contract"], "quote.events")
    await caught_up(burst.services["order"], "contract.events")
    await gather(
        *map(quoted_once, everyone),
        *map(terminated_once, TERMINATED),
        *map(held_and_released_once, HELD),
    )

    invoices = dict(zip(BILLED, await gather(*(
        burst.listed("billing", "/v1/invoices", account_id=burst.account(n)) for n in BILLED
    )), strict=True))  # fmt: skip
    assert {n: len(found) for n, found in invoices.items()} == dict.fromkeys(BILLED, 1)
    numbers = sorted(found[0]["number"] for found in invoices.values())
    assert numbers == [f"INV-{k:06d}" for k in range(1, len(BILLED) + 1)]
    paid_in = PAYMENT * PAYMENTS_PER_ACCOUNT

    async def paid_once_each(n: int) -> None:
        account = burst.account(n)
        payments = await burst.listed("ledger", "/v1/payments", account_id=account)
        assert sorted(p["amount"] for p in payments) == [PAYMENT] * PAYMENTS_PER_ACCOUNT
        applied = [sum(a["amount"] for a in p["applications"]) for p in payments]
        assert applied == [PAYMENT] * PAYMENTS_PER_ACCOUNT, payments

        async def settled() -> bool:  # billing hears of the applications on ledger.events
            now = await burst.get("billing", f"/v1/invoices/{invoices[n][0]['id']}")
            return bool(now["amount_paid"] >= paid_in)

        await eventually(settled, within=30, what=f"{account}'s payments at billing")

    await gather(*map(paid_once_each, BILLED))
    await caught_up(burst.services["billing"], "ledger.events")
    for n in BILLED:
        paid = await burst.get("billing", f"/v1/invoices/{invoices[n][0]['id']}")
        assert (paid["amount_paid"], paid["amount_due"]) == (paid_in, paid["total"] - paid_in)
