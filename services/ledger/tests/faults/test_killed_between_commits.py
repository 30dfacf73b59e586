"""The ledger process killed between its database commit and its offset commit.

The ledger runs as a child process (faults/crashing_ledger.py: the service's
own app, whose consumer dies on cue). Billing's events of six accounts go to
billing.events (invoices, a void, a credit note each, in a currency of the
test's own); the process exits right after committing the transaction holding
an InvoicePosted, before its offset is committed. Restarted on the same
database and consumer group, it gets that event (and the rest of its fetch)
again and its inbox absorbs them (the script logs what it absorbs); then it is
killed the same way after an InvoiceVoided, and after a CreditNoteIssued.
After a last restart has caught up, the books equal those of a ledger that ran
without a fault on the same events: no entry doubled or lost. On SQLite and
PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ledger.main import app_factory
from ledger.settings import LedgerSettings
from ledger_feed import BILLING_EVENTS, BillingFeed, billed, f1_invoices
from ledger_process import (
    CrashingLedgerProcess,
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
from revline_testkit.topics import topic_ends, unique
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


async def killed_after_commit_of(env: dict[str, str], doomed: Envelope, log: Path) -> None:
    """Run crashing_ledger.py until it dies right after committing `doomed` (not waiting
    for readiness: it may die first)."""
    process = CrashingLedgerProcess("ledger", {**env, "CRASH_AFTER_COMMIT_OF": doomed.event_id},
                                    log_path=log)  # fmt: skip
    process.start()
    try:
        child = process.process
        assert child is not None

        async def died() -> bool:
            return child.poll() is not None

        await eventually(died, within=90, what=f"the ledger died after {doomed.type}")
    finally:
        process.kill()  # only if it still runs
    assert child.returncode == 1, log.read_text()[-3000:]
    assert f"crashing after the commit of {doomed.event_id}" in log.read_text()


def redelivered(log: Path) -> set[str]:
    """The event ids the inbox absorbed as redeliveries, as the process logged them."""
    lines = log.read_text().splitlines()
    return {x.removeprefix("redelivered ").strip() for x in lines if x.startswith("redelivered ")}


async def test_killed_after_each_kind_of_commit_restarts_with_nothing_doubled_or_lost(
    request: pytest.FixtureRequest,
    backend: Backend,
    tansu: TansuBroker,
    feed: BillingFeed,
    tmp_path: Path,
) -> None:
    start = await topic_ends(tansu.bootstrap, BILLING_EVENTS)
    currency = fresh_currency()
    accounts = [unique("killed") for _ in range(6)]
    events = {a: account_events(feed, a, currency) for a in accounts}
    # Killed after the commit of an InvoicePosted, then (after a restart) of an
    # InvoiceVoided, then of a CreditNoteIssued. Each doomed event is published only
    # once the previous crash happened, so the restarted ledger has not seen it yet.
    rounds = [
        (accounts[:4], events[accounts[3]][1]),  # INV-000002 of the fourth account
        (accounts[4:5], events[accounts[4]][3]),
        (accounts[5:], events[accounts[5]][4]),
    ]
    assert [doomed.type for _, doomed in rounds] == [
        "InvoicePosted", "InvoiceVoided", "CreditNoteIssued"
    ]  # fmt: skip

    with fresh_database(request, backend, tmp_path, "ledger") as url:
        env = ledger_env(url, tansu.bootstrap, tmp_path, await new_group(tansu.bootstrap, start))
        logs = [tmp_path / f"ledger-{n}.log" for n in range(len(rounds) + 1)]
        for n, (publish, doomed) in enumerate(rounds):
            for account in publish:
                for envelope in events[account]:
                    await feed.send(envelope)
            await killed_after_commit_of(env, doomed, logs[n])
        async with ledger_process(env, logs[-1], crashing=True) as (_last, client):
            await group_caught_up(tansu.bootstrap, env["LEDGER_CONSUMER_GROUP"])
            after = await books_state(client, accounts, currency)

    # Each doomed offset was not committed: the event came again after a later restart
    # (the next one, or a later one when the next died on another partition first), and
    # the inbox absorbed it.
    for n, (_, doomed) in enumerate(rounds):
        later = set().union(*(redelivered(log) for log in logs[n + 1 :]))
        assert doomed.event_id in later, doomed.type

    # A fault-free run of the same events.
    with fresh_database(request, backend, tmp_path, "reference") as url:
        reference_group = await new_group(tansu.bootstrap, start)
        async with LEDGER.serving(url, tansu.bootstrap, tmp_path, recognition_interval_s=0,
                                  consumer_group=reference_group) as reference:  # fmt: skip
            group = reference.runtime.settings.consumer_group
            assert group is not None
            await group_caught_up(tansu.bootstrap, group)
            expected = await books_state(reference.client, accounts, currency)
    assert all(v["entry_count"] >= 7 for v in expected["accounts"].values()), expected
    assert after == expected
