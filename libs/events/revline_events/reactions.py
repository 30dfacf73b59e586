"""Reactions registered by payload class, compiled into the consumer runner's handlers.

    reactions = Reactions()

    @reactions.on(ContractCreated)
    async def open_order(event: Received[ContractCreated], uow: UnitOfWork) -> None:
        ...
        await uow.record([activated], stream_id=..., account_id=..., expected_version=0,
                         cause=event)

A reaction names the typed payload it takes; the kernel checks the parsed
payload's class once, and a reaction reaches the clock, settings and ids
through the unit of work it is given. The service's chassis checks the
registry against the catalogue when the app is created.

A batch reaction (`on_batch`) takes a run of consecutive events of its class
from one fetch, in order, and must have the effect of a one-event reaction
applied to each in turn; it is given a run of one when the consumer retries a
failed batch record by record. A class has one reaction, of either kind.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from revline_events.catalogue import Catalogue, EventPayload
from revline_events.consumer import BatchHandler, Handler
from revline_events.envelope import Envelope
from revline_events.received import Received
from revline_events.unit_of_work import UnitOfWork

P = TypeVar("P", bound=EventPayload)
Reaction = Callable[[Received[P], UnitOfWork], Awaitable[None]]
BatchReaction = Callable[[Sequence[Received[P]], UnitOfWork], Awaitable[None]]


class ReactionRegisteredTwice(ValueError):
    """A payload class already has a reaction."""

    def __init__(self, kind: type[EventPayload]) -> None:
        super().__init__(f"{kind.__name__} already has a reaction")
        self.kind = kind


class ReactionToUnknownEvent(LookupError):
    """A reaction's payload class is not the catalogue's newest model of any event type."""

    def __init__(self, kind: type[EventPayload], why: str) -> None:
        super().__init__(f"reaction to {kind.__name__}: {why}")
        self.kind = kind


class Reactions:
    """A service's reactions to upstream events, one per payload class."""

    def __init__(self) -> None:
        self._reactions: dict[type[EventPayload], Reaction[Any]] = {}
        self._batch_reactions: dict[type[EventPayload], BatchReaction[Any]] = {}

    def on(self, kind: type[P]) -> Callable[[Reaction[P]], Reaction[P]]:
        """Decorator: register the function as the reaction to `kind`."""

        def register(reaction: Reaction[P]) -> Reaction[P]:
            self.add(kind, reaction)
            return reaction

        return register

    def on_batch(self, kind: type[P]) -> Callable[[BatchReaction[P]], BatchReaction[P]]:
        """Decorator: register the function as the batch reaction to `kind`."""

        def register(reaction: BatchReaction[P]) -> BatchReaction[P]:
            self.add_batch(kind, reaction)
            return reaction

        return register

    def add(self, kind: type[P], reaction: Reaction[P]) -> None:
        """Register `reaction` to `kind`; raises ReactionRegisteredTwice."""
        self._refuse_twice(kind)
        self._reactions[kind] = reaction

    def add_batch(self, kind: type[P], reaction: BatchReaction[P]) -> None:
        """Register `reaction` as the batch reaction to `kind`; raises
        ReactionRegisteredTwice when `kind` has a reaction of either kind."""
        self._refuse_twice(kind)
        self._batch_reactions[kind] = reaction

    def _refuse_twice(self, kind: type[EventPayload]) -> None:
        if kind in self._reactions or kind in self._batch_reactions:
            raise ReactionRegisteredTwice(kind)

    def kinds(self) -> list[type[EventPayload]]:
        """The payload classes reacted to (one event, then batch), in registration order."""
        return [*self._reactions, *self._batch_reactions]

    def check(self, catalogue: Catalogue) -> None:
        """Refuse a class whose event type the catalogue does not know, and an older
        version of a type (parsing always yields the newest, so it would never run).
        Raises ReactionToUnknownEvent. (One class per type follows: only the newest
        passes, and `add` refuses a class twice.)"""
        models = catalogue.models()
        for kind in self.kinds():
            event_type = kind.event_type
            if not event_type or not catalogue.knows(event_type):
                raise ReactionToUnknownEvent(kind, "no such event type in the catalogue")
            newest = models[(event_type, catalogue.latest_version(event_type))]
            if newest is not kind:
                raise ReactionToUnknownEvent(
                    kind, f"{event_type} parses as {newest.__name__}, the newest version"
                )

    def handlers(self, catalogue: Catalogue) -> dict[str, Handler]:
        """The consumer runner's handlers by event type, after `check(catalogue)`."""
        self.check(catalogue)
        return {kind.event_type: _typed(kind, r) for kind, r in self._reactions.items()}

    def batch_handlers(self, catalogue: Catalogue) -> dict[str, BatchHandler]:
        """The consumer runner's batch handlers by event type, after `check(catalogue)`."""
        self.check(catalogue)
        return {kind.event_type: _typed_batch(kind, r) for kind, r in self._batch_reactions.items()}


def _typed(kind: type[P], reaction: Reaction[P]) -> Handler:
    async def handler(uow: UnitOfWork, envelope: Envelope, event: EventPayload) -> None:
        if not isinstance(event, kind):
            raise TypeError(
                f"{envelope.type} parsed as {type(event).__name__}, not {kind.__name__}"
            )
        await reaction(Received(envelope, event), uow)

    return handler


def _typed_batch(kind: type[P], reaction: BatchReaction[P]) -> BatchHandler:
    async def handler(uow: UnitOfWork, items: Sequence[tuple[Envelope, EventPayload]]) -> None:
        received: list[Received[P]] = []
        for envelope, event in items:
            if not isinstance(event, kind):
                raise TypeError(
                    f"{envelope.type} parsed as {type(event).__name__}, not {kind.__name__}"
                )
            received.append(Received(envelope, event))
        await reaction(received, uow)

    return handler
