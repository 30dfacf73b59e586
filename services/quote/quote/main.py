"""The quote service: its spec for the chassis, and the app factory."""

from __future__ import annotations

from pathlib import Path

import revline_events.payloads  # noqa: F401  # registers every event in the catalogue
from fastapi import FastAPI
from revline_events.clock import Clock
from revline_service.service import ServiceSpec, create_app

from quote.api.problems import PROBLEMS
from quote.api.routes import router
from quote.handlers.on_contract_events import REACTIONS
from quote.settings import QuoteSettings
from quote.store import contracts  # noqa: F401  # adds the contract read model to metadata
from quote.store.projector import project
from quote.store.tables import PROJECTIONS, kernel, metadata

SPEC = ServiceSpec(
    name="quote",
    settings_cls=QuoteSettings,
    metadata=metadata,
    kernel=kernel,
    projections=PROJECTIONS,
    projector=project,
    routers=[router],
    alembic_dir=Path(__file__).resolve().parent.parent / "alembic",
    problems=PROBLEMS,
    upstream_topics=["contract.events"],
    reactions=REACTIONS,
    description="Price book and quotes; accepting a quote starts everything downstream.",
)


def app_factory(settings: QuoteSettings | None = None, clock: Clock | None = None) -> FastAPI:
    """The quote service's FastAPI app (settings from the environment by default)."""
    return create_app(SPEC, settings, clock=clock)
