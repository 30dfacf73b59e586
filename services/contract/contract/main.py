"""The contract service: its spec for the chassis, and the app factory."""

from __future__ import annotations

from pathlib import Path

import revline_events.payloads  # noqa: F401  # registers every event in the catalogue
from fastapi import FastAPI
from revline_events.clock import Clock
from revline_events.topics import events_topic
from revline_service.service import ServiceSpec, create_app

from contract.api.problems import PROBLEMS
from contract.api.routes import router
from contract.handlers.quote_accepted import REACTIONS
from contract.settings import ContractSettings
from contract.store.projector import PROJECTOR
from contract.store.tables import PROJECTIONS, kernel, metadata

SPEC = ServiceSpec(
    name="contract",
    settings_cls=ContractSettings,
    metadata=metadata,
    kernel=kernel,
    projections=PROJECTIONS,
    projector=PROJECTOR,
    routers=[router],
    alembic_dir=Path(__file__).resolve().parent.parent / "alembic",
    problems=PROBLEMS,
    upstream_topics=[events_topic("quote")],
    reactions=REACTIONS,
    description="Contracts and subscriptions from accepted quotes: amendments, renewals, ends.",
)


def app_factory(settings: ContractSettings | None = None, clock: Clock | None = None) -> FastAPI:
    """The contract service's FastAPI app (settings from the environment by default).

    `clock` (the wall clock by default) stamps every event the service records, from
    HTTP steps and from the consumer alike, names renewal runs and dates "today's"
    quantities.
    """
    return create_app(SPEC, settings, clock=clock)
