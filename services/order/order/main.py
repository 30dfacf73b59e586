"""The order service: its spec for the chassis, and the app factory."""

from __future__ import annotations

from pathlib import Path

import revline_events.payloads  # noqa: F401  # registers every event in the catalogue
from fastapi import FastAPI
from revline_events.clock import Clock
from revline_events.topics import events_topic
from revline_service.service import ServiceSpec, create_app

from order.api.problems import PROBLEMS
from order.api.routes import router
from order.handlers.contract_events import REACTIONS
from order.settings import OrderSettings
from order.store.projector import PROJECTOR
from order.store.tables import PROJECTIONS, kernel, metadata

SPEC = ServiceSpec(
    name="order",
    settings_cls=OrderSettings,
    metadata=metadata,
    kernel=kernel,
    projections=PROJECTIONS,
    projector=PROJECTOR,
    routers=[router],
    alembic_dir=Path(__file__).resolve().parent.parent / "alembic",
    problems=PROBLEMS,
    upstream_topics=[events_topic("contract")],
    reactions=REACTIONS,
    description="Orders: one per contract change, with the billing holds and overrides ops set.",
)


def app_factory(settings: OrderSettings | None = None, clock: Clock | None = None) -> FastAPI:
    """The order service's FastAPI app (settings from the environment by default).

    `clock` stamps orders and their events (the wall clock by default).
    """
    return create_app(SPEC, settings, clock=clock)
