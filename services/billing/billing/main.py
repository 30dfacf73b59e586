"""The billing service: its spec for the chassis, and the app factory."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import cast

import revline_events.payloads  # noqa: F401  # registers every event in the catalogue
from fastapi import FastAPI
from revline_events.clock import Clock
from revline_events.topics import events_topic
from revline_service.service import Runtime, ServiceSpec, create_app

from billing.api.bill_runs import router as bill_run_router
from billing.api.invoices import router as invoice_router
from billing.api.problems import PROBLEMS
from billing.handlers.bill_runs import continue_bill_run, unfinished_runs
from billing.handlers.upstream import upstream_reactions
from billing.settings import BillingSettings
from billing.store.projector import PROJECTOR
from billing.store.tables import PROJECTIONS, kernel, metadata

log = logging.getLogger(__name__)


async def resume_bill_runs(runtime: Runtime) -> None:
    """Finish every bill run a crash or a stop interrupted (each account billed once)."""
    settings = cast(BillingSettings, runtime.settings)
    async with runtime.uow() as uow:
        run_ids = await unfinished_runs(uow)
    for run_id in run_ids:
        log.info("resuming bill run %s", run_id)
        await continue_bill_run(
            runtime.uow,
            run_id,
            payment_terms_days=settings.payment_terms_days,
        )


SPEC = ServiceSpec(
    name="billing",
    settings_cls=BillingSettings,
    metadata=metadata,
    kernel=kernel,
    projections=PROJECTIONS,
    projector=PROJECTOR,
    routers=[bill_run_router, invoice_router],
    alembic_dir=Path(__file__).resolve().parent.parent / "alembic",
    problems=PROBLEMS,
    upstream_topics=[events_topic("order"), events_topic("ledger")],
    reactions=upstream_reactions(),
    workers=[resume_bill_runs],
    description="Billing: schedules, bill runs, prorated invoices and credit notes.",
)


def app_factory(settings: BillingSettings | None = None, clock: Clock | None = None) -> FastAPI:
    """The billing service's FastAPI app (settings from the environment by default).

    `clock` stamps billing's events and dates voids (the wall clock by default);
    bill runs take their business date from the request, never from the clock.
    """
    return create_app(SPEC, settings, clock=clock)
