"""Every service's command line has `dlq list` and `dlq replay`, from the one chassis.

Run as an operator runs them: `python -m <service> dlq ...` in a process of its
own, settings from the environment (`<SERVICE>_KAFKA_BOOTSTRAP`, ...), against the
real broker. The replay path itself is tested live in
services/contract/tests/api/test_dlq_replay.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from revline_testkit.broker import TansuBroker
from revline_testkit.devstack import discover_services

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(discover_services(ROOT))
# What each service consumes, so where its dead letters are.
DLQ_TOPICS = {
    "billing": "order.events.dlq, ledger.events.dlq",
    "contract": "quote.events.dlq",
    "ledger": "billing.events.dlq",
    "order": "contract.events.dlq",
    "quote": "contract.events.dlq",
}


def run(
    service: str, *argv: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m <service> *argv` in a process of its own, `env` added to this one's."""
    return subprocess.run(
        [sys.executable, "-m", service, *argv],
        capture_output=True, text=True, timeout=120, cwd=ROOT, env={**os.environ, **(env or {})},
    )  # fmt: skip


def test_the_five_services_are_the_ones_listed_here() -> None:
    assert sorted(DLQ_TOPICS) == SERVICES


@pytest.mark.parametrize("service", SERVICES)
def test_dlq_list_and_replay_are_commands_of_every_service(service: str) -> None:
    dlq = run(service, "dlq", "--help")
    assert dlq.returncode == 0, dlq.stderr
    assert f"python -m {service} dlq" in dlq.stdout
    assert "{list,replay}" in dlq.stdout
    replay = run(service, "dlq", "replay", "--help")
    assert replay.returncode == 0, replay.stderr
    for option in ("--event-id", "--entry", "--all", "--topic", "--json"):
        assert option in replay.stdout


@pytest.mark.parametrize("service", SERVICES)
def test_dlq_list_reads_the_dlq_of_each_consumed_topic_with_the_serve_settings(
    service: str, tansu: TansuBroker, tmp_path: Path
) -> None:
    prefix = service.upper()
    env = {
        f"{prefix}_KAFKA_BOOTSTRAP": tansu.bootstrap,
        f"{prefix}_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}",
    }
    # The broker is the session's: other tests may have dead-lettered already.
    listing = run(service, "dlq", "list", env=env)
    assert listing.returncode == 0, listing.stderr
    last = listing.stdout.strip().splitlines()[-1]
    expected = f"{service}: the DLQ is empty ({DLQ_TOPICS[service]})"
    assert last == expected or (last.startswith(f"{service}: ") and last.endswith(" DLQ entries"))
    wrong = run(service, "dlq", "list", "--topic", "nobody.events", env=env)
    assert wrong.returncode == 2
    assert f"{service} consumes no topic 'nobody.events'" in wrong.stdout
    neither = run(service, "dlq", "replay", env=env)
    assert neither.returncode == 2
    assert "give --all, or --event-id / --entry" in neither.stdout
