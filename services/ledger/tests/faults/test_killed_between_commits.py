"""The ledger process killed between its database commit and its offset commit.

The ledger runs as a child process (faults/crashing_ledger.py: the service's
own app, whose consumer dies on cue). Billing's events of six accounts are on
billing.events (invoices, a void, a credit note each, in a currency of the
test's own); the process exits right after committing the transaction holding
one InvoicePosted, before its offset is committed. Restarted on the same
database and consumer group, it gets that event (and the rest of its fetch)
again (the same script, nothing doomed, reporting what its inbox absorbs); the inbox
absorbs them. After it has caught up, the books equal those of
a ledger that ran without a fault on the same events: no entry doubled or lost.
On SQLite and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ledger.main import app_factory
from ledger.settings import LedgerSettings
from ledger_feed import BillingFeed, billed, f1_invoices, unique
from ledger_process import (
    books_state,
    fresh_currency,
    group_caught_up,
    ledger_env,
    ledger_process,
    new_group,
)
from revline_events.envelope import Envelope
from revline_testkit.broker import TansuBroker
from revline_testkit.fixtures import Backend, ServiceUnderTest, fresh_database
from revline_testkit.waiting import eventually

LEDGER = ServiceUnderTest("ledger", LedgerSettings, app_factory)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> Backend:
    """Each backend in turn."""
    param: Backend = request.param
    return param


def account_events(feed: BillingFeed, account: str, currency: str) -> list[Envelope]:
    """F1's three invoices, INV-000003 voided, then a credit note: every reaction's path."""
    invoices = f1_invoices(feed, account, currency=currency)
    note = feed.credit_note(account, "CN-000001", "2026-03-10",
                            billed("credit", -3000, "2026-03-10", "2026-03-31"),
                            currency=currency)  # fmt: skip
    return [*invoices, feed.void(invoices[2], "2026-03-05"), note]


async def test_killed_after_the_db_commit_of_invoice_posted_restarts_with_nothing_doubled(
    request: pytest.FixtureRequest,
    backend: Backend,
    tansu: TansuBroker,
    feed: BillingFeed,
    tmp_path: Path,
) -> None:
    currency = fresh_currency()
    accounts = [unique("killed") for _ in range(6)]
    events = {a: account_events(feed, a, currency) for a in accounts}
    for account in accounts:
        for envelope in events[account]:
            await feed.send(envelope)
    doomed = events[accounts[3]][1]  # INV-000002 of the fourth account
    assert doomed.type == "InvoicePosted"

    # A fault-free run of the same events.
    with fresh_database(request, backend, tmp_path, "reference") as url:
        async with LEDGER.serving(url, tansu.bootstrap, tmp_path,
                                  recognition_interval_s=0) as reference:  # fmt: skip
            group = reference.runtime.settings.consumer_group
            assert group is not None
            await group_caught_up(tansu.bootstrap, group)
            expected = await books_state(reference.client, accounts, currency)
    assert all(v["entry_count"] >= 7 for v in expected["accounts"].values()), expected

    with fresh_database(request, backend, tmp_path, "ledger") as url:
        env = ledger_env(url, tansu.bootstrap, tmp_path, new_group())
        crashing = {**env, "CRASH_AFTER_COMMIT_OF": doomed.event_id}
        first_log = tmp_path / "ledger-1.log"
        async with ledger_process(crashing, first_log, crashing=True) as (first, _client):
            process = first.process
            assert process is not None

            async def died() -> bool:
                return process.poll() is not None

            await eventually(died, within=90, what="the ledger died after the commit")
        assert process.returncode == 1
        assert f"crashing after the commit of {doomed.event_id}" in first_log.read_text()

        second_log = tmp_path / "ledger-2.log"
        async with ledger_process(env, second_log, crashing=True) as (_second, client):
            await group_caught_up(tansu.bootstrap, env["LEDGER_CONSUMER_GROUP"])
            after = await books_state(client, accounts, currency)

    # Its offset was not committed: it came again, and the inbox absorbed it.
    redelivered = {
        line.removeprefix("redelivered ").strip()
        for line in second_log.read_text().splitlines()
        if line.startswith("redelivered ")
    }
    assert doomed.event_id in redelivered
    assert after == expected
