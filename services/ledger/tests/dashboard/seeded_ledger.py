"""The dashboard tests' ledger: live on SQLite and the module's broker, fed M1
(METRICS.md) as the quote and contract services publish it (its metrics read model
then holds M1's History) and EUR invoices of M1's accounts on billing.events."""

from __future__ import annotations

from ledger_feed import FINANCE, BillingFeed, billed, wait_for_entries
from metrics_feed import M1Feed, publish
from revline_testkit.live import LiveService
from revline_testkit.topics import caught_up

APRIL = {"as_of": "2025-04-30", "currency": "EUR"}
# M1's accounts, contracts and quotes as `m1-A`, `m1-c-A`, ...: each module's ledger has a
# database and a consumer group of its own, starting at the topics' ends.
M1 = M1Feed("m1", "EUR")
A, B, C = M1.id("A"), M1.id("B"), M1.id("C")


async def seed(ledger: LiveService, feed: BillingFeed) -> LiveService:
    """M1's quotes and contracts, and EUR invoices of A, B and C booked: as of 2025-04-30,
    A's first invoice (1,500.00) is 80 days past due, its second (700.00) 49, B's
    (1,000.00) 30, C's (120.00) current; revenue recognised through 2025-04-30."""
    await publish(feed.producer, M1.events())
    invoices = [
        feed.invoice(A, "INV-A1", "2025-01-10", "2025-02-09",
                     billed("one_time", 100000, "2025-01-10"),
                     billed("recurring", 50000, "2025-01-10", "2025-02-09"), currency="EUR"),
        feed.invoice(A, "INV-A2", "2025-02-10", "2025-03-12",
                     billed("recurring", 70000, "2025-02-10", "2025-03-09"), currency="EUR"),
        feed.invoice(B, "INV-B1", "2025-03-01", "2025-03-31",
                     billed("recurring", 100000, "2025-03-01", "2025-03-31"), currency="EUR"),
        feed.invoice(C, "INV-C1", "2025-04-05", "2025-05-05",
                     billed("recurring", 12000, "2025-04-05", "2025-05-04"), currency="EUR"),
    ]  # fmt: skip
    for envelope in invoices:
        await feed.send(envelope)
    await caught_up(ledger)
    for account, count in ((A, 2), (B, 1), (C, 1)):
        await wait_for_entries(ledger.client, account, count)
    # Finance recognises revenue through the month end before reading it.
    run = await ledger.client.post(
        "/v1/recognition-runs", json={"through": "2025-04-30"}, headers=FINANCE
    )
    assert run.status_code == 201, run.text
    return ledger
