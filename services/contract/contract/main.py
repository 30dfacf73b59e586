"""The contract service: its spec for the chassis, and the app factory."""

from __future__ import annotations

from pathlib import Path

import revline_events.payloads  # noqa: F401  # registers every event in the catalogue
from fastapi import FastAPI
from revline_events.clock import Clock, SystemClock
from revline_events.consumer import Handler
from revline_events.topics import events_topic
from revline_service.service import ServiceSpec, create_app

from contract.api.problems import PROBLEMS
from contract.api.routes import router
from contract.handlers.quote_accepted import quote_accepted_handler
from contract.settings import ContractSettings
from contract.store.projector import project
from contract.store.tables import PROJECTIONS, kernel, metadata


def handlers(clock: Clock) -> dict[str, Handler]:
    """What the service does with each upstream event type; `clock` stamps what it records."""
    return {"QuoteAccepted": quote_accepted_handler(clock)}


SPEC = ServiceSpec(
    name="contract",
    settings_cls=ContractSettings,
    metadata=metadata,
    kernel=kernel,
    projections=PROJECTIONS,
    projector=project,
    routers=[router],
    alembic_dir=Path(__file__).resolve().parent.parent / "alembic",
    problems=PROBLEMS,
    upstream_topics=[events_topic("quote")],
    # `python -m contract serve` builds the app from SPEC alone: the wall clock.
    handlers=handlers(SystemClock()),
    description="Contracts and subscriptions from accepted quotes: amendments, renewals, ends.",
)


def app_factory(settings: ContractSettings | None = None, clock: Clock | None = None) -> FastAPI:
    """The contract service's FastAPI app (settings from the environment by default).

    `clock` serves the HTTP steps (today's quantities, renewal-run ids); the consumer's
    handlers come from SPEC, on the wall clock (see README, Decisions: Timestamps).
    """
    return create_app(SPEC, settings, clock=clock)
