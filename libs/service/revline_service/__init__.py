"""Revline's service chassis: what every service's HTTP side and process share.

Settings, problem+json errors, API-key roles, Idempotency-Key, cursor
pagination, health/readiness/metrics, JSON logs, alembic helpers and the
command line (serve, migrate, rebuild, republish). No business rules.
"""
