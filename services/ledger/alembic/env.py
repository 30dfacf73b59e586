"""Alembic environment of the ledger service."""

from ledger.store.tables import metadata
from revline_service.migrations import run_env

run_env(metadata)
