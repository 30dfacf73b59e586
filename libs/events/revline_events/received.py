"""An upstream event as a reaction receives it: its envelope and its typed payload."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Generic, TypeVar

from revline_events.catalogue import EventPayload
from revline_events.envelope import Envelope

P = TypeVar("P", bound=EventPayload)


@dataclass(frozen=True)
class Received(Generic[P]):
    """One delivered event: `payload` is already the registered class (the kernel checked).

    Pass it as the `cause` of what the reaction records: the kernel takes the
    correlation and causation ids from it.
    """

    envelope: Envelope
    payload: P

    @property
    def event_id(self) -> str:
        """The upstream event's id (what the inbox de-duplicates on)."""
        return self.envelope.event_id

    @property
    def type(self) -> str:
        """The upstream event's type, e.g. `ContractCreated`."""
        return self.envelope.type

    @property
    def correlation_id(self) -> str:
        """The correlation id the upstream event carries."""
        return self.envelope.correlation_id

    @property
    def effective_date(self) -> date | None:
        """The upstream event's business date, where it has one."""
        return self.envelope.effective_date
