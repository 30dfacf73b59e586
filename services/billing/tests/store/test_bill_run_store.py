"""The bill-run repositories on a real database: the work queue, the runs, the numbers.

Each test migrates a fresh database (SQLite file, then PostgreSQL, unless it says
otherwise) and writes the rows a run reads; the bill-run tests in api/ drive the
same repositories through the service.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest
from billing.domain.bill_run import BillRun, BillRunStatus
from billing.main import SPEC
from billing.store.bill_runs import BillRunQueue, BillRuns, IssuedCounts
from billing.store.numbering import NUMBERS_LOCK, DocumentNumbers
from billing.store.tables import bill_runs, billing_accounts, document_numbers
from revline_events.database import Database
from revline_service.migrations import upgrade
from sqlalchemy import insert, text

AS_OF = date(2026, 2, 1)
CREATED = datetime(2026, 2, 1, 6, 0, tzinfo=UTC)


async def migrated(url: str) -> Database:
    """The billing schema at head on `url`."""
    await upgrade(SPEC.alembic_dir, url)
    return Database(url)


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = await migrated(db_url)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
async def pg(pg_url: str) -> AsyncIterator[Database]:
    database = await migrated(pg_url)
    try:
        yield database
    finally:
        await database.dispose()


async def accounts_due(db: Database, due: dict[str, date | None]) -> None:
    async with db.session() as session, session.begin():
        await session.execute(
            insert(billing_accounts),
            [{"account_id": a, "next_bill_date": d, "orders_scheduled": 1} for a, d in due.items()],
        )


async def test_a_run_queues_the_accounts_due_by_its_date_in_batches_in_account_order(
    db: Database,
) -> None:
    due = {"a5": AS_OF, "a1": date(2026, 1, 1), "a3": AS_OF, "a2": AS_OF, "a4": date(2026, 1, 15)}
    await accounts_due(db, {**due, "late": date(2026, 2, 2), "none": None})

    async with db.session() as session, session.begin():
        queue = BillRunQueue(session)
        await queue.enqueue_due_accounts("br_all", AS_OF, None, batch_size=2)
        await queue.enqueue_due_accounts("br_one", AS_OF, "a3", batch_size=2)
        await queue.enqueue_due_accounts("br_late", AS_OF, "late", batch_size=2)
        batches = [await queue.accounts_of("br_all", n) for n in range(4)]
        one = [await queue.accounts_of("br_one", n) for n in range(2)]
        late_left = await queue.has_unbilled_batches("br_late")

    assert batches == [["a1", "a2"], ["a3", "a4"], ["a5"], []]
    assert one == [["a3"], []]
    assert late_left is False


async def test_batches_are_claimed_in_order_until_each_is_billed(db: Database) -> None:
    await accounts_due(db, {"a1": AS_OF, "a2": AS_OF, "a3": AS_OF})
    async with db.session() as session, session.begin():
        await BillRunQueue(session).enqueue_due_accounts("br_1", AS_OF, None, batch_size=2)

    claimed = []
    for _ in range(2):
        async with db.session() as session, session.begin():
            queue = BillRunQueue(session)
            batch = await queue.claim_batch("br_1")
            assert batch is not None
            claimed.append(batch)
            await queue.mark_billed("br_1", batch)
    async with db.session() as session, session.begin():
        queue = BillRunQueue(session)
        left, next_batch = await queue.has_unbilled_batches("br_1"), await queue.claim_batch("br_1")

    assert claimed == [0, 1]
    assert (left, next_batch) == (False, None)


async def test_a_batch_another_worker_holds_is_skipped_and_claimed_again_after_its_rollback(
    pg: Database,
) -> None:
    await accounts_due(pg, {"a1": AS_OF, "a2": AS_OF})
    async with pg.session() as session, session.begin():
        await BillRunQueue(session).enqueue_due_accounts("br_1", AS_OF, None, batch_size=1)

    async with pg.session() as first:  # left without commit: it rolls back
        held = await BillRunQueue(first).claim_batch("br_1")
        async with pg.session() as second, second.begin():
            # Were the held batch waited for rather than skipped, fail instead of hanging.
            await second.execute(text("SET LOCAL lock_timeout = '10s'"))
            other = BillRunQueue(second)
            skipped_to = await other.claim_batch("br_1")
            still_left = await other.has_unbilled_batches("br_1")
    async with pg.session() as third, third.begin():
        again = await BillRunQueue(third).claim_batch("br_1")

    assert (held, skipped_to, still_left, again) == (0, 1, True, 0)


async def test_runs_are_read_with_their_status_and_the_unfinished_ones_oldest_first(
    db: Database,
) -> None:
    rows = [
        ("br_3", "running", None),
        ("br_1", "running", "acme"),
        ("br_2", "completed", None),
    ]
    async with db.session() as session, session.begin():
        await session.execute(
            insert(bill_runs),
            [
                {"id": run_id, "as_of": AS_OF, "account_id": account, "status": status,
                 "invoice_count": 0, "credit_note_count": 0, "created_at": CREATED,
                 "completed_at": None, "stream_version": 1}
                for run_id, status, account in rows
            ],
        )  # fmt: skip

    async with db.session() as session, session.begin():
        runs = BillRuns(session)
        found, completed = await runs.find("br_1"), await runs.lock("br_2")
        unknown, unfinished = await runs.find("br_9"), await runs.unfinished()
        counts = await runs.issued_counts("br_2")

    assert found == BillRun("br_1", AS_OF, "acme", BillRunStatus.RUNNING, 1)
    assert not found.completed and completed.completed
    assert unknown is None
    assert unfinished == ["br_1", "br_3"]
    assert counts == IssuedCounts(invoices=0, credit_notes=0)


async def test_numbers_follow_the_last_of_each_kind_gaplessly(db: Database) -> None:
    async with db.session() as session, session.begin():
        first = await DocumentNumbers(session).lock()
        fresh = [first.invoice(), first.credit_note(), first.invoice()]
    async with db.session() as session, session.begin():
        await session.execute(
            insert(document_numbers),
            [{"kind": "invoice", "last_number": 41}, {"kind": "credit_note", "last_number": 7}],
        )
    async with db.session() as session, session.begin():
        after = await DocumentNumbers(session).lock()
        following = [after.credit_note(), after.invoice(), after.invoice()]

    assert fresh == ["INV-000001", "CN-000001", "INV-000002"]
    assert following == ["CN-000008", "INV-000042", "INV-000043"]


async def test_numbering_on_postgresql_holds_its_advisory_lock_until_commit(pg: Database) -> None:
    # Row locks cannot cover a counter that has no row yet: the advisory lock does.
    held = text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = :k"
        " AND pid = pg_backend_pid()"
    )
    async with pg.session() as session:
        before = (await session.execute(held, {"k": NUMBERS_LOCK})).scalar_one()
        await DocumentNumbers(session).lock()
        during = (await session.execute(held, {"k": NUMBERS_LOCK})).scalar_one()
        await session.commit()
        after = (await session.execute(held, {"k": NUMBERS_LOCK})).scalar_one()

    assert (before, during, after) == (0, 1, 0)
