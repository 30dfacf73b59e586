"""Alembic environment of the billing service."""

from billing.store.tables import metadata
from revline_service.migrations import run_env

run_env(metadata)
