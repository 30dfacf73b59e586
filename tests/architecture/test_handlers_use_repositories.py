"""Handlers reach the database only through repositories (STYLE.md, issue #9).

A handler asks its unit of work for a repository (`uow.repository(Quotes)`) and
talks to it in business words; the SQL lives in store/. This scan of each listed
service's handlers/*.py fails on a handler that takes the session itself or
imports SQLAlchemy.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Every service with handlers talks to repositories only; a new service joins by
# having a handlers/ package. The four named ones must be found.
SERVICES = tuple(
    sorted(path.parent.name for path in ROOT.glob("services/*/*/handlers") if path.is_dir())
)
assert {"quote", "contract", "order", "billing"} <= set(SERVICES), SERVICES

FORBIDDEN: dict[str, re.Pattern[str]] = {
    "takes the session": re.compile(r"\.session\b"),
    "names the session type": re.compile(r"\bAsyncSession\b"),
    "imports SQLAlchemy": re.compile(
        r"^\s*(?:from\s+sqlalchemy(?:\.\w+)*\s+import\b|import\s+sqlalchemy\b)", re.MULTILINE
    ),
}


def handler_modules(service: str) -> list[Path]:
    """services/<service>/<service>/handlers/*.py; a listed service must have some."""
    modules = sorted((ROOT / "services" / service / service / "handlers").glob("*.py"))
    assert [m for m in modules if m.name != "__init__.py"], f"{service} has no handlers"
    return modules


def findings(text: str) -> list[str]:
    """What in `text` reaches past the repositories, one line per finding."""
    found = []
    for what, pattern in FORBIDDEN.items():
        for match in pattern.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append(f"line {line}: {what}: {match.group(0).strip()}")
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_handlers_talk_to_repositories_not_to_the_session(service: str) -> None:
    offences = {
        str(path.relative_to(ROOT)): found
        for path in handler_modules(service)
        if (found := findings(path.read_text()))
    }

    assert offences == {}


@pytest.mark.parametrize(
    ("snippet", "what"),
    [
        ("    row = await queries.quote_row(uow.session, quote_id)", "takes the session"),
        ("    await uow.session.execute(stmt)", "takes the session"),
        ("    session = uow.session", "takes the session"),
        ("from sqlalchemy import func, insert, select", "imports SQLAlchemy"),
        ("from sqlalchemy.ext.asyncio import AsyncSession", "imports SQLAlchemy"),
        ("import sqlalchemy as sa", "imports SQLAlchemy"),
        ("async def load(session: AsyncSession) -> None:", "names the session type"),
    ],
)
def test_the_scan_catches_each_way_back(snippet: str, what: str) -> None:
    assert any(what in finding for finding in findings(f"x = 1\n{snippet}\n"))


def test_the_scan_leaves_repository_use_alone() -> None:
    ordinary = (
        "from quote.store.queries import Products, Quotes\n"
        "    products = uow.repository(Products)\n"
        "    row = await uow.repository(Quotes).find(quote_id)\n"
        '    """Runs inside the consumer\'s unit of work, one session per batch."""\n'
    )
    assert findings(ordinary) == []
