"""`make run` for real: the dev stack as a process, a service killed and restarted under it,
stopped with Ctrl-C, twice in a row; `make demo` and the README walkthrough against it
(tests/faults kills the broker and every service under it mid-burst);
and on PostgreSQL (`REVLINE_DATABASE=postgresql`), its data kept from one run to the next.

Every port is a free one and every file lives under the test's tmp_path (or, for
PostgreSQL, a temporary directory its OS user can enter), so the repository's
var/ and a developer's running stack are never touched.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from revline_testkit.devstack import (
    ROOT,
    discover_services,
)
from revline_testkit.live import free_port
from revline_testkit.stack_process import (
    Ports,
    RunningStack,
    descendants,
    dev_stack,
    proc_stat,
    stack_env,
)

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="finds the stack's child processes in /proc"
)

SERVICES = discover_services()
PRODUCT = {
    "sku": "DEVSTACK-SEAT",
    "name": "Seat",
    "currency": "USD",
    "unit_price": 1000,
    "charge_type": "recurring",
    "billing_period": "month",
}


def still_alive(processes: dict[int, str]) -> list[int]:
    alive = []
    for pid, started in processes.items():
        stat = proc_stat(pid)
        if stat is not None and stat[2] == started and stat[0] not in ("Z", "X"):
            alive.append(pid)
    return alive


def port_is_free(port: int) -> bool:
    """Nothing answers on the port and a server could bind it again."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            return False
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


async def saw_event_on(bootstrap: str, topic: str, wanted: str, within: float = 10.0) -> bool:
    """True once an event of type `wanted` is read from `topic` (from its beginning)."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=10,
    )
    await consumer.start()
    try:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                if any(json.loads(r.value)["type"] == wanted for r in records if r.value):
                    return True
        return False
    finally:
        await consumer.stop()


def kill_one_and_see_it_restart(stack: RunningStack, victim: str, witness: str) -> None:
    """SIGKILL `victim`: the stack says so, restarts it, and `witness` answers all along."""
    urls = stack.urls()
    answers: list[int | str] = []
    watching = threading.Event()
    watching.set()

    def keep_asking() -> None:
        # A slow answer on a loaded machine still counts: the deadline is not the point.
        with httpx.Client(timeout=30.0) as client:
            while watching.is_set():
                try:
                    answers.append(client.get(f"{urls[witness]}/readyz").status_code)
                except httpx.TransportError as error:
                    answers.append(type(error).__name__)
                time.sleep(0.05)

    asker = threading.Thread(target=keep_asking, daemon=True)
    asker.start()
    try:
        old_pid = stack.service_pid(victim)
        os.kill(old_pid, signal.SIGKILL)
        exited = stack.wait_for_line(rf"^{victim} exited with code -9 \(SIGKILL\): restarting")
        assert "restarting it in 0.5s" in exited, exited
        stack.wait_for_line(rf"^restarted {victim} \(restart 1, pid \d+\)")
        stack.wait_for_line(rf"^  {victim} is ready again$")
        assert httpx.get(f"{urls[victim]}/readyz").status_code == 200
        assert stack.service_pid(victim) != old_pid
    finally:
        watching.clear()
        asker.join(10)
    assert answers, "the witness was never asked"
    assert set(answers) == {200}, answers
    assert stack.process.poll() is None, stack.output()


def stop_and_check_gone(stack: RunningStack, ports: Ports, also: Sequence[int] = ()) -> None:
    children = descendants(stack.process.pid)
    # The broker wrapper, Tansu under it, and one process per service.
    assert len(children) >= len(SERVICES) + 2, children
    stack.process.send_signal(signal.SIGINT)
    assert stack.process.wait(40) == 0, stack.output()
    assert still_alive(children) == [], stack.output()
    busy = [port for port in [*ports.all(), *also] if not port_is_free(port)]
    assert busy == [], f"ports still taken after the stack stopped: {busy}"


def readme_walkthrough() -> str:
    """The shell block of the README's walkthrough, as a new user copies it."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Walkthrough: from a quote to a paid invoice", 1)[1]
    block = re.search(r"^```sh\n(.*?)^```$", section, re.M | re.S)
    assert block is not None, "no sh block in the README's walkthrough"
    return block[1]


def walk_through(tmp_path: Path, ports: Ports) -> None:
    """`make demo` and the README's walkthrough, each against the running stack."""
    env = stack_env(tmp_path, ports)
    demo = subprocess.run([sys.executable, "-m", "revline_testkit.demo"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=180)  # fmt: skip
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "invoice INV-" in demo.stdout and "USD 496.77" in demo.stdout, demo.stdout
    assert re.search(r"billing shows invoice INV-\d+ paid", demo.stdout), demo.stdout
    assert re.search(r"debits (USD [\d,.]+) = credits \1", demo.stdout), demo.stdout
    assert "AR aging as of 2026-03-15: 1_30 USD 450.00" in demo.stdout, demo.stdout

    walk = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", readme_walkthrough()],
                          cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=180)  # fmt: skip
    assert walk.returncode == 0, walk.stdout + walk.stderr
    lines = walk.stdout.splitlines()
    assert lines[:2] == ["WALK-SEAT", "WALK-SETUP"], walk.stdout
    invoices = next(line for line in lines if "'INV-" in line and "'posted')" in line)
    assert ", 49677, 'posted'), (" in invoices and ", 45000, 'posted')]" in invoices, invoices
    assert re.search(r"^\[\('INV-\d+', 'paid', 0\)\]$", walk.stdout, re.M), walk.stdout
    assert re.search(r"^\[\('USD', (\d+), \1\)\]$", walk.stdout, re.M), walk.stdout
    assert "'1_30': 45000" in lines[-1], walk.stdout


def test_make_run_starts_everything_restarts_a_killed_service_and_stops_clean_twice_in_a_row(
    tmp_path: Path,
) -> None:
    assert SERVICES, "no services found"
    ports = Ports()
    keys_file = tmp_path / "var" / "dev-keys.json"

    with dev_stack(tmp_path, ports) as stack:
        stack.wait_ready()
        for name in SERVICES:  # a first run has no event store to publish again
            assert f"  {name}: a new database, nothing to republish" in stack.lines, name
        urls = stack.urls()
        assert set(urls) == set(SERVICES), stack.output()
        assert {name: url.rsplit(":", 1)[1] for name, url in urls.items()} == {
            name: str(port) for name, port in ports.services.items()
        }
        keys = json.loads(keys_file.read_text())
        assert set(keys) == {"admin", "sales", "ops", "finance"}
        assert all(key in stack.output() for key in keys.values()), "keys not printed"
        admin = {"Authorization": f"Bearer {keys['admin']}"}
        for name, url in urls.items():
            assert httpx.get(f"{url}/readyz").status_code == 200, name
            assert httpx.get(f"{url}/v1/admin/state-digest", headers=admin).status_code == 200
            assert httpx.get(f"{url}/v1/admin/state-digest").status_code == 401
        if "quote" in urls:
            quote = urls["quote"]
            assert httpx.get(f"{quote}/v1/products", headers=admin).status_code == 200
            created = httpx.post(
                f"{quote}/v1/products",
                json=PRODUCT,
                headers={**admin, "Idempotency-Key": "devstack-test"},
            )
            assert created.status_code == 201, created.text
        if len(SERVICES) > 1:
            kill_one_and_see_it_restart(stack, victim=SERVICES[-1], witness=SERVICES[0])
        stop_and_check_gone(stack, ports)

    # Same ports, same var dir: the keys are kept and the event store goes to the new broker.
    with dev_stack(tmp_path, ports) as stack:
        stack.wait_ready()
        assert json.loads(keys_file.read_text()) == keys
        urls = stack.urls()
        assert set(urls) == set(SERVICES), stack.output()
        for name, url in urls.items():
            assert httpx.get(f"{url}/readyz").status_code == 200, name
        if "quote" in urls:
            assert "quote: republished 1 events to quote.events" in stack.output()
            listed = httpx.get(f"{urls['quote']}/v1/products", headers=admin).json()
            assert [p["sku"] for p in listed["data"]] == [PRODUCT["sku"]]
            bootstrap = f"127.0.0.1:{ports.broker}"
            assert asyncio.run(saw_event_on(bootstrap, "quote.events", "ProductCreated"))
        if {"quote", "contract", "order", "billing", "ledger"} <= set(urls):
            walk_through(tmp_path, ports)
        stop_and_check_gone(stack, ports)


PG_LINE = re.compile(
    r"^Databases \(PostgreSQL 15 on 127\.0\.0\.1:(?P<port>\d+), data (?P<data>\S+),"
)


def postgres_port(stack: RunningStack) -> int:
    """The port the stack says its PostgreSQL listens on; every service's database on it."""
    found = [m for m in map(PG_LINE.match, stack.lines) if m is not None]
    assert len(found) == 1, stack.output()
    port = int(found[0]["port"])
    for name in SERVICES:
        wanted = rf"^  {name}\s+postgresql\+asyncpg://postgres@127\.0\.0\.1:{port}/{name}$"
        assert any(re.match(wanted, line) for line in stack.lines), (name, stack.output())
    return port


@pytest.fixture
def var_dir_postgres_can_enter() -> Iterator[Path]:
    """A var dir PostgreSQL's OS user can reach: tmp_path's parents are root-only (0700),
    and as root the stack runs the server as the `postgres` user."""
    top = Path(tempfile.mkdtemp(prefix="revline-devstack-pg-"))
    try:
        top.chmod(0o755)
        yield top / "var"
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_make_run_on_postgresql_runs_its_own_server_and_keeps_the_data_between_runs(
    tmp_path: Path, var_dir_postgres_can_enter: Path
) -> None:
    var = var_dir_postgres_can_enter
    ports = Ports()
    first_port = free_port()
    on_postgres = {"REVLINE_DATABASE": "postgresql", "REVLINE_VAR_DIR": str(var)}

    with dev_stack(
        tmp_path, ports, {**on_postgres, "REVLINE_POSTGRES_PORT": str(first_port)}
    ) as stack:
        stack.wait_ready()
        assert "creating the PostgreSQL cluster in" in stack.output()
        assert f"created the databases {', '.join(SERVICES)}" in stack.output()
        for name in SERVICES:
            assert f"  {name}: a new database, nothing to republish" in stack.lines, name
        assert postgres_port(stack) == first_port
        assert (var / "postgres" / "data" / "PG_VERSION").is_file()
        assert sorted(var.glob("*.db")) == [], "a service used SQLite"
        urls = stack.urls()
        assert set(urls) == set(SERVICES), stack.output()
        for name, url in urls.items():
            assert httpx.get(f"{url}/readyz").status_code == 200, name
        admin = {
            "Authorization": f"Bearer {json.loads((var / 'dev-keys.json').read_text())['admin']}"
        }
        if "quote" in urls:
            created = httpx.post(
                f"{urls['quote']}/v1/products",
                json=PRODUCT,
                headers={**admin, "Idempotency-Key": "devstack-pg-test"},
            )
            assert created.status_code == 201, created.text
        stop_and_check_gone(stack, ports, also=[first_port])

    # No port given this time: a free one; the same cluster and databases, the product kept.
    with dev_stack(tmp_path, ports, on_postgres) as stack:
        stack.wait_ready()
        assert "creating the PostgreSQL cluster" not in stack.output()
        assert "created the databases" not in stack.output()
        second_port = postgres_port(stack)
        urls = stack.urls()
        assert set(urls) == set(SERVICES), stack.output()
        if "quote" in urls:
            assert "quote: republished 1 events to quote.events" in stack.output()
            listed = httpx.get(f"{urls['quote']}/v1/products", headers=admin).json()
            assert [p["sku"] for p in listed["data"]] == [PRODUCT["sku"]]
        assert sorted(var.glob("*.db")) == [], "a service used SQLite"
        stop_and_check_gone(stack, ports, also=[second_port])
