"""The ledger the service tests start: its new consumer group begins at billing.events'
end (the session's earlier events are not read), a group that committed reads on."""

from __future__ import annotations

from pathlib import Path

import pytest
from fresh_ledger import LEDGER
from ledger_feed import BillingFeed, billed, journal_entries, wait_for_entries
from revline_testkit.broker import TansuBroker
from revline_testkit.fixtures import fresh_database
from revline_testkit.topics import caught_up, unique


async def test_a_new_group_starts_at_the_end_and_a_restarted_one_reads_on(
    request: pytest.FixtureRequest, tansu: TansuBroker, feed: BillingFeed, tmp_path: Path
) -> None:
    before, during, stopped = (unique("fresh") for _ in range(3))
    await feed.send(feed.invoice(before, "INV-1", "2026-01-15", "2026-02-14",
                                 billed("one_time", 1000, "2026-01-15")))  # fmt: skip
    group = unique("ledger-fresh")
    with fresh_database(request, "sqlite", tmp_path, "ledger") as url:
        async with LEDGER.serving(url, tansu.bootstrap, tmp_path, consumer_group=group) as ledger:
            await feed.send(feed.invoice(during, "INV-1", "2026-01-15", "2026-02-14",
                                         billed("one_time", 2000, "2026-01-15")))  # fmt: skip
            assert len(await wait_for_entries(ledger.client, during, 1)) == 1
            await caught_up(ledger)
            assert await journal_entries(ledger.client, account_id=before) == []
        await feed.send(feed.invoice(stopped, "INV-1", "2026-01-15", "2026-02-14",
                                     billed("one_time", 3000, "2026-01-15")))  # fmt: skip
        async with LEDGER.serving(url, tansu.bootstrap, tmp_path, consumer_group=group) as again:
            assert len(await wait_for_entries(again.client, stopped, 1)) == 1
            await caught_up(again)
            assert await journal_entries(again.client, account_id=before) == []
            assert len(await journal_entries(again.client, account_id=during)) == 1
