"""Contract and subscription ids, derived from the QuoteAccepted that makes them.

Handling the same QuoteAccepted again (a replay on an empty database) names
them the same way; the kernel's `derived_id` keeps them sorting by time.
"""

from __future__ import annotations

from revline_events.ids import derived_id
from revline_events.payloads.quote import QuoteAccepted
from revline_events.received import Received


def contract_id_for(accepted: Received[QuoteAccepted]) -> str:
    """`ct_` + the acceptance time in ms (12 hex digits) + 10 hex digits of the event id."""
    return derived_id("ct", accepted.envelope.occurred_at, accepted.event_id)


def subscription_id_for(accepted: Received[QuoteAccepted], index: int) -> str:
    """`sub_` + the acceptance time in ms + a digest of the event id and the line's index."""
    return derived_id("sub", accepted.envelope.occurred_at, accepted.event_id, index)
