"""Revline's event kernel: plumbing shared by every service, and nothing domain-specific.

Envelope and typed event catalogue, money in minor units, an injectable clock,
the event store with its outbox relay, and the consumer runner with its inbox.
"""
