"""The ledger's PostgreSQL refuses connections for a while, then comes back.

On a cluster of the test's own (stopping the session's would stop every other
test on this worker): the ledger books an invoice; the server is stopped. While
it is down the ledger says it is not ready, a payment is answered 503 with
Retry-After (problem+json, not a 500), and billing events keep arriving. Once the
server is back the ledger is ready again, catches up with what arrived meanwhile
(its consumer kept its offsets: nothing skipped, nothing dead-lettered), and the
payment retried with the same Idempotency-Key is taken once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from fresh_ledger import LEDGER
from ledger_feed import BILLING_EVENTS, FINANCE, BillingFeed, f1_invoices
from ledger_process import fresh_currency
from revline_events.topics import dead_letter_topic
from revline_testkit.broker import TansuBroker
from revline_testkit.postgres import ThrowawayPostgres
from revline_testkit.topics import topic_ends, unique
from revline_testkit.waiting import eventually


async def _owed(client: httpx.AsyncClient, account: str, currency: str) -> dict[str, Any] | None:
    answer = await client.get(f"/v1/receivables/{account}", headers=FINANCE,
                              params={"currency": currency, "as_of": "2026-03-05"})  # fmt: skip
    if answer.status_code != 200:
        return None  # 503 while the database is away
    body: dict[str, Any] = answer.json()
    return body


async def test_a_database_outage_is_not_ready_refuses_writes_with_503_and_catches_up_after(
    tansu: TansuBroker, feed: BillingFeed, tmp_path: Path
) -> None:
    currency = fresh_currency()
    before, during = unique("outage-before"), unique("outage-during")
    payment = {"account_id": before, "amount": 49677, "currency": currency,
               "received_on": "2026-03-05", "reference": "during the outage"}  # fmt: skip
    pay = {**FINANCE, "Idempotency-Key": unique("outage-pay")}
    dlq = dead_letter_topic(BILLING_EVENTS)
    dead_before = sum((await topic_ends(tansu.bootstrap, dlq)).values())

    with ThrowawayPostgres() as server:
        url = server.create_database("ledger_outage")
        async with LEDGER.serving(url, tansu.bootstrap, tmp_path,
                                  recognition_interval_s=0) as ledger:  # fmt: skip
            client = ledger.client
            for envelope in f1_invoices(feed, before, currency=currency):
                await feed.send(envelope)

            async def booked(account: str, invoices: int) -> bool:
                owed = await _owed(client, account, currency)
                return owed is not None and len(owed["open_invoices"]) == invoices

            await eventually(lambda: booked(before, 3), what="the invoices booked")

            server.halt()
            ready = await client.get("/readyz")
            assert ready.status_code == 503, ready.text
            assert ready.json()["checks"]["database"] != "ok"
            refused = await client.post("/v1/payments", json=payment, headers=pay)
            assert refused.status_code == 503, refused.text
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert refused.headers["retry-after"] == "1"
            assert refused.json()["status"] == 503
            for envelope in f1_invoices(feed, during, currency=currency):
                await feed.send(envelope)  # arrives while the ledger cannot write

            async def not_ready() -> bool:
                return (await client.get("/readyz")).status_code == 503

            assert await not_ready()  # still down: the events above wait
            server.resume()

            async def ready_again() -> bool:
                return (await client.get("/readyz")).status_code == 200

            await eventually(ready_again, within=30, what="ready once the database is back")
            await eventually(lambda: booked(during, 3), within=30, what="caught up")

            async def paid() -> httpx.Response | None:
                answer = await client.post("/v1/payments", json=payment, headers=pay)
                return answer if answer.status_code != 503 else None

            taken = await eventually(paid, within=30, what="the payment taken")
            assert taken.status_code == 201, taken.text
            again = await client.post("/v1/payments", json=payment, headers=pay)
            assert again.json() == taken.json()
            listed = await client.get("/v1/payments", params={"account_id": before},
                                      headers=FINANCE)  # fmt: skip
            assert [p["amount"] for p in listed.json()["data"]] == [49677]
            owed = await _owed(client, before, currency)
            assert owed is not None and len(owed["open_invoices"]) == 2

    dead_after = sum((await topic_ends(tansu.bootstrap, dlq)).values())
    assert dead_after == dead_before, "an event met the outage and was dead-lettered"
