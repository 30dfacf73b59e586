"""Projections are a pure fold of the event store: `python -m quote rebuild` keeps the digest."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import timedelta
from typing import Any

from revline_events.clock import FixedClock
from revline_testkit.live import LiveService, auth
from sqlalchemy import delete, func, select, update

SALES = auth("sales")


async def _cli(service: LiveService, command: str) -> str:
    """Run `python -m quote <command>` on the service's database, as ops would."""
    env = {**os.environ, "QUOTE_DATABASE_URL": service.runtime.settings.database_url}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "quote", command, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode().strip()


async def _digest(service: LiveService) -> str:
    response = await service.client.get("/v1/admin/state-digest", headers=auth("admin"))
    assert response.status_code == 200, response.text
    digest: str = response.json()["digest"]
    return digest


async def _event_count(service: LiveService) -> int:
    event_store = service.runtime.spec.kernel.event_store
    async with service.runtime.db.session() as session:
        count = await session.execute(select(func.count()).select_from(event_store))
        return int(count.scalar_one())


async def _scenario(service: LiveService, f1_quote: dict[str, Any], clock: FixedClock) -> None:
    """Products, then quotes revised, presented, accepted and rejected, hours apart."""
    client = service.client
    won = (await client.post("/v1/quotes", json=f1_quote, headers=SALES)).json()["id"]
    lost = (await client.post("/v1/quotes", json={**f1_quote, "account_id": "globex"},
                              headers=SALES)).json()["id"]  # fmt: skip
    steps = [
        ("PATCH", f"/v1/quotes/{won}", {"lines": [{"sku": "SEAT", "quantity": 12}]}),
        ("POST", f"/v1/quotes/{won}/present", None),
        ("POST", f"/v1/quotes/{won}/accept", None),
        ("POST", f"/v1/quotes/{lost}/reject", None),
    ]
    for method, path, body in steps:
        clock.advance(timedelta(hours=3, microseconds=123457))
        response = await client.request(method, path, json=body, headers=SALES)
        assert response.status_code == 200, response.text


async def test_rebuild_from_the_cli_leaves_the_state_digest_unchanged(
    stocked_service: LiveService, f1_quote: dict[str, Any], clock: FixedClock
) -> None:
    await _scenario(stocked_service, f1_quote, clock)
    before = await _digest(stocked_service)

    rebuilt = json.loads(await _cli(stocked_service, "rebuild"))

    assert rebuilt == {"service": "quote", "replayed": await _event_count(stocked_service)}
    assert rebuilt["replayed"] == 5 + 2 + 4  # products, quotes created, the four steps
    assert await _digest(stocked_service) == before
    assert await _cli(stocked_service, "digest") == before


async def test_rebuild_from_the_cli_repairs_damaged_projections(
    stocked_service: LiveService, f1_quote: dict[str, Any], clock: FixedClock
) -> None:
    await _scenario(stocked_service, f1_quote, clock)
    before = await _digest(stocked_service)
    quotes = stocked_service.runtime.spec.projections[1]
    lines = stocked_service.runtime.spec.projections[2]
    async with stocked_service.runtime.db.session() as session, session.begin():
        await session.execute(delete(lines))
        await session.execute(update(quotes).values(status="draft"))
    assert await _digest(stocked_service) != before

    await _cli(stocked_service, "rebuild")

    assert await _digest(stocked_service) == before
    listed = await stocked_service.client.get("/v1/quotes", headers=SALES)
    assert sorted(q["status"] for q in listed.json()["data"]) == ["accepted", "rejected"]
