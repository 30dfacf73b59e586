"""Revenue recognition started by the service itself (ledger/recognition_timer.py).

The ledger runs with a FixedClock the test moves and a timer of 50 ms: moving
the clock past a month's end is what makes the month's recognition appear, with
no request. On SQLite and PostgreSQL, one replica and two on one database.

The recurring line is 9000 over 2026-01-01..2026-03-31 (90 days): January
31/90 = 3100, February cumulative 59/90 = 5900 so 2800, March 3100 (W19's rule).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from fresh_ledger import LEDGER
from ledger.handlers.recognition import recognise_books
from ledger.recognition_timer import run_recognition
from ledger.store.locks import recognition_lock
from ledger_feed import FINANCE, BillingFeed, billed, journal_entries, wait_for_entries, written
from revline_events.clock import FixedClock
from revline_testkit.broker import TansuBroker
from revline_testkit.fixtures import (
    Backend,
    fresh_database,
    live_service_fixture,
)
from revline_testkit.live import LiveService, stored_events
from revline_testkit.topics import unique
from revline_testkit.waiting import eventually

TICK_S = 0.05

ledger_on_a_timer = live_service_fixture(
    LEDGER, scope="function", clock="ledger_clock", recognition_interval_s=TICK_S
)
ledger_without_timer = live_service_fixture(
    LEDGER, scope="function", clock="ledger_clock", recognition_interval_s=0
)

POSTED = ("2026-01-01", "Dr 1100 9000; Cr 2100 9000")
JANUARY = ("2026-01-31", "Dr 2100 3100; Cr 4000 3100")
FEBRUARY = ("2026-02-28", "Dr 2100 2800; Cr 4000 2800")
MARCH = ("2026-03-31", "Dr 2100 3100; Cr 4000 3100")


@pytest.fixture
def ledger_clock() -> FixedClock:
    """The ledger's clock; the test moves it."""
    return FixedClock(datetime(2026, 1, 10, 9, 30, tzinfo=UTC))


def on(day: str) -> datetime:
    """6 in the morning (UTC) of `day`."""
    return datetime.fromisoformat(f"{day}T06:00:00+00:00")


async def quarter_invoice(feed: BillingFeed, client: Any, account: str) -> None:
    """Post the account's invoice of one recurring quarter (9000) and wait for its entry."""
    await feed.send(
        feed.invoice(account, "INV-000001", "2026-01-01", "2026-01-31",
                     billed("recurring", 9000, "2026-01-01", "2026-03-31"))
    )  # fmt: skip
    await wait_for_entries(client, account, 1)


async def written_entries(client: Any, account: str, count: int) -> list[tuple[str, str]]:
    """The account's entries as BILLING_RULES.md writes them, once there are `count`."""
    return [written(e) for e in await wait_for_entries(client, account, count)]


async def test_moving_the_clock_past_a_month_end_recognises_the_month_with_no_request(
    ledger_on_a_timer: LiveService, ledger_clock: FixedClock, feed: BillingFeed
) -> None:
    client = ledger_on_a_timer.client
    account = unique("timer")
    await quarter_invoice(feed, client, account)

    ledger_clock.set(on("2026-01-31"))
    assert await written_entries(client, account, 2) == [POSTED, JANUARY]
    ledger_clock.set(on("2026-03-31"))
    assert await written_entries(client, account, 4) == [POSTED, JANUARY, FEBRUARY, MARCH]

    # Finance's run for the same date finds nothing left: idempotent by date.
    run = await client.post("/v1/recognition-runs", json={"through": "2026-03-31"},
                            headers=FINANCE)  # fmt: skip
    assert run.status_code == 201, run.text
    assert [written(e) for e in await journal_entries(client, account_id=account)] == [
        POSTED, JANUARY, FEBRUARY, MARCH,
    ]  # fmt: skip
    facts = await stored_events(ledger_on_a_timer, f"book:USD:{account}")
    through = [e.payload["through"] for e in facts if e.type == "RevenueRecognisedThrough"]
    assert through == ["2026-01-31", "2026-03-31"]  # one fact per run that posted


async def test_two_replicas_on_one_database_recognise_each_month_once(
    request: pytest.FixtureRequest,
    backend: Backend,
    tansu: TansuBroker,
    feed: BillingFeed,
    tmp_path: Path,
) -> None:
    clock = FixedClock(datetime(2026, 1, 10, 9, 30, tzinfo=UTC))
    accounts = [unique("replicas") for _ in range(6)]
    group = f"ledger-replicas-{unique('g')}"
    with fresh_database(request, backend, tmp_path, "ledger") as url:
        async with LEDGER.serving(url, tansu.bootstrap, tmp_path, clock,
                                  recognition_interval_s=TICK_S, consumer_group=group,
                                  recognition_batch_books=2) as first:  # fmt: skip
            async with LEDGER.serving(url, tansu.bootstrap, tmp_path, clock,
                                      recognition_interval_s=TICK_S, consumer_group=group,
                                      recognition_batch_books=2) as second:  # fmt: skip
                for account in accounts:
                    await quarter_invoice(feed, first.client, account)

                clock.set(on("2026-02-28"))
                for account in accounts:
                    assert await written_entries(second.client, account, 3) == [
                        POSTED, JANUARY, FEBRUARY
                    ]  # fmt: skip
                clock.set(on("2026-03-31"))
                for account in accounts:
                    await written_entries(first.client, account, 4)
                # Both timers ran for both dates; still one entry per line and month.
                for account in accounts:
                    found = await journal_entries(second.client, account_id=account)
                    assert [written(e) for e in found] == [POSTED, JANUARY, FEBRUARY, MARCH]


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> Backend:
    """Each backend in turn."""
    param: Backend = request.param
    return param


async def test_a_run_cut_short_is_finished_by_the_next_with_no_month_twice(
    ledger_without_timer: LiveService, feed: BillingFeed
) -> None:
    """What a crash mid-run leaves (the batches committed before it, not the one in hand)
    is finished by the next run, which posts only what was left."""
    service = ledger_without_timer
    runtime = service.runtime
    accounts = sorted(unique("cut") for _ in range(4))
    for account in accounts:
        await quarter_invoice(feed, service.client, account)
    through = date(2026, 3, 31)

    # The run died after committing its first batch (the first two books).
    async with runtime.uow() as uow:
        await recognise_books(uow, "rr-cut-short", through, [(a, "USD") for a in accounts[:2]])
        await uow.commit()
    # And the batch in hand (the third book) was rolled back with the crash.
    async with runtime.uow() as uow:
        await recognise_books(uow, "rr-cut-short", through, [(accounts[2], "USD")])

    for account in accounts[:2]:
        assert await written_entries(service.client, account, 4) == [
            POSTED, JANUARY, FEBRUARY, MARCH
        ]  # fmt: skip
    assert len(await journal_entries(service.client, account_id=accounts[2])) == 1

    finished = await run_recognition(runtime, through, batch_books=1)

    assert finished is not None
    for account in accounts:
        found = await journal_entries(service.client, account_id=account)
        assert [written(e) for e in found] == [POSTED, JANUARY, FEBRUARY, MARCH]
    facts: Counter[str] = Counter()
    for account in accounts:
        stream = await stored_events(service, f"book:USD:{account}")
        facts.update(e.payload["run_id"] for e in stream if e.type == "RevenueRecognisedThrough")
    assert facts == {"rr-cut-short": 2, finished.run_id: 2}


async def test_a_replica_skips_the_run_while_another_holds_its_lock(
    ledger_without_timer: LiveService, feed: BillingFeed
) -> None:
    runtime = ledger_without_timer.runtime
    account = unique("locked")
    await quarter_invoice(feed, ledger_without_timer.client, account)

    async with recognition_lock(runtime.db) as held:
        assert held
        meanwhile = await run_recognition(runtime, date(2026, 1, 31), batch_books=10)
    if runtime.db.is_postgres:
        # Another connection held the lock, as another replica's would: skipped.
        assert meanwhile is None
        assert len(await journal_entries(ledger_without_timer.client, account_id=account)) == 1
    else:
        assert meanwhile is not None  # SQLite: the single replica, no lock between replicas
    after = await run_recognition(runtime, date(2026, 1, 31), batch_books=10)

    assert after is not None
    entries = await eventually(
        lambda: _entries_when(ledger_without_timer, account, 2), what="January recognised"
    )
    assert entries == [POSTED, JANUARY]


async def _entries_when(service: LiveService, account: str, count: int) -> list[Any] | None:
    found = [written(e) for e in await journal_entries(service.client, account_id=account)]
    return found if len(found) == count else None


async def test_a_report_requested_during_a_run_is_answered_before_the_run_ends(
    ledger_without_timer: LiveService, feed: BillingFeed
) -> None:
    """The timer's run does not hold the database from requests for its whole length.

    On SQLite the process has one connection, and with SQLite inline nothing in a run
    suspends: a run that kept it over a batch of books, or took it straight back after
    each commit, answered a request made meanwhile only once it was over (the trial
    balance of a 100,000-invoice ledger took 0.5 s for the first seconds after start-up,
    4 ms once the run was done). Now it commits each book and yields between them. On
    PostgreSQL the request takes another connection of the pool."""
    service = ledger_without_timer
    accounts = sorted(unique("during") for _ in range(40))
    for account in accounts:
        await feed.send(
            feed.invoice(account, "INV-000001", "2026-01-01", "2026-01-31",
                         billed("recurring", 9000, "2026-01-01", "2026-03-31"))
        )  # fmt: skip
    for account in accounts:
        await wait_for_entries(service.client, account, 1)

    run = asyncio.create_task(run_recognition(service.runtime, date(2026, 1, 31), 200))
    try:
        report = await service.client.get(
            "/v1/reports/trial-balance", params={"as_of": "2026-01-31"}, headers=FINANCE
        )
        assert report.status_code == 200, report.text
        assert not run.done()  # answered while the run still had books to recognise
    finally:
        finished = await run
    assert finished is not None
    for account in accounts:
        assert await written_entries(service.client, account, 2) == [POSTED, JANUARY]
