"""Alembic environment of the contract service."""

from contract.store.tables import metadata
from revline_service.migrations import run_env

run_env(metadata)
