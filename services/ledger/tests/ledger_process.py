"""The ledger as a real child process (for fault tests), and what to compare after a fault.

`python -m ledger serve` (ServiceProcess), or faults/crashing_ledger.py: the same
app, able to die between a database commit and an offset commit. Both read
their settings from LEDGER_* variables, as in production.
"""

from __future__ import annotations

import random
import string
import sys
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from aiokafka import TopicPartition
from fresh_ledger import start_group_at
from ledger_feed import BILLING_EVENTS, FINANCE, journal_entries
from revline_testkit import topics
from revline_testkit.live import ServiceProcess, api_keys_setting, client_tls

CRASHING_LEDGER = Path(__file__).parent / "faults" / "crashing_ledger.py"


def ledger_env(database_url: str, bootstrap: str, tmp_path: Path, group: str) -> dict[str, str]:
    """LEDGER_* settings of a ledger process under test: test keys, consumer group `group`,
    a short consumer session, and no recognition timer (the wall clock's today would
    recognise revenue a fault-free run on a fixed clock does not)."""
    return {
        "LEDGER_DATABASE_URL": database_url,
        "LEDGER_KAFKA_BOOTSTRAP": bootstrap,
        "LEDGER_API_KEYS": api_keys_setting(),
        "LEDGER_DEV_KEYS_FILE": str(tmp_path / "dev-keys.json"),
        "LEDGER_CONSUMER_GROUP": group,
        "LEDGER_CONSUMER_SESSION_TIMEOUT_MS": "2000",
        "LEDGER_RECOGNITION_INTERVAL_S": "0",
        "LEDGER_LOG_LEVEL": "INFO",
    }


class CrashingLedgerProcess(ServiceProcess):
    """faults/crashing_ledger.py as a child process (the ledger's app, crash on cue)."""

    def command(self) -> list[str]:
        """`python crashing_ledger.py` (it takes `--fd N` as `serve` does)."""
        return [sys.executable, str(CRASHING_LEDGER)]


@asynccontextmanager
async def ledger_process(
    env: Mapping[str, str], log_path: Path, *, crashing: bool = False
) -> AsyncIterator[tuple[ServiceProcess, httpx.AsyncClient]]:
    """The ledger process, ready, with a client; stopped (SIGTERM) when the block ends,
    unless it died already."""
    kind = CrashingLedgerProcess if crashing else ServiceProcess
    process = kind("ledger", dict(env), log_path=log_path)
    process.start()
    try:
        await process.wait_ready(within=60)
        async with httpx.AsyncClient(
            verify=client_tls(), base_url=process.base_url, timeout=60
        ) as client:
            yield process, client
    finally:
        process.stop()


async def group_caught_up(bootstrap: str, group: str) -> None:
    """Wait until consumer group `group` has committed everything now on billing.events."""
    await topics.group_caught_up(bootstrap, group, BILLING_EVENTS, within=90)


# Two letters each, in a random order, each handed out once a process: random picks out
# of 676 met again within a module's tests often enough to mix two tests' books.
_FRESH_CURRENCY_SUFFIXES = iter(
    random.sample([a + b for a in string.ascii_uppercase for b in string.ascii_uppercase], k=676)
)


def fresh_currency() -> str:
    """A currency code of the test's own ("Q" and two letters: no other test uses Q...),
    so a report over every account reads only this test's books."""
    return "Q" + next(_FRESH_CURRENCY_SUFFIXES)


async def new_group(bootstrap: str, start: dict[TopicPartition, int]) -> str:
    """A consumer group of its own that reads billing.events from `start` (the topic's
    ends, taken before the test published), not from the beginning: by the time the fault
    tests run, the session's earlier tests left thousands of events there."""
    group = f"ledger-fault-{uuid.uuid4().hex[:12]}"
    await start_group_at(bootstrap, group, start)
    return group


async def _ok(client: httpx.AsyncClient, path: str, **params: str) -> Any:
    response = await client.get(path, params=params, headers=FINANCE)
    assert response.status_code == 200, response.text
    return response.json()


async def books_state(
    client: httpx.AsyncClient, accounts: list[str], currency: str, *, entries: bool = True
) -> dict[str, Any]:
    """What a fault must not change, comparable between two ledgers fed the same inputs:
    the trial balance in `currency` (all dates), each account's receivables, payments
    (count and amounts), entry count and, with `entries`, its journal entries as a sorted
    list of (date, kind, what it concerns when both runs name it alike, debits and
    credits). Payment and entry ids differ between runs, so they are left out."""
    trial = await _ok(client, "/v1/reports/trial-balance", as_of="9999-12-31")
    [mine] = [c for c in trial["currencies"] if c["currency"] == currency] or [None]
    state: dict[str, Any] = {"trial_balance": mine, "accounts": {}}
    for account in accounts:
        receivable = await _ok(client, f"/v1/receivables/{account}", currency=currency,
                               as_of="9999-12-31")  # fmt: skip
        payments = await _all_payments(client, account)
        found = await journal_entries(client, account_id=account)
        state["accounts"][account] = {
            "balance": receivable["balance"],
            "unapplied_cash": receivable["unapplied_cash"],
            "open_invoices": receivable["open_invoices"],
            "payments": sorted(p["amount"] for p in payments),
            "entry_count": len(found),
        }
        if entries:
            state["accounts"][account]["entries"] = sorted(
                (
                    e["entry_date"],
                    e["kind"],
                    e["concerns"]["kind"],
                    "" if e["concerns"]["kind"] in ("payment", "refund") else e["concerns"]["id"],
                    tuple((x["ledger_account"], x["debit"], x["credit"]) for x in e["lines"]),
                )
                for e in found
            )
    return state


async def _all_payments(client: httpx.AsyncClient, account: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    params = {"account_id": account, "limit": "500"}
    while True:
        page = await _ok(client, "/v1/payments", **params)
        found += page["data"]
        if page["next_cursor"] is None:
            return found
        params["cursor"] = page["next_cursor"]
