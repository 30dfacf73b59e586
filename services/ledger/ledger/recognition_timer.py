"""Revenue recognition started by the service itself: a worker that, every
`LEDGER_RECOGNITION_INTERVAL_S`, recognises every book through the clock's today.

What it runs is what `POST /v1/recognition-runs {through: today}` runs, over
batches of `LEDGER_RECOGNITION_BATCH_BOOKS` books (the book keys read in one
statement), each batch a transaction on PostgreSQL and each book one on SQLite:

- **Requests are not held up.** On SQLite the process has one connection
  (revline_events.database): a transaction over a batch of 200 books held it
  for the batch's folds (about 0.1 s at 100,000 invoices), and since nothing
  suspends with SQLite inline, the timer took it straight back after each
  commit, so every report, payment and consumer batch during a start-up or
  daily run waited for several batches (trial balance 0.5 s instead of 4 ms
  for the first seconds of a 100,000-invoice ledger). Now the timer commits
  each book and yields to the loop before it takes the connection again, so a
  request waits for one book's fold at most. PostgreSQL has a pool: its
  requests never waited for the timer's connection, batches stay as they were.

- **Idempotent by date.** A book with nothing due records nothing, so a run
  for a date already done (by this replica, another, or finance's request)
  changes nothing, and a timer that fires many times a day costs one scan
  per replica and day (the last date done is remembered in memory).
- **Safe to crash mid-way.** A crash leaves whole transactions committed and
  the one in hand rolled back; the run starts again at start-up and every
  tick until a run for that date completes, and the books done already have
  nothing due.
- **Safe with several replicas.** On PostgreSQL a replica runs only while it
  holds a session advisory lock (taken with try-lock; a replica that does not
  get it skips the tick, and the lock goes with its holder's connection when
  the holder dies). Correctness does not rest on the lock: each book is
  loaded under its own lock and refolded, so two runs at once still post a
  line-month once. SQLite is the single-replica default.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import date

from revline_service.service import Runtime

from ledger.handlers.recognition import recognise_books
from ledger.settings import LedgerSettings
from ledger.store.locks import recognition_lock
from ledger.store.receivables import Receivables

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TimedRun:
    """What one run of the timer did: the date, the books and entries it posted."""

    run_id: str
    through: date
    books: int
    entries: int


async def recognise_through_today(runtime: Runtime) -> None:
    """The worker: recognise through the clock's today at start-up, then every interval,
    until the service stops. An interval of 0 turns it off."""
    settings = runtime.settings
    assert isinstance(settings, LedgerSettings)
    interval = settings.recognition_interval_s
    if interval <= 0:
        return
    done_through: date | None = None
    while not runtime.stopping.is_set():
        today = runtime.clock.today()
        if today != done_through:
            try:
                run = await run_recognition(runtime, today, settings.recognition_batch_books)
            except Exception:
                log.exception("recognition through %s failed; retrying next tick", today)
            else:
                if run is not None:
                    done_through = today
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(runtime.stopping.wait(), interval)


async def run_recognition(runtime: Runtime, through: date, batch_books: int) -> TimedRun | None:
    """Recognise every book's revenue due by `through`, `batch_books` books per
    transaction, in (account, currency) order. None when another replica holds the run's
    lock (nothing done here then)."""
    async with recognition_lock(runtime.db) as held:
        if not held:
            log.info("recognition through %s: another replica is running it", through)
            return None
        run_id = runtime.ids.new("rr")
        after: tuple[str, str] | None = None
        books = entries = 0
        per_transaction = batch_books if runtime.db.is_postgres else 1
        while True:
            async with runtime.uow() as uow:
                batch = await uow.repository(Receivables).books(after=after, limit=batch_books)
            if not batch:
                break
            for start in range(0, len(batch), per_transaction):
                if runtime.stopping.is_set():
                    return None  # stopped mid-way: the next start takes the run up again
                async with runtime.uow() as uow:
                    chunk = batch[start : start + per_transaction]
                    posted, posted_entries = await recognise_books(uow, run_id, through, chunk)
                    await uow.commit()
                books, entries = books + posted, entries + posted_entries
                # Hand the connection to whoever waits for it (on SQLite, the only one)
                # before taking it again: nothing above suspends on SQLite inline.
                await asyncio.sleep(0)
            after = batch[-1]
    log.info("recognition through %s: %d entries in %d books", through, entries, books)
    return TimedRun(run_id, through, books, entries)
