"""Alembic environment of the quote service."""

from quote.store import contracts  # noqa: F401  # read model tables
from quote.store.tables import metadata
from revline_service.migrations import run_env

run_env(metadata)
