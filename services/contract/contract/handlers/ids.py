"""Opaque ids that sort by time: contracts, subscriptions and renewal runs."""

from __future__ import annotations

import hashlib
import secrets

from revline_events.clock import Clock
from revline_events.envelope import Envelope


def _millis(envelope: Envelope) -> int:
    return int(envelope.occurred_at.timestamp() * 1000)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def contract_id_for(envelope: Envelope) -> str:
    """`ct_` + the acceptance time in ms (12 hex digits) + 10 hex digits of the event id.

    Derived from the QuoteAccepted envelope, so handling it again (a replay on an
    empty database) names the contract the same way.
    """
    return f"ct_{_millis(envelope):012x}{_digest(envelope.event_id)}"


def subscription_id_for(envelope: Envelope, index: int) -> str:
    """`sub_` + the acceptance time in ms + a digest of the event id and the line's index."""
    return f"sub_{_millis(envelope):012x}{_digest(f'{envelope.event_id}:{index}')}"


def new_renewal_run_id(clock: Clock) -> str:
    """`rr_` + the run's creation time in ms + randomness: opaque, sorted by time."""
    millis = int(clock.now().timestamp() * 1000)
    return f"rr_{millis:012x}{secrets.token_hex(5)}"
