"""Revline's event kernel: plumbing shared by every service, and nothing domain-specific.

Envelope and typed event catalogue, money in minor units, an injectable clock,
the event store with its outbox relay, and the consumer runner with its inbox.
Services hand the unit of work payloads; the kernel stamps their envelopes
(stamping), names things with one time-sortable id scheme (ids) and calls
reactions registered by payload class with the typed event (reactions).
"""
