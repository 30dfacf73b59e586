"""Reactions are registered by payload class and checked against the catalogue."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from revline_events.catalogue import Catalogue, EventPayload
from revline_events.reactions import ReactionRegisteredTwice, Reactions, ReactionToUnknownEvent
from revline_events.received import Received
from revline_events.unit_of_work import UnitOfWork
from toy import (
    TOY_CATALOGUE,
    ClickRecorded,
    CounterIncremented,
    CounterIncrementedV1,
    CounterRenamed,
    Toy,
    upstream,
)


class NeverCatalogued(EventPayload):
    """A payload class no catalogue registered."""

    name: str


async def ignore_click(event: Received[ClickRecorded], uow: UnitOfWork) -> None:
    """A reaction that does nothing."""


def test_a_payload_class_registered_twice_is_refused() -> None:
    reactions = Reactions()
    reactions.add(ClickRecorded, ignore_click)

    with pytest.raises(ReactionRegisteredTwice, match="ClickRecorded"):

        @reactions.on(ClickRecorded)
        async def again(event: Received[ClickRecorded], uow: UnitOfWork) -> None:
            """A second reaction to the same class."""

    assert reactions.kinds() == [ClickRecorded]


async def count_clicks(events: Sequence[Received[ClickRecorded]], uow: UnitOfWork) -> None:
    """A batch reaction that does nothing."""


def test_a_class_with_a_reaction_cannot_also_have_a_batch_reaction_nor_the_reverse() -> None:
    reactions = Reactions()
    reactions.add(ClickRecorded, ignore_click)
    reactions.add_batch(CounterRenamed, count_renames)

    with pytest.raises(ReactionRegisteredTwice, match="ClickRecorded"):
        reactions.on_batch(ClickRecorded)(count_clicks)
    with pytest.raises(ReactionRegisteredTwice, match="CounterRenamed"):

        @reactions.on(CounterRenamed)
        async def one(event: Received[CounterRenamed], uow: UnitOfWork) -> None:
            """A one-event reaction to a class that has a batch reaction."""

    with pytest.raises(ReactionRegisteredTwice, match="CounterRenamed"):
        reactions.add_batch(CounterRenamed, count_renames)
    assert reactions.kinds() == [ClickRecorded, CounterRenamed]


async def count_renames(events: Sequence[Received[CounterRenamed]], uow: UnitOfWork) -> None:
    """A batch reaction that does nothing."""


def test_a_batch_reaction_to_a_class_the_catalogue_does_not_know_is_refused() -> None:
    reactions = Reactions()

    async def react(events: Sequence[Received[NeverCatalogued]], uow: UnitOfWork) -> None:
        """Reacts to a class no catalogue knows."""

    reactions.on_batch(NeverCatalogued)(react)

    with pytest.raises(ReactionToUnknownEvent, match="NeverCatalogued"):
        reactions.batch_handlers(TOY_CATALOGUE)
    with pytest.raises(ReactionToUnknownEvent, match="NeverCatalogued"):
        reactions.handlers(TOY_CATALOGUE)


def test_a_reaction_to_an_event_type_the_catalogue_does_not_know_is_refused() -> None:
    reactions = Reactions()
    reactions.add(ClickRecorded, ignore_click)

    async def react(event: Received[NeverCatalogued], uow: UnitOfWork) -> None:
        """Reacts to a class no catalogue knows."""

    reactions.add(NeverCatalogued, react)

    with pytest.raises(ReactionToUnknownEvent, match="NeverCatalogued"):
        reactions.check(TOY_CATALOGUE)
    with pytest.raises(ReactionToUnknownEvent):
        reactions.handlers(TOY_CATALOGUE)


def test_a_class_of_another_catalogue_is_unknown_to_this_one() -> None:
    reactions = Reactions()
    reactions.add(ClickRecorded, ignore_click)

    with pytest.raises(ReactionToUnknownEvent, match="no such event type"):
        reactions.check(Catalogue())


def test_a_reaction_to_an_old_version_is_refused_as_it_would_never_run() -> None:
    reactions = Reactions()

    async def react(event: Received[CounterIncrementedV1], uow: UnitOfWork) -> None:
        """Reacts to version 1, which parsing upcasts to version 2."""

    reactions.add(CounterIncrementedV1, react)

    with pytest.raises(ReactionToUnknownEvent, match="parses as CounterIncremented"):
        reactions.check(TOY_CATALOGUE)


def test_handlers_are_keyed_by_the_catalogue_s_event_type() -> None:
    reactions = Reactions()
    reactions.add(ClickRecorded, ignore_click)

    @reactions.on(CounterIncremented)
    async def mirror(event: Received[CounterIncremented], uow: UnitOfWork) -> None:
        """Reacts to the newest CounterIncremented."""

    assert sorted(reactions.handlers(TOY_CATALOGUE)) == ["ClickRecorded", "CounterIncremented"]


async def test_the_handler_passes_the_typed_payload_and_its_envelope(toy: Toy) -> None:
    reactions = Reactions()
    received: list[Received[ClickRecorded]] = []

    @reactions.on(ClickRecorded)
    async def keep(event: Received[ClickRecorded], uow: UnitOfWork) -> None:
        """Remembers what it was given."""
        received.append(event)

    envelope = upstream(ClickRecorded(name="a", clicks=4))
    handler = reactions.handlers(TOY_CATALOGUE)["ClickRecorded"]
    async with toy.uow() as uow:
        await handler(uow, envelope, TOY_CATALOGUE.parse(envelope))

    [event] = received
    assert event.envelope == envelope
    assert event.payload == ClickRecorded(name="a", clicks=4)
    assert (event.event_id, event.type) == (envelope.event_id, "ClickRecorded")


async def test_a_payload_of_another_class_is_a_type_error_not_an_assert(toy: Toy) -> None:
    reactions = Reactions()
    reactions.add(ClickRecorded, ignore_click)
    handler = reactions.handlers(TOY_CATALOGUE)["ClickRecorded"]
    envelope = upstream(ClickRecorded(name="a", clicks=4))

    with pytest.raises(TypeError, match="ClickRecorded parsed as CounterRenamed"):
        async with toy.uow() as uow:
            await handler(uow, envelope, CounterRenamed(name="a", new_name="b"))


async def test_the_batch_handler_passes_each_typed_payload_with_its_envelope_in_order(
    toy: Toy,
) -> None:
    reactions = Reactions()
    batches: list[list[Received[ClickRecorded]]] = []

    @reactions.on_batch(ClickRecorded)
    async def keep(events: Sequence[Received[ClickRecorded]], uow: UnitOfWork) -> None:
        """Remembers what it was given."""
        batches.append(list(events))

    envelopes = [upstream(ClickRecorded(name="a", clicks=n)) for n in (1, 2, 3)]
    handler = reactions.batch_handlers(TOY_CATALOGUE)["ClickRecorded"]
    async with toy.uow() as uow:
        await handler(uow, [(e, TOY_CATALOGUE.parse(e)) for e in envelopes])

    [batch] = batches
    assert [event.envelope for event in batch] == envelopes
    assert [event.payload.clicks for event in batch] == [1, 2, 3]
    assert reactions.handlers(TOY_CATALOGUE) == {}


async def test_a_batch_with_a_payload_of_another_class_is_a_type_error(toy: Toy) -> None:
    reactions = Reactions()
    reactions.add_batch(ClickRecorded, count_clicks)
    handler = reactions.batch_handlers(TOY_CATALOGUE)["ClickRecorded"]
    envelope = upstream(ClickRecorded(name="a", clicks=4))

    with pytest.raises(TypeError, match="ClickRecorded parsed as CounterRenamed"):
        async with toy.uow() as uow:
            await handler(uow, [(envelope, CounterRenamed(name="a", new_name="b"))])
