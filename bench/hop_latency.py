"""Hop latency on the dev stack: accept -> billing schedule, where the time goes, idle CPU.

The stack is started by the dev-stack runner's own code (`make run`):
Tansu and the services quote, contract, order and billing, each a separate
process (`python -m <name> serve`) on SQLite in a temp dir, on free ports.
The poll settings are whatever the environment says (REVLINE_* variables pass
through), so a before/after comparison is `REVLINE_CONSUMER_FETCH_MAX_WAIT_MS=...
python -m bench --only hop_latency`.

1. Hot: N quotes (each for an account of its own) one at a time: accept, then
   look every POLL_S into billing's SQLite file (read-only, from this process)
   until the account's subscription is committed, then the next quote at once.
   The probe stays off billing's event loop: an HTTP poll every few ms runs on
   the loop (and the one SQLite connection) of the consumer it measures. At
   the end `GET /v1/billing-schedules?account_id=` must list each schedule.
2. After idle: M more quotes, each after IDLE_GAP_S with nothing to do (what
   the first event after a quiet spell costs).
3. Idle CPU: with nothing left to do, utime+stime of each process (and its
   children: the broker wrapper runs Tansu) over IDLE_WINDOW_S, as a share of
   one core.

The per-hop breakdown comes from the timestamps the kernel writes anyway, read
from the services' SQLite files afterwards: each event's `occurred_at` (taken
by the handler), each outbox row's `sent_at` (written once the broker
acknowledged it) and each inbox row's `processed_at` (taken by the consumer as
it claims the event: the first statement of its transaction, before the
handler). All are wall-clock times of the same machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
from revline_testkit.devstack import DevStack
from revline_testkit.live import api_keys_setting, auth
from revline_testkit.price_book import F1_PRODUCTS

from bench.common import DEADLINE_S, distribution_ms, environment, free_ports, running_stack

NAME = "hop_latency"
SERVICES = ("quote", "contract", "order", "billing")
FULL = {"quotes": 200, "after_idle_quotes": 12, "idle_window_s": 25.0}
QUICK = {"quotes": 40, "after_idle_quotes": 4, "idle_window_s": 10.0}
WARMUP_QUOTES = 5
POLL_S = 0.002  # the probe's pause between two looks at billing's database
IDLE_GAP_S = 3.0  # quiet time before each "after idle" quote
SETTLE_S = 3.0  # after the last quote, before the idle window starts
ADMIN = auth("admin")


# The hop's parts, each from one timestamp to the next (see the module doc).
PARTS = (
    ("accept_to_quote_event", "accept request sent -> QuoteAccepted.occurred_at"),
    ("quote_relay", "QuoteAccepted.occurred_at -> quote outbox sent_at"),
    ("contract_fetch", "quote outbox sent_at -> contract inbox processed_at"),
    ("contract_handle", "contract inbox processed_at -> ContractCreated.occurred_at"),
    ("contract_relay", "ContractCreated.occurred_at -> contract outbox sent_at"),
    ("order_fetch", "contract outbox sent_at -> order inbox processed_at"),
    ("order_handle", "order inbox processed_at -> OrderActivated.occurred_at"),
    ("order_relay", "OrderActivated.occurred_at -> order outbox sent_at"),
    ("billing_fetch", "order outbox sent_at -> billing inbox processed_at"),
    ("billing_handle", "billing inbox processed_at -> OrderScheduled.occurred_at"),
    ("billing_commit_seen", "OrderScheduled.occurred_at -> schedule row seen by the probe"),
)


def _quote_body(account: str, i: int) -> dict[str, Any]:
    return {
        "account_id": account, "currency": "USD", "start_date": "2026-01-15",
        "term_months": 12, "bill_cycle_day": 1,
        "lines": [{"sku": "SEAT", "quantity": 10 + i % 7, "discount_percent": "10"},
                  {"sku": "SETUP", "quantity": 1}],
    }  # fmt: skip


# -- process CPU -------------------------------------------------------------------------------


def _tree(pid: int) -> list[int]:
    """`pid` and its descendants (Linux /proc)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{current}/task"):
                with contextlib.suppress(OSError):
                    text = Path(f"/proc/{current}/task/{task}/children").read_text()
                    todo.extend(int(child) for child in text.split())
    return found


def _cpu_ticks(pids: list[int]) -> int:
    """utime + stime of the processes, in clock ticks."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            stat = Path(f"/proc/{pid}/stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total


def cpu_seconds(trees: Mapping[str, list[int]]) -> dict[str, float]:
    """CPU seconds (user + system) each process tree has used so far."""
    tick = os.sysconf("SC_CLK_TCK")
    return {name: _cpu_ticks(pids) / tick for name, pids in trees.items()}


def idle_cpu(processes: Mapping[str, int], window_s: float) -> dict[str, float]:
    """Share of one core each process tree used over `window_s` seconds."""
    trees = {name: _tree(pid) for name, pid in processes.items()}
    before = {name: _cpu_ticks(pids) for name, pids in trees.items()}
    started = time.monotonic()
    time.sleep(window_s)
    wall = time.monotonic() - started
    tick = os.sysconf("SC_CLK_TCK")
    return {
        name: round((_cpu_ticks(pids) - before[name]) / tick / wall, 4)
        for name, pids in trees.items()
    }


# -- the flow ----------------------------------------------------------------------------------


async def _call(
    client: httpx.AsyncClient, method: str, url: str, expect: int, body: Any = None
) -> Any:
    response = await client.request(method, url, json=body, headers=ADMIN)
    if response.status_code != expect:
        raise RuntimeError(f"{method} {url}: {response.status_code} {response.text[:300]}")
    return response.json()


def _schedule_committed(probe: sqlite3.Connection, account: str) -> bool:
    """True once billing has committed a subscription of the account.

    `probe` is one read-only connection kept for the whole run: opening one per
    look (as before 2026-12-03) cost ~200 us of CPU each, 500 times a second,
    beside the processes measured. fetchall() runs the statement to its end, so
    no read transaction stays open and the next look sees the latest commit.
    """
    rows = probe.execute(
        "SELECT 1 FROM subscriptions WHERE account_id = ? LIMIT 1", (account,)
    ).fetchall()
    return bool(rows)


async def _one(
    client: httpx.AsyncClient,
    urls: Mapping[str, str],
    probe: sqlite3.Connection,
    account: str,
    quote_id: str,
) -> tuple[float, float]:
    """Accept the quote, poll billing's database until its schedule is there: wall times."""
    sent = time.time()
    await _call(client, "POST", f"{urls['quote']}/v1/quotes/{quote_id}/accept", 200)
    deadline = time.monotonic() + DEADLINE_S
    while not _schedule_committed(probe, account):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{account}: no billing schedule within {DEADLINE_S}s")
        await asyncio.sleep(POLL_S)
    return sent, time.time()


async def _listed(client: httpx.AsyncClient, urls: Mapping[str, str], account: str) -> None:
    page = await _call(
        client, "GET", f"{urls['billing']}/v1/billing-schedules?account_id={account}", 200
    )
    if len(page["data"]) != len(_quote_body(account, 0)["lines"]):  # one per line
        raise RuntimeError(f"{account}: {len(page['data'])} schedules listed, expected 2")


async def _flow(
    urls: Mapping[str, str],
    billing_db: Path,
    sizes: Mapping[str, Any],
    trees: Mapping[str, list[int]],
    hot_cpu: dict[str, float],
) -> tuple[dict[str, tuple[float, float]], list[str], list[str]]:
    """Run the quotes; `hot_cpu` gets each process tree's CPU seconds over the hot phase."""
    probe = sqlite3.connect(f"file:{billing_db}?mode=ro", uri=True)
    with contextlib.closing(probe):
        return await _quotes(urls, probe, sizes, trees, hot_cpu)


async def _quotes(
    urls: Mapping[str, str],
    probe: sqlite3.Connection,
    sizes: Mapping[str, Any],
    trees: Mapping[str, list[int]],
    hot_cpu: dict[str, float],
) -> tuple[dict[str, tuple[float, float]], list[str], list[str]]:
    run = uuid.uuid4().hex[:6]
    hot = [f"hop-{run}-h{i:04d}" for i in range(sizes["quotes"])]
    cold = [f"hop-{run}-c{i:04d}" for i in range(sizes["after_idle_quotes"])]
    warm = [f"hop-{run}-w{i}" for i in range(WARMUP_QUOTES)]
    flows: dict[str, tuple[float, float]] = {}
    async with httpx.AsyncClient(timeout=30.0) as client:
        for product in F1_PRODUCTS:
            await _call(client, "POST", f"{urls['quote']}/v1/products", 201, product)
        quotes = {}
        for i, account in enumerate(warm + hot + cold):
            body = _quote_body(account, i)
            created = await _call(client, "POST", f"{urls['quote']}/v1/quotes", 201, body)
            quotes[account] = created["id"]
        for account in warm:
            await _one(client, urls, probe, account, quotes[account])
        before = cpu_seconds(trees)
        for account in hot:
            flows[account] = await _one(client, urls, probe, account, quotes[account])
        after = cpu_seconds(trees)
        hot_cpu.update({name: after[name] - before[name] for name in trees})
        for account in cold:
            await asyncio.sleep(IDLE_GAP_S)  # nothing to do: the consumers go idle
            flows[account] = await _one(client, urls, probe, account, quotes[account])
        for account in warm + hot + cold:  # what the database showed, the API lists
            await _listed(client, urls, account)
    return flows, hot, cold


# -- the breakdown from the databases ----------------------------------------------------------


def _at(value: Any) -> float:
    moment = datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _events(db: Path, kind: str) -> dict[str, tuple[str, float, float | None]]:
    """account -> (event_id, occurred_at, outbox sent_at) of the service's `kind` events."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        rows = conn.execute(
            "SELECT e.account_id, e.event_id, e.occurred_at, MIN(o.sent_at) FROM event_store e "
            "LEFT JOIN outbox o ON o.event_id = e.event_id WHERE e.type = ? "
            "GROUP BY e.event_id",
            (kind,),
        ).fetchall()
    return {
        account: (event_id, _at(occurred), None if sent is None else _at(sent))
        for account, event_id, occurred, sent in rows
    }


def _inbox(db: Path) -> dict[str, float]:
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        rows = conn.execute("SELECT event_id, processed_at FROM inbox").fetchall()
    return {event_id: _at(at) for event_id, at in rows}


def breakdown(
    var: Path, flows: Mapping[str, tuple[float, float]], accounts: list[str]
) -> dict[str, Any]:
    """Each part of the hop (PARTS) over `accounts`, from the services' own timestamps."""
    quote = _events(var / "quote.db", "QuoteAccepted")
    contract = _events(var / "contract.db", "ContractCreated")
    order = _events(var / "order.db", "OrderActivated")
    billing = _events(var / "billing.db", "OrderScheduled")
    seen = {name: _inbox(var / f"{name}.db") for name in ("contract", "order", "billing")}
    parts: dict[str, list[float]] = {name: [] for name, _ in PARTS}
    for account in accounts:
        sent, listed = flows[account]
        q_id, q_at, q_sent = quote[account]
        c_id, c_at, c_sent = contract[account]
        o_id, o_at, o_sent = order[account]
        b_at = billing[account][1]
        assert q_sent is not None and c_sent is not None and o_sent is not None
        points = [
            sent, q_at, q_sent, seen["contract"][q_id], c_at, c_sent,
            seen["order"][c_id], o_at, o_sent, seen["billing"][o_id], b_at, listed,
        ]  # fmt: skip
        for (name, _), (start, end) in zip(PARTS, pairwise(points), strict=True):
            parts[name].append(end - start)
    return {name: distribution_ms(values) for name, values in parts.items()}


# -- the run -----------------------------------------------------------------------------------


def _load_average() -> list[float]:
    """The machine's 1, 5 and 15 minute load averages."""
    return [round(x, 2) for x in os.getloadavg()]


def _measure(stack: DevStack, sizes: Mapping[str, Any]) -> dict[str, Any]:
    urls = {plan.name: plan.url for plan in stack.plans}
    processes = {plan.name: child.pid for plan, child in stack.services}
    assert stack.broker is not None
    processes["broker"] = stack.broker.pid
    live = {k: v for k, v in processes.items() if v is not None}
    trees = {name: _tree(pid) for name, pid in live.items()}
    hot_cpu: dict[str, float] = {}
    load_before = _load_average()
    flows, hot, cold = asyncio.run(
        asyncio.wait_for(_flow(urls, stack.var_dir / "billing.db", sizes, trees, hot_cpu), 900)
    )
    load_after_flow = _load_average()
    time.sleep(SETTLE_S)  # let the last relays and consumers go quiet
    cpu = idle_cpu(live, sizes["idle_window_s"])
    var = stack.var_dir
    return {
        "load_average": {
            "before": load_before,
            "after_quotes": load_after_flow,
            "after_idle_window": _load_average(),
        },
        "hot_cpu_ms_per_quote": {
            name: round(seconds * 1000 / len(hot), 2) for name, seconds in hot_cpu.items()
        },
        "accept_to_schedule": distribution_ms([flows[a][1] - flows[a][0] for a in hot]),
        "accept_to_schedule_after_idle": distribution_ms([flows[a][1] - flows[a][0] for a in cold]),
        "parts": breakdown(var, flows, hot),
        "parts_after_idle": breakdown(var, flows, cold),
        "idle_cpu_core_ratio": cpu,
        "idle_cpu_services_max_ratio": max(v for k, v in cpu.items() if k != "broker"),
        "poll_interval_ms": POLL_S * 1000,
        "idle_gap_s": IDLE_GAP_S,
        "settings": {
            k: v for k, v in sorted(os.environ.items()) if k.startswith("REVLINE_CONSUMER_")
        },
    }


def run(quick: bool) -> dict[str, Any]:
    """Start the dev stack in a temp dir, measure, stop everything it started."""
    sizes = QUICK if quick else FULL
    result: dict[str, Any] = dict(sizes)
    with tempfile.TemporaryDirectory(prefix="revline-bench-hops-") as tmp:
        broker_port, *service_ports = free_ports(1 + len(SERVICES))
        ports = {
            f"{name.upper()}_PORT": str(port)
            for name, port in zip(SERVICES, service_ports, strict=True)
        }
        env = {
            **ports,
            "REVLINE_BROKER_PORT": str(broker_port),
            "REVLINE_API_KEYS": api_keys_setting(),
        }
        with environment(env), running_stack(Path(tmp), broker_port, SERVICES) as stack:
            result["sqlite"] = _measure(stack, sizes)
    return result


def summary(result: dict[str, Any]) -> list[str]:
    """Readable lines for the console."""
    figures = result.get("sqlite")
    if not isinstance(figures, dict):
        return []
    lines = [f"{'accept -> billing schedule (ms)':<40}{'p50':>8}{'p90':>8}{'p99':>8}{'max':>8}"]
    for key in ("accept_to_schedule", "accept_to_schedule_after_idle"):
        d = figures[key]
        lines.append(f"{key:<40}{d['p50_ms']:>8}{d['p90_ms']:>8}{d['p99_ms']:>8}{d['max_ms']:>8}")
    lines.append("parts (hot, p50 / p99 ms):")
    for name, _ in PARTS:
        d = figures["parts"][name]
        lines.append(f"  {name:<38}{d['p50_ms']:>8}{d['p99_ms']:>8}")
    lines.append("hot CPU ms per quote: " + json.dumps(figures["hot_cpu_ms_per_quote"]))
    cpu = figures["idle_cpu_core_ratio"]
    lines.append("idle CPU (share of a core): " + json.dumps(cpu))
    lines.append("load average (1/5/15 min): " + json.dumps(figures["load_average"]))
    return lines
