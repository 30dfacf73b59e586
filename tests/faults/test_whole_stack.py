"""The whole stack under faults: every service SIGKILLed in turn, and the broker, in the
middle of a burst of quotes, amendments, bill runs and payments.

`make run` on free ports (five services as processes on SQLite, Tansu, the
supervisor that restarts what dies). ACCOUNTS customers run BILLING_RULES.md's F1
at once, as a client would: a new quote accepted, two bill runs, an amendment
accepted, a third bill run, a payment, each POST with its Idempotency-Key and
retried with the same key when the connection fails (the service was killed
under it). Meanwhile quote, contract, the broker, order, billing and the ledger
are killed one after the other, each once the stack restarted the last victim.

The fault-free result is F1's, exact to the cent, per customer (the e2e test
tests/e2e/test_quote_to_cash.py pins it on a stack without faults): so every
customer must end with F1's three invoices and receivable, the invoice numbers
of the stack must run without a gap, and the ledger's trial balance and tie-out
must be ACCOUNTS times F1's.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from revline_testkit.live import client_tls
from revline_testkit.price_book import F1_PRODUCTS
from revline_testkit.stack_process import Ports, RunningStack, dev_stack
from revline_testkit.topics import unique
from revline_testkit.waiting import eventually

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="finds the stack's child processes in /proc"
)

ACCOUNTS = 8
IN_FLIGHT = 4
STEPS_PER_ACCOUNT = 9
VICTIMS = ("quote", "contract", "broker", "order", "billing", "ledger")
RETRY_WITHIN_S = 120.0
F1_INVOICES = [49677, 45000, 58179]
F1_STATUSES = ["paid", "paid", "partially_paid"]
F1_OWED = 2856  # after the payment of 1,500.00 on 2026-03-05
# F1's trial balance as of 2026-03-05 (debit, credit), the payment included.
F1_TRIAL_BALANCE = {
    "1000": (150000, 0), "1100": (152856, 150000), "2100": (73856, 127856), "2200": (0, 0),
    "4000": (0, 73856), "4100": (0, 25000), "6000": (0, 0),
}  # fmt: skip


class Client:
    """The customers' side: every call retried, with the same key, while the service is
    down; anything but the expected answer fails the test."""

    def __init__(self, urls: dict[str, str], admin_key: str) -> None:
        self.urls = urls
        self.auth = {"Authorization": f"Bearer {admin_key}"}
        self.http = httpx.AsyncClient(verify=client_tls(), timeout=30.0)
        self.progress = 0
        self.moved = asyncio.Event()  # set by each step of a customer
        self.retries = 0

    async def call(
        self, method: str, service: str, path: str, *, status: int = 200,
        key: str | None = None, body: Any = None, params: dict[str, str] | None = None,
        retry_unknown_contract: bool = False,
    ) -> Any:  # fmt: skip
        headers = {**self.auth, **({"Idempotency-Key": key} if key else {})}
        deadline = asyncio.get_running_loop().time() + RETRY_WITHIN_S
        while True:
            try:
                answer = await self.http.request(
                    method, self.urls[service] + path, headers=headers, json=body, params=params
                )
            except httpx.TransportError:
                answer = None  # killed under us, or not back yet: same key again
            if answer is not None and answer.status_code == status:
                return answer.json()
            if answer is not None and not (
                retry_unknown_contract
                and answer.status_code == 422
                and "is known (yet)" in answer.text
            ):
                raise AssertionError(
                    f"{method} {service}{path}: {answer.status_code} {answer.text}"
                )
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{method} {service}{path}: no answer in {RETRY_WITHIN_S}s")
            self.retries += 1
            await asyncio.sleep(0.1)

    async def until(self, what: str, probe: Callable[[], Awaitable[Any]]) -> Any:
        return await eventually(probe, within=RETRY_WITHIN_S, interval=0.1, what=what)

    async def listing(self, service: str, path: str, **params: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            query = {**params, "limit": "500", **({"cursor": cursor} if cursor else {})}
            page = await self.call("GET", service, path, params=query)
            rows += page["data"]
            if not (cursor := page["next_cursor"]):
                return rows

    def step(self) -> None:
        self.progress += 1
        self.moved.set()


async def f1(client: Client, account: str) -> None:
    """BILLING_RULES.md F1 for `account`, as far as its payment."""

    async def accepted(key: str, body: dict[str, Any]) -> dict[str, Any]:
        draft = await client.call("POST", "quote", "/v1/quotes", status=201, key=key, body=body,
                                  retry_unknown_contract=True)  # fmt: skip
        quote: dict[str, Any] = await client.call(
            "POST", "quote", f"/v1/quotes/{draft['id']}/accept", key=f"{key}-accept"
        )
        client.step()
        return quote

    async def schedules(what: str, keep: Callable[[list[dict[str, Any]]], bool]) -> None:
        async def probe() -> bool:
            found = await client.listing("billing", "/v1/billing-schedules", account_id=account)
            return bool(found) and keep(found)

        await client.until(f"{account}: {what}", probe)
        client.step()

    async def bill_run(as_of: str) -> None:
        await client.call("POST", "billing", "/v1/bill-runs", status=201,
                          key=f"{account}-run-{as_of}",
                          body={"as_of": as_of, "account_id": account})  # fmt: skip
        client.step()

    quote = await accepted(f"{account}-new", {
        "account_id": account, "currency": "USD", "start_date": "2026-01-15",
        "term_months": 12, "bill_cycle_day": 1, "billing_timing": "advance",
        "lines": [{"sku": "SEAT", "quantity": 10, "discount_percent": "10"},
                  {"sku": "SETUP", "quantity": 1}],
    })  # fmt: skip

    async def the_contract() -> dict[str, Any] | None:
        found = await client.listing("contract", "/v1/contracts", quote_id=quote["id"])
        return found[0] if found else None

    contract = await client.until(f"{account}: the contract", the_contract)
    await schedules("the new order", lambda found: len(found) == 2)
    await bill_run("2026-01-15")
    await bill_run("2026-02-01")
    seat = next(s for s in contract["subscriptions"] if s["sku"] == "SEAT")
    await accepted(f"{account}-amend", {
        "account_id": account, "currency": "USD", "kind": "amendment",
        "contract_id": contract["id"], "start_date": "2026-02-16",
        "lines": [{"sku": "SEAT", "quantity": 12, "subscription_id": seat["id"]}],
    })  # fmt: skip
    await schedules(
        "SEAT at 12 from 2026-02-16",
        lambda found: any((q["effective_date"], q["quantity"]) == ("2026-02-16", 12)
                          for s in found if s["sku"] == "SEAT" for q in s["quantities"]),
    )  # fmt: skip
    await bill_run("2026-03-01")

    async def booked() -> bool:
        owed = await client.call("GET", "ledger", f"/v1/receivables/{account}",
                                 params={"as_of": "2026-03-05"})  # fmt: skip
        return bool(owed["balance"] == sum(F1_INVOICES))

    await client.until(f"{account}: the three invoices at the ledger", booked)
    await client.call("POST", "ledger", "/v1/payments", status=201, key=f"{account}-pay", body={
        "account_id": account, "amount": 150000, "currency": "USD",
        "received_on": "2026-03-05", "reference": "F1 wire",
    })  # fmt: skip
    client.step()


async def kill_in_turn(stack: RunningStack, client: Client, total: int) -> list[str]:
    """SIGKILL each victim once the burst got that far, after the last one came back."""
    done = []
    for n, victim in enumerate(VICTIMS, start=1):
        while client.progress < total * n // (len(VICTIMS) + 1):
            client.moved.clear()
            await client.moved.wait()
        mark = len(stack.lines)
        if victim == "broker":
            os.kill(stack.tansu_pid(), signal.SIGKILL)
            await asyncio.to_thread(stack.wait_for_line, r"^the broker exited", 30, mark)
            for name in stack.urls():
                await asyncio.to_thread(
                    stack.wait_for_line, rf"^  {name}: republishing \d+ events", 120, mark
                )
        else:
            os.kill(stack.service_pid(victim), signal.SIGKILL)
            await asyncio.to_thread(stack.wait_for_line, rf"^  {victim} is ready again$", 120, mark)
        done.append(f"{victim} at {client.progress}/{total}")
    return done


async def burst_under_faults(stack: RunningStack, admin_key: str) -> tuple[Client, list[str]]:
    client = Client(stack.urls(), admin_key)
    try:
        for product in F1_PRODUCTS:
            await client.call("POST", "quote", "/v1/products", status=201,
                              key=f"product-{product['sku']}", body=product)  # fmt: skip
        accounts = [unique("chaos") for _ in range(ACCOUNTS)]
        gate = asyncio.Semaphore(IN_FLIGHT)

        async def customer(account: str) -> None:
            async with gate:
                await f1(client, account)

        killer = asyncio.create_task(kill_in_turn(stack, client, ACCOUNTS * STEPS_PER_ACCOUNT))
        await asyncio.gather(*(customer(a) for a in accounts))
        kills = await asyncio.wait_for(killer, 120)
        await check_books(client, accounts)
        return client, kills
    finally:
        await client.http.aclose()


async def check_books(client: Client, accounts: list[str]) -> None:
    """Every customer has F1's invoices and receivable; numbers gapless; TB = N x F1."""
    for account in accounts:

        async def settled(account: str = account) -> list[dict[str, Any]] | None:
            found = await client.listing("billing", "/v1/invoices", account_id=account)
            statuses = [i["status"] for i in found]
            return found if statuses == F1_STATUSES else None

        invoices = await client.until(f"{account}: billing follows the payment", settled)
        assert [i["total"] for i in invoices] == F1_INVOICES, account
        owed = await client.call("GET", "ledger", f"/v1/receivables/{account}",
                                 params={"as_of": "2026-03-05"})  # fmt: skip
        assert (owed["balance"], owed["unapplied_cash"]) == (F1_OWED, 0), account
        payments = await client.listing("ledger", "/v1/payments", account_id=account)
        assert [p["amount"] for p in payments] == [150000], account
        contracts = await client.listing("contract", "/v1/contracts", account_id=account)
        assert len(contracts) == 1, account
        orders = await client.listing("order", "/v1/orders", account_id=account)
        assert sorted(o["kind"] for o in orders) == ["amendment", "new"], account

    numbers = sorted(i["number"] for i in await client.listing("billing", "/v1/invoices"))
    assert numbers == [f"INV-{n:06d}" for n in range(1, 3 * len(accounts) + 1)]
    trial = await client.call("GET", "ledger", "/v1/reports/trial-balance",
                              params={"as_of": "2026-03-05"})  # fmt: skip
    [usd] = trial["currencies"]
    assert usd["total_debit"] == usd["total_credit"]
    assert {r["ledger_account"]: (r["debit"], r["credit"]) for r in usd["rows"]} == {
        account: (debit * len(accounts), credit * len(accounts))
        for account, (debit, credit) in F1_TRIAL_BALANCE.items()
    }
    tie_out = await client.call("GET", "ledger", "/v1/reports/tie-out",
                                params={"as_of": "2026-03-05"})  # fmt: skip
    [usd_tie] = tie_out["currencies"]
    assert (usd_tie["receivable_difference"], usd_tie["credit_difference"]) == (0, 0)
    assert usd_tie["open_invoices"] == F1_OWED * len(accounts)


def test_every_service_and_the_broker_killed_mid_burst_lose_and_double_nothing(
    tmp_path: Path,
) -> None:
    ports = Ports()
    with dev_stack(tmp_path, ports) as stack:
        stack.wait_ready()
        admin_key = json.loads((tmp_path / "var" / "dev-keys.json").read_text())["admin"]
        client, kills = asyncio.run(burst_under_faults(stack, admin_key))
        assert len(kills) == len(VICTIMS), kills
        assert client.retries > 0, "no request ever met a killed service"
        assert stack.process.poll() is None, stack.output()
