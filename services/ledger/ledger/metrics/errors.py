"""Business errors of the metrics: the question cannot be answered as asked.

The API maps each class to its status once (422 for input that can never be
right; an inconsistent history is a bug in whoever filled it, a 500).
"""

from __future__ import annotations


class MetricsError(Exception):
    """A metrics rule refused the question."""


class InvalidMetricQuery(MetricsError):
    """A period, window or setting that can never be right (422, names the field)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class InconsistentHistory(MetricsError):
    """A fact refers to a line or quote the history does not hold (as known then)."""

    def __init__(self, fact: str, ref: str) -> None:
        super().__init__(f"{fact} refers to unknown {ref}")
        self.fact = fact
        self.ref = ref


class NotNoted(MetricsError):
    """A quote or contract event about a quote or contract the metrics never took in (its
    QuoteCreated or ContractCreated): the consumer dead-letters it with this reason."""

    def __init__(self, kind: str, ref: str) -> None:
        super().__init__(f"{kind} {ref} is unknown to the metrics read model")
        self.kind = kind
        self.ref = ref
