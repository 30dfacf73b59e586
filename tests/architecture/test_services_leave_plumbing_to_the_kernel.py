"""Services hand the kernel payloads; envelopes, ids, clocks and handler typing are its job.

A cheap scan of every service's package (its tests excluded) for the ways of
doing the kernel's work by hand that the kernel replaced (issue #9): building
envelopes, naming the producer, reading the wall clock, picking an id scheme,
typing upstream events with `assert isinstance`, keying handlers by type name.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import revline_events.payloads  # noqa: F401  # registers every event in the catalogue
from revline_events.catalogue import CATALOGUE

ROOT = Path(__file__).resolve().parents[2]
PAYLOAD_CLASSES = sorted({model.__name__ for model in CATALOGUE.models().values()})
EVENT_TYPES = sorted({event_type for event_type, _version in CATALOGUE.models()})

FORBIDDEN: dict[str, re.Pattern[str]] = {
    "builds an envelope by hand": re.compile(r"\bmake_envelope\(|\bEnvelope\("),
    "names its producer": re.compile(r"^\s*SERVICE\s*(:\s*\w+\s*)?=\s*[\"']", re.MULTILINE),
    "reads the wall clock": re.compile(
        r"\bSystemClock\(\)|\bdatetime\.now\(|\bdate\.today\(|\bdatetime\.utcnow\("
    ),
    "has its own id scheme": re.compile(r"\buuid\.uuid1\b|\buuid1\(|\bsecrets\.token_hex\("),
    "types an event with assert": re.compile(
        rf"\bassert\s+isinstance\(\s*\w+\s*,\s*(?:{'|'.join(PAYLOAD_CLASSES)})\b"
    ),
    "keys handlers by event type name": re.compile(
        rf"[\"'](?:{'|'.join(EVENT_TYPES)})[\"']\s*:|\breacting_to\("
    ),
}


def service_modules() -> list[Path]:
    """Every module of every service's package: services/<name>/<name>/**/*.py."""
    modules = [
        path
        for service in sorted((ROOT / "services").iterdir())
        if (service / service.name).is_dir()
        for path in sorted((service / service.name).rglob("*.py"))
    ]
    assert len({p.relative_to(ROOT).parts[1] for p in modules}) >= 4, modules
    return modules


def findings(text: str) -> list[str]:
    """What in `text` does the kernel's work by hand, one line per finding."""
    found = []
    for what, pattern in FORBIDDEN.items():
        for match in pattern.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append(f"line {line}: {what}: {match.group(0).strip()}")
    return found


def test_no_service_module_does_the_kernel_s_work_by_hand() -> None:
    offences = {
        str(path.relative_to(ROOT)): found
        for path in service_modules()
        if (found := findings(path.read_text()))
    }

    assert offences == {}


@pytest.mark.parametrize(
    ("snippet", "what"),
    [
        ("envelope = make_envelope(event, stream_id=s)", "builds an envelope by hand"),
        ('SERVICE = "billing"', "names its producer"),
        ("handlers=upstream_handlers(SystemClock()),", "reads the wall clock"),
        ("today = date.today()", "reads the wall clock"),
        ('return f"{prefix}_{uuid.uuid1().time:015x}"', "has its own id scheme"),
        ('return f"qt_{millis:012x}{secrets.token_hex(5)}"', "has its own id scheme"),
        ("    assert isinstance(event, ContractCreated)", "types an event with assert"),
        ('    "ContractCreated": on_contract_created,', "keys handlers by event type name"),
        ('"OrderActivated": reacting_to(OrderActivated, activated),', "keys handlers by"),
    ],
)
def test_the_scan_catches_each_way_back(snippet: str, what: str) -> None:
    assert any(what in finding for finding in findings(f"x = 1\n{snippet}\n"))


def test_the_scan_leaves_ordinary_code_alone() -> None:
    ordinary = (
        "assert isinstance(error, PreviewDoesNotFit)\n"
        "await uow.record([created], stream_id=c.id, account_id=a, expected_version=0,"
        " cause=event)\n"
        'problems = {"kind": "ContractCreatedLater"}\n'
    )
    assert findings(ordinary) == []
