"""The ledger service: its spec for the chassis, and the app factory."""

from __future__ import annotations

from pathlib import Path

import revline_events.payloads  # noqa: F401  # registers every event in the catalogue
from fastapi import FastAPI
from revline_events.clock import Clock
from revline_events.topics import events_topic
from revline_service.service import ServiceSpec, create_app

from ledger.api import adjustments, metrics
from ledger.api.problems import PROBLEMS
from ledger.api.routes import router
from ledger.handlers import metrics_events
from ledger.recognition_timer import recognise_through_today
from ledger.settings import LedgerSettings
from ledger.store.projector import PROJECTOR
from ledger.store.tables import PROJECTIONS, kernel, metadata

SPEC = ServiceSpec(
    name="ledger",
    settings_cls=LedgerSettings,
    metadata=metadata,
    kernel=kernel,
    projections=PROJECTIONS,
    projector=PROJECTOR,
    routers=[router, adjustments.router, metrics.router],
    alembic_dir=Path(__file__).resolve().parent.parent / "alembic",
    problems=PROBLEMS,
    # quote.events and contract.events feed the RevOps metrics (handlers/metrics_events.py).
    upstream_topics=[events_topic("billing"), events_topic("quote"), events_topic("contract")],
    reactions=metrics_events.REACTIONS,
    workers=[recognise_through_today],
    description="Ledger: double-entry journal entries of billing's invoices, and the reports.",
)


def app_factory(settings: LedgerSettings | None = None, clock: Clock | None = None) -> FastAPI:
    """The ledger service's FastAPI app (settings from the environment by default).

    `clock` stamps the ledger's events and is the default `as_of` of its reports;
    entries take their dates from the documents, never from the clock.
    """
    return create_app(SPEC, settings, clock=clock)
