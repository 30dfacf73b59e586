"""`python -m contract dlq list|replay` against the live service's database and broker.

An amendment that arrives before the quote that opens its contract is refused
(UnknownContract) and dead-lettered; once the contract exists, replaying the
entry applies it once, and a second replay is a duplicate that changes nothing.
Bytes that are no envelope are listed and reported unparseable, never applied.
"""

from __future__ import annotations

import io
import json
from datetime import date
from typing import TYPE_CHECKING, Any

from contract.main import SPEC
from contract_driver import accepted_quote, line, published_events, unique_account
from revline_events.ids import derived_id
from revline_service.dlq_cli import dlq_command
from revline_testkit.waiting import eventually
from sqlalchemy import func, select

if TYPE_CHECKING:
    from contract_driver import ContractDriver


async def dlq(contracts: ContractDriver, *argv: str) -> tuple[int, dict[str, Any]]:
    """Run `python -m contract dlq *argv --json` with the live service's settings."""
    out = io.StringIO()
    code = await dlq_command(SPEC, contracts.service.runtime.settings, [*argv, "--json"], out)
    body: dict[str, Any] = json.loads(out.getvalue())
    return code, body


async def listed(contracts: ContractDriver, found: Any, what: str) -> dict[str, Any]:
    """The first entry of `dlq list` for which `found(entry)` holds, once it is there."""

    async def probe() -> dict[str, Any] | None:
        code, body = await dlq(contracts, "list")
        assert code == 0
        assert body["topics"] == ["quote.events.dlq"]
        return next((e for e in body["entries"] if found(e)), None)

    return await eventually(probe, what=what)


async def unsent(contracts: ContractDriver) -> int:
    """Rows of the service's outbox not yet on the broker."""
    runtime = contracts.service.runtime
    outbox = runtime.spec.kernel.outbox
    async with runtime.db.session() as session:
        query = select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
        return int((await session.execute(query)).scalar_one())


async def test_an_amendment_before_its_contract_is_replayed_once_after_the_contract_exists(
    fresh_contracts: ContractDriver,
) -> None:
    contracts = fresh_contracts
    account = unique_account()
    opening = accepted_quote(account, [line("SEAT", 10, 5000)], start_date=date(2026, 1, 1))
    opening_envelope = contracts.envelope(opening)  # published only after the amendment
    contract_id = derived_id("ct", opening_envelope.occurred_at, opening_envelope.event_id)
    amendment = accepted_quote(
        account, [line("ADDON", 2, 700)], start_date=date(2026, 3, 1), kind="amendment",
        contract_id=contract_id, bill_cycle_day=1,
    )  # fmt: skip
    early = await contracts.publish(amendment)

    entry = await listed(contracts, lambda e: e["event_id"] == early.event_id, "the amendment")
    assert entry["event_type"] == "QuoteAccepted"
    assert entry["source_topic"] == "quote.events"
    assert isinstance(entry["source_offset"], int)
    assert entry["consumer"] == "contract"
    assert entry["error"] == f"UnknownContract: no contract {contract_id}"
    assert entry["dead_lettered_at"] is not None
    # As an operator reads it: one line per entry.
    out = io.StringIO()
    assert await dlq_command(SPEC, contracts.service.runtime.settings, ["list"], out) == 0
    (printed,) = [x for x in out.getvalue().splitlines() if early.event_id in x]
    assert printed == (
        f"{entry['where']} from quote.events[{entry['source_partition']}]"
        f"@{entry['source_offset']} {early.event_id} QuoteAccepted"
        f" at {entry['dead_lettered_at']}: UnknownContract: no contract {contract_id}"
    )

    # Replayed before the cause is fixed: still failing, and it stays on the DLQ once.
    code, body = await dlq(contracts, "replay", "--event-id", early.event_id)
    assert code == 1
    (again,) = body["replayed"]
    assert again["outcome"] == "still failing"
    assert again["reason"] == f"UnknownContract: no contract {contract_id}"
    _, listing = await dlq(contracts, "list")
    assert [e["event_id"] for e in listing["entries"]].count(early.event_id) == 1

    # The cause fixed: the quote that opens the contract arrives.
    await contracts.send(opening_envelope.to_bytes(), account)
    opened = await contracts.contract_for(opening.quote_id)
    assert opened["id"] == contract_id
    assert opened["amendments"] == []

    code, body = await dlq(contracts, "replay", "--event-id", early.event_id)
    assert (code, body["not_found"]) == (0, [])
    (applied,) = body["replayed"]
    assert (applied["event_id"], applied["outcome"]) == (early.event_id, "applied")
    assert await unsent(contracts) == 0  # the command published what the replay recorded
    amended = await contracts.get(contract_id)
    assert amended["amendments"] == [
        {"quote_id": amendment.quote_id, "effective_date": "2026-03-01"}
    ]
    assert sorted(s["sku"] for s in amended["subscriptions"]) == ["ADDON", "SEAT"]
    events = await contracts.events(contract_id)
    assert [e.type for e in events] == ["ContractCreated", "ContractAmended"]
    assert events[1].causation_id == early.event_id
    # On the broker too (once or more: a running service's relay may race the command's).
    published = await published_events(
        contracts.bootstrap, {contract_id}, lambda es: len({e.event_id for e in es}) == 2
    )
    assert list(dict.fromkeys(e.event_id for e in published)) == [e.event_id for e in events]

    # A second replay of the same entry: a duplicate, and nothing changes.
    code, body = await dlq(contracts, "replay", "--event-id", early.event_id)
    assert code == 0
    assert [r["outcome"] for r in body["replayed"]] == ["duplicate"]
    assert await contracts.get(contract_id) == amended
    assert [e.event_id for e in await contracts.events(contract_id)] == [e.event_id for e in events]


async def test_bytes_that_are_no_envelope_are_listed_and_replay_reports_them_unparseable(
    fresh_contracts: ContractDriver,
) -> None:
    contracts = fresh_contracts
    account = unique_account("junk")
    await contracts.send(b"\x00 not an envelope " + account.encode(), account)

    entry = await listed(contracts, lambda e: e["key"] == account, "the unreadable record")
    assert entry["event_id"] is None
    assert entry["event_type"] is None
    assert entry["error"].startswith("unparseable envelope:")

    code, body = await dlq(contracts, "replay", "--entry", entry["where"])
    assert code == 1
    (replayed,) = body["replayed"]
    assert replayed["where"] == entry["where"]
    assert replayed["outcome"] == "unparseable"
    assert replayed["reason"].startswith("unparseable envelope:")
    # Still there, once; the service keeps serving.
    _, listing = await dlq(contracts, "list")
    assert [e["where"] for e in listing["entries"]].count(entry["where"]) == 1
    later = accepted_quote(account, [line("SEAT", 1, 100)], start_date=date(2026, 1, 1))
    assert (await contracts.accept(later))["account_id"] == account


async def test_replay_names_an_event_id_that_is_not_on_the_dlq(
    fresh_contracts: ContractDriver,
) -> None:
    code, body = await dlq(fresh_contracts, "replay", "--event-id", "ev-not-there")
    assert code == 1
    assert body == {"service": "contract", "replayed": [], "not_found": ["ev-not-there"]}
