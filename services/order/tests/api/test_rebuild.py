"""Projections, the contract view included, are a pure fold of the service's own event store."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import date

from order.store.tables import (
    contract_subscription_quantities,
    contract_subscriptions,
    contracts,
    orders,
)
from order_feed import ContractFeed, ContractStream, subscription, wait_for_orders
from revline_events.payloads.contract import (
    ContractAmended,
    ContractRenewed,
    ContractTerminated,
    SubscriptionChange,
)
from revline_events.replay import rebuild_projections
from revline_testkit.live import LiveService, auth
from revline_testkit.topics import caught_up, unique
from sqlalchemy import delete, func, select, update

ADMIN, OPS = auth("admin"), auth("ops")
START, END = date(2026, 1, 1), date(2026, 12, 31)


async def _cli(service: LiveService, command: str) -> str:
    """Run `python -m order <command>` on the service's database, as ops would."""
    env = {**os.environ, "ORDER_DATABASE_URL": service.runtime.settings.database_url}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "order", command, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode().strip()


async def _digest(service: LiveService) -> str:
    response = await service.client.get("/v1/admin/state-digest", headers=ADMIN)
    assert response.status_code == 200, response.text
    assert response.json()["tables"] == [
        "contract_subscription_quantities", "contract_subscriptions", "contracts",
        "order_items", "orders",
    ]  # fmt: skip
    digest: str = response.json()["digest"]
    return digest


async def _event_count(service: LiveService) -> int:
    event_store = service.runtime.spec.kernel.event_store
    async with service.runtime.db.session() as session:
        count = await session.execute(select(func.count()).select_from(event_store))
        return int(count.scalar_one())


def _amended(contract: ContractStream, sub_id: str, before: int, after: int) -> ContractAmended:
    data = subscription(sub_id, quantity=after, unit_price=5000, start=START, end=END)
    return ContractAmended(
        contract_id=contract.contract_id, account_id=contract.account_id, quote_id=unique("qt"),
        effective_date=date(2026, 3, 11),
        changes=[SubscriptionChange(subscription=data, quantity_before=before,
                                    quantity_after=after)],
    )  # fmt: skip


async def test_rebuild_from_the_cli_leaves_the_state_digest_unchanged(
    order_service: LiveService, feed: ContractFeed
) -> None:
    client = order_service.client
    contract = feed.contract(unique("acct"))
    seat = unique("sub")
    await contract.publish(contract.created(
        [subscription(seat, quantity=10, unit_price=5000, start=START, end=END)],
        start=START, end=END,
    ))  # fmt: skip
    await contract.publish(_amended(contract, seat, 10, 15))
    await contract.publish(ContractRenewed(
        contract_id=contract.contract_id, account_id=contract.account_id, quote_id=None,
        term_start=date(2027, 1, 1), term_end=date(2027, 12, 31), term_months=12,
        previous_end_date=END,
        subscriptions=[subscription(seat, quantity=15, unit_price=5000, start=date(2027, 1, 1),
                                    end=date(2027, 12, 31))],
    ))  # fmt: skip
    await contract.publish(ContractTerminated(
        contract_id=contract.contract_id, account_id=contract.account_id,
        effective_date=date(2027, 7, 1), end_date=date(2027, 6, 30), credit_unused=True,
    ))  # fmt: skip
    new, _, renewal, termination = await wait_for_orders(
        client, 4, contract_id=contract.contract_id
    )
    assert [i["quantity_delta"] for i in termination["items"]] == [-15]
    for path, body in [
        (f"/v1/orders/{new['id']}/hold", {"reason": "dispute"}),
        (f"/v1/orders/{new['id']}/release", None),
        (f"/v1/orders/{renewal['id']}/hold", {"reason": "new PO"}),
        (f"/v1/orders/{renewal['id']}/billing-date-override", {"next_billing_date": "2027-02-01"}),
    ]:
        assert (await client.post(path, json=body, headers=OPS)).status_code == 200
    await caught_up(order_service)
    before = await _digest(order_service)

    rebuilt = json.loads(await _cli(order_service, "rebuild"))

    assert rebuilt == {"service": "order", "replayed": await _event_count(order_service)}
    assert await _digest(order_service) == before


async def test_rebuild_projections_restores_damaged_orders_and_the_contract_view(
    order_service: LiveService, feed: ContractFeed
) -> None:
    client = order_service.client
    contract = feed.contract(unique("acct"))
    seat = unique("sub")
    await contract.publish(contract.created(
        [subscription(seat, quantity=10, unit_price=5000, start=START, end=END)],
        start=START, end=END,
    ))  # fmt: skip
    await contract.publish(_amended(contract, seat, 10, 15))
    new, _ = await wait_for_orders(client, 2, contract_id=contract.contract_id)
    held = await client.post(f"/v1/orders/{new['id']}/hold", json={"reason": "r"}, headers=OPS)
    assert held.status_code == 200
    await caught_up(order_service)
    before = await _digest(order_service)
    async with order_service.runtime.db.session() as session, session.begin():
        await session.execute(delete(contract_subscription_quantities))
        await session.execute(delete(contract_subscriptions))
        await session.execute(delete(contracts))
        await session.execute(update(orders).values(billing_hold=False, hold_reason=None))
    assert await _digest(order_service) != before

    runtime = order_service.runtime
    replayed = await rebuild_projections(
        runtime.db, runtime.store, runtime.spec.projector, runtime.spec.projections
    )

    assert replayed == await _event_count(order_service)
    assert await _digest(order_service) == before
    shown = (await client.get(f"/v1/orders/{new['id']}", headers=OPS)).json()
    assert (shown["billing_hold"], shown["hold_reason"]) == (True, "r")
    # The rebuilt contract view still knows the amended quantity.
    await contract.publish(ContractTerminated(
        contract_id=contract.contract_id, account_id=contract.account_id,
        effective_date=date(2026, 10, 1), end_date=date(2026, 9, 30), credit_unused=False,
    ))  # fmt: skip
    *_, termination = await wait_for_orders(client, 3, contract_id=contract.contract_id)
    assert [(i["quantity_delta"], i["end_date"]) for i in termination["items"]] == [
        (-15, "2026-12-31"),
    ]  # fmt: skip
