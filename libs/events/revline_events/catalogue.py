"""The typed, versioned event catalogue: (type, schema_version) -> payload model.

A consumer accepts a newer minor version that only adds optional fields
(payloads ignore unknown fields). A breaking change is a new schema_version
registered beside the old one, with an upcaster that turns the old payload into
the new; parsing always yields the newest version.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from revline_events.clock import Clock
from revline_events.envelope import Envelope, new_event_id

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
P = TypeVar("P", bound="EventPayload")


class EventPayload(BaseModel):
    """Base of every event payload: a fact in the past tense, immutable."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_type: ClassVar[str] = ""
    schema_version: ClassVar[int] = 0


class UnknownEventType(LookupError):
    """No payload model is registered for this (type, schema_version)."""

    def __init__(self, event_type: str, version: int) -> None:
        super().__init__(f"no event {event_type!r} version {version} in the catalogue")
        self.event_type = event_type
        self.version = version


class InvalidPayload(ValueError):
    """The payload does not validate against its registered model."""

    def __init__(self, event_type: str, version: int, error: ValidationError) -> None:
        super().__init__(f"payload of {event_type} v{version} is invalid: {error}")
        self.event_type = event_type
        self.version = version


class Catalogue:
    """A registry of payload models and the upcasters between their versions."""

    def __init__(self) -> None:
        self._models: dict[tuple[str, int], type[EventPayload]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}
        self._latest: dict[str, int] = {}
        self._unpublished: set[str] = set()

    def register(
        self, event_type: str, version: int = 1, *, published: bool = True
    ) -> Callable[[type[P]], type[P]]:
        """Class decorator: register a payload model under (event_type, version).

        `published=False`: a service's own bookkeeping of what it took in, kept in its
        event log so that rebuild refolds it, and never put on its topic (no outbox row):
        no other service has a use for it.
        """

        def decorate(model: type[P]) -> type[P]:
            key = (event_type, version)
            if key in self._models:
                raise ValueError(f"{event_type} v{version} is registered twice")
            if not published:
                self._unpublished.add(event_type)
            model.event_type = event_type
            model.schema_version = version
            self._models[key] = model
            self._latest[event_type] = max(version, self._latest.get(event_type, 0))
            return model

        return decorate

    def unpublished(self) -> frozenset[str]:
        """The event types registered with `published=False`."""
        return frozenset(self._unpublished)

    def upcaster(self, event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Decorator: register the function turning a `from_version` payload into the next."""

        def decorate(fn: Upcaster) -> Upcaster:
            self._upcasters[(event_type, from_version)] = fn
            return fn

        return decorate

    def models(self) -> dict[tuple[str, int], type[EventPayload]]:
        """Every registered model by (type, version)."""
        return dict(self._models)

    def knows(self, event_type: str) -> bool:
        """True when any version of `event_type` is registered."""
        return event_type in self._latest

    def latest_version(self, event_type: str) -> int:
        """The newest registered version of `event_type`; raises UnknownEventType."""
        try:
            return self._latest[event_type]
        except KeyError:
            raise UnknownEventType(event_type, 0) from None

    def parse(self, envelope: Envelope) -> EventPayload:
        """The envelope's payload as the newest model of its type, upcast as needed.

        Raises UnknownEventType or InvalidPayload: the caller dead-letters the event.
        """
        event_type, version = envelope.type, envelope.schema_version
        if (event_type, version) not in self._models:
            raise UnknownEventType(event_type, version)
        data = dict(envelope.payload)
        latest = self._latest[event_type]
        while version < latest:
            upcast = self._upcasters.get((event_type, version))
            if upcast is None:
                raise UnknownEventType(event_type, version + 1)
            data = upcast(data)
            version += 1
        model = self._models[(event_type, version)]
        try:
            return model.model_validate(data)
        except ValidationError as error:
            raise InvalidPayload(event_type, version, error) from error


def make_envelope(
    payload: EventPayload,
    *,
    stream_id: str,
    stream_version: int,
    account_id: str,
    producer: str,
    clock: Clock,
    correlation_id: str | None = None,
    causation_id: str | None = None,
    effective_date: date | None = None,
) -> Envelope:
    """Wrap a payload in a new envelope stamped with the clock's time (UTC)."""
    event_id = new_event_id()
    occurred_at = clock.now().astimezone(UTC)
    return Envelope(
        event_id=event_id,
        type=payload.event_type,
        schema_version=payload.schema_version,
        stream_id=stream_id,
        stream_version=stream_version,
        account_id=account_id,
        occurred_at=occurred_at,
        effective_date=effective_date,
        correlation_id=correlation_id or event_id,
        causation_id=causation_id,
        producer=producer,
        payload=payload.model_dump(mode="json"),
    )


def utc(value: datetime) -> datetime:
    """`value` as a timezone-aware UTC datetime (naive values are taken as UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


# The one catalogue every service shares: payload modules register into it.
CATALOGUE = Catalogue()
