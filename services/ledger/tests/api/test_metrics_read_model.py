"""The metrics read model fed by real quote.events and contract.events (SQLite and
PostgreSQL): M1's events load as M1's History, a redelivery adds nothing, a rebuild from
the ledger's own log gives the same rows, and an event about a contract the read model
never took in is dead-lettered."""

from __future__ import annotations

from ledger.metrics.history import History
from ledger.store.metrics import load_history
from ledger_feed import BillingFeed
from metrics_feed import CONTRACT_EVENTS, M1Feed, m1_expected, metrics_currency, publish
from revline_events.dead_letters import read_dead_letters
from revline_events.replay import rebuild_projections
from revline_testkit.live import LiveService, auth
from revline_testkit.topics import caught_up, unique
from revline_testkit.waiting import eventually


async def loaded(service: LiveService, currency: str) -> History:
    """The read model's History of `currency`, once the ledger has caught up."""
    await caught_up(service)
    async with service.runtime.db.session() as session:
        return await load_history(session, currency=currency)


async def digest(service: LiveService) -> str:
    """The state digest over the ledger's projections (the metrics tables among them)."""
    response = await service.client.get("/v1/admin/state-digest", headers=auth("admin"))
    assert response.status_code == 200, response.text
    value: str = response.json()["digest"]
    return value


async def test_m1_upstream_events_load_as_m1_history(
    ledger_service: LiveService, feed: BillingFeed
) -> None:
    m1 = M1Feed(unique("m1"), metrics_currency())
    await publish(feed.producer, m1.events())
    history = await loaded(ledger_service, m1.currency)
    assert sorted(map(repr, history.facts)) == sorted(map(repr, m1_expected(m1).facts))


async def test_redelivered_upstream_events_add_no_fact(
    ledger_service: LiveService, feed: BillingFeed
) -> None:
    m1 = M1Feed(unique("again"), metrics_currency())
    events = m1.events()
    await publish(feed.producer, events)
    first = await loaded(ledger_service, m1.currency)
    await publish(feed.producer, events)
    assert (await loaded(ledger_service, m1.currency)).facts == first.facts
    assert len(first.facts) == len(m1_expected(m1).facts)


async def test_a_rebuild_from_the_log_gives_the_same_read_model(
    ledger_service: LiveService, feed: BillingFeed
) -> None:
    m1 = M1Feed(unique("rebuilt"), metrics_currency())
    await publish(feed.producer, m1.events())
    before = await loaded(ledger_service, m1.currency)
    digest_before = await digest(ledger_service)
    runtime = ledger_service.runtime
    replayed = await rebuild_projections(
        runtime.db, runtime.store, runtime.spec.projector, runtime.spec.projections
    )
    assert replayed > 0
    assert await digest(ledger_service) == digest_before
    assert await loaded(ledger_service, m1.currency) == before


async def test_an_amendment_of_a_contract_never_taken_in_is_dead_lettered(
    ledger_service: LiveService, feed: BillingFeed
) -> None:
    m1 = M1Feed(unique("orphan"), metrics_currency())
    seat = m1.subscription("SEAT", "month", 5000, 10, "2025-01-10", "2026-01-09")
    orphan = m1.amended("A", "c-A", "2025-02-15", seat, 10, 14)
    await publish(feed.producer, [orphan])
    bootstrap = ledger_service.runtime.settings.kafka_bootstrap

    async def dead_lettered() -> str | None:
        letters = await read_dead_letters(bootstrap, [f"{CONTRACT_EVENTS}.dlq"], consumer="ledger")
        found = [d for d in letters if d.event_id == orphan.envelope.event_id]
        return found[0].error if found else None

    error = await eventually(dead_lettered, what="the orphan amendment on the DLQ")
    assert f"contract {m1.id('c-A')} is unknown to the metrics read model" in error
    assert (await loaded(ledger_service, m1.currency)).facts == ()
