"""The chassis checks a service's reactions against the catalogue when its app is created."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from quote.main import SPEC
from quote.settings import QuoteSettings
from revline_events.catalogue import EventPayload
from revline_events.clock import FixedClock
from revline_events.payloads.contract import ContractCreated
from revline_events.reactions import Reactions, ReactionToUnknownEvent
from revline_events.received import Received
from revline_events.unit_of_work import UnitOfWork
from revline_service.service import create_app

CLOCK = FixedClock(datetime(2026, 1, 10, 9, 30, tzinfo=UTC))


class QuoteArchived(EventPayload):
    """A fact no catalogue has heard of."""

    quote_id: str


async def on_archived(event: Received[QuoteArchived], uow: UnitOfWork) -> None:
    """Would react to QuoteArchived."""


async def on_created(event: Received[ContractCreated], uow: UnitOfWork) -> None:
    """Would react to ContractCreated."""


def settings(tmp_path: Path) -> QuoteSettings:
    """Settings that reach nothing: creating the app connects to nothing."""
    return QuoteSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'quote.db'}",
        kafka_bootstrap="127.0.0.1:9",
        api_keys="k:admin",
    )


def test_an_app_whose_reactions_name_an_unknown_event_is_not_created(tmp_path: Path) -> None:
    reactions = Reactions()
    reactions.add(ContractCreated, on_created)
    reactions.add(QuoteArchived, on_archived)

    # Refused before anything is built: no engine, relay or consumer to clean up.
    with pytest.raises(ReactionToUnknownEvent, match="QuoteArchived"):
        create_app(replace(SPEC, reactions=reactions), settings(tmp_path), clock=CLOCK)
