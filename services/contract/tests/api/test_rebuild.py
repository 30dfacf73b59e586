"""Projections are a pure fold of the event store: `python -m contract rebuild` keeps the digest."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import TYPE_CHECKING

from contract_driver import every_kind_of_change
from revline_testkit.live import auth

if TYPE_CHECKING:
    from contract_driver import ContractDriver


async def _cli(driver: ContractDriver, command: str) -> str:
    """`python -m contract <command>` on the service's database, as an operator would."""
    env = {**os.environ, "CONTRACT_DATABASE_URL": driver.service.runtime.settings.database_url}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "contract", command, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode().strip()


async def _digest(driver: ContractDriver) -> str:
    response = await driver.client.get("/v1/admin/state-digest", headers=auth("admin"))
    assert response.status_code == 200, response.text
    digest: str = response.json()["digest"]
    return digest


async def test_rebuild_from_the_cli_leaves_the_state_digest_unchanged(
    fresh_contracts: ContractDriver,
) -> None:
    await every_kind_of_change(fresh_contracts)
    before = await _digest(fresh_contracts)
    runtime = fresh_contracts.service.runtime
    async with runtime.db.session() as session:
        stored = len((await session.execute(runtime.spec.kernel.event_store.select())).all())

    rebuilt = json.loads(await _cli(fresh_contracts, "rebuild"))

    assert rebuilt == {"service": "contract", "replayed": stored}
    assert await _digest(fresh_contracts) == before
