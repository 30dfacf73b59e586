"""Every service's command line has `dlq list` and `dlq replay`, from the one chassis.

Run as an operator runs them: `python -m <service> dlq ...` in a process of its
own, settings from the environment (`<SERVICE>_KAFKA_BOOTSTRAP`, ...), against the
real broker. The replay path itself is tested live in
services/contract/tests/api/test_dlq_replay.py.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from revline_service.cli import main
from revline_testkit.broker import TansuBroker
from revline_testkit.devstack import discover_services

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(discover_services(ROOT))
# What each service consumes, so where its dead letters are.
DLQ_TOPICS = {
    "billing": "order.events.dlq, ledger.events.dlq",
    "contract": "quote.events.dlq",
    "ledger": "billing.events.dlq, quote.events.dlq, contract.events.dlq",
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


def in_process(service: str, *argv: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """`main(SPEC, argv)` of `service`'s CLI in this process: its exit code and stdout
    (argparse's --help and usage errors exit; each service's import costs a second or
    two as a process of its own, and `dlq list` below already runs as one)."""
    spec = importlib.import_module(f"{service}.main").SPEC
    try:
        code = main(spec, list(argv))
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    return code, capsys.readouterr().out


@pytest.mark.parametrize("service", SERVICES)
def test_dlq_commands_of_every_service_with_the_serve_settings(
    service: str,
    tansu: TansuBroker,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    prefix = service.upper()
    env = {
        f"{prefix}_KAFKA_BOOTSTRAP": tansu.bootstrap,
        f"{prefix}_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}",
    }
    # As an operator runs it: a process of its own. The broker is the session's: other
    # tests may have dead-lettered already.
    listing = run(service, "dlq", "list", env=env)
    assert listing.returncode == 0, listing.stderr
    last = listing.stdout.strip().splitlines()[-1]
    expected = f"{service}: the DLQ is empty ({DLQ_TOPICS[service]})"
    assert last == expected or (last.startswith(f"{service}: ") and last.endswith(" DLQ entries"))

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code, out = in_process(service, "dlq", "--help", capsys=capsys)
    assert code == 0
    assert f"python -m {service} dlq" in out
    assert "{list,replay}" in out
    code, out = in_process(service, "dlq", "replay", "--help", capsys=capsys)
    assert code == 0
    for option in ("--event-id", "--entry", "--all", "--topic", "--json"):
        assert option in out
    code, out = in_process(service, "dlq", "list", "--topic", "nobody.events", capsys=capsys)
    assert code == 2
    assert f"{service} consumes no topic 'nobody.events'" in out
    code, out = in_process(service, "dlq", "replay", capsys=capsys)
    assert code == 2
    assert "give --all, or --event-id / --entry" in out
