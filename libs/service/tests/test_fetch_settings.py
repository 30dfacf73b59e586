"""The consumer's fetch waits are settings: REVLINE_* for the stack, <SVC>_* for one service."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from pydantic_settings import SettingsConfigDict
from revline_events.kafka import FetchPacing
from revline_service.service import fetch_pacing
from revline_service.settings import ServiceSettings

VARIABLES = (
    "REVLINE_CONSUMER_FETCH_MAX_WAIT_MS",
    "REVLINE_CONSUMER_IDLE_FETCH_MAX_WAIT_MS",
    "REVLINE_CONSUMER_IDLE_AFTER_MS",
    "PACED_CONSUMER_FETCH_MAX_WAIT_MS",
    "PACED_CONSUMER_IDLE_FETCH_MAX_WAIT_MS",
    "PACED_CONSUMER_IDLE_AFTER_MS",
)


class PacedSettings(ServiceSettings):
    """A service's settings class, as each service defines one."""

    model_config = SettingsConfigDict(env_prefix="PACED_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///:memory:"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_the_defaults_are_a_short_busy_wait_and_a_longer_idle_one() -> None:
    assert fetch_pacing(PacedSettings()) == FetchPacing(
        busy_wait_ms=10, idle_wait_ms=100, idle_after_ms=1000
    )


def test_the_stack_wide_variables_set_every_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REVLINE_CONSUMER_FETCH_MAX_WAIT_MS", "500")
    monkeypatch.setenv("REVLINE_CONSUMER_IDLE_FETCH_MAX_WAIT_MS", "500")
    monkeypatch.setenv("REVLINE_CONSUMER_IDLE_AFTER_MS", "0")

    assert fetch_pacing(PacedSettings()) == FetchPacing(
        busy_wait_ms=500, idle_wait_ms=500, idle_after_ms=0
    )


def test_a_service_prefixed_variable_wins_over_the_stack_wide_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REVLINE_CONSUMER_IDLE_FETCH_MAX_WAIT_MS", "500")
    monkeypatch.setenv("PACED_CONSUMER_IDLE_FETCH_MAX_WAIT_MS", "250")

    assert PacedSettings().consumer_idle_fetch_max_wait_ms == 250


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("REVLINE_CONSUMER_FETCH_MAX_WAIT_MS", "-1"),
        ("REVLINE_CONSUMER_IDLE_FETCH_MAX_WAIT_MS", "60001"),
        ("REVLINE_CONSUMER_IDLE_AFTER_MS", "soon"),
        ("PACED_CONSUMER_FETCH_MAX_WAIT_MS", "1.5"),
    ],
)
def test_a_wait_that_is_not_a_whole_number_of_ms_in_range_is_refused(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    field = variable.removeprefix("REVLINE_").removeprefix("PACED_").lower()

    with pytest.raises(ValidationError, match=field):
        PacedSettings()
