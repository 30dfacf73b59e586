"""Alembic environment of the order service."""

from order.store.tables import metadata
from revline_service.migrations import run_env

run_env(metadata)
