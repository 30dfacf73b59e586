"""METRICS.md's M1 made through the quote and contract services (quotes, amendments, a
termination and a renewal, each on its day by the stack's clock), and the ledger's
/v1/metrics endpoints answer M1's figures over HTTP and the real broker (issue #12)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from typing import Any

from e2e_support import OPS, SALES, Stack, accept, first, ok
from revline_testkit.live import auth
from revline_testkit.topics import caught_up
from revline_testkit.waiting import eventually

FINANCE = auth("finance")
PRODUCTS = [
    ("M1SEAT", "recurring", "month", 5000),
    ("M1SETUP", "one_time", None, 100000),
    ("M1PLAN", "recurring", "year", 1200000),
    ("M1ADDON", "recurring", "quarter", 25000),
    ("M1HALF", "recurring", "half_year", 90000),
    ("M1MONTH", "recurring", "month", 12000),
]


def on(stack: Stack, day: str) -> None:
    """Move the stack's clock to noon of `day` (M1's facts are recorded on their day)."""
    stack.clock.set(datetime.combine(date.fromisoformat(day), time(12), tzinfo=UTC))


async def contract_of(stack: Stack, quote: dict[str, Any]) -> dict[str, Any]:
    """The contract the accepted new quote made, once the contract service has it."""
    return await first(
        stack["contract"].client,
        f"/v1/contracts?quote_id={quote['id']}",
        lambda c: True,
        "the contract",
    )


async def new_contract(
    stack: Stack, account: str, start: str, months: int, *lines: tuple[str, int]
) -> dict[str, Any]:
    """A new quote created, accepted and become a contract, today."""
    quote = await accept(
        stack,
        {
            "account_id": account,
            "currency": "EUR",
            "start_date": start,
            "term_months": months,
            "lines": [{"sku": sku, "quantity": quantity} for sku, quantity in lines],
        },
    )
    return await contract_of(stack, quote)


async def amend(
    stack: Stack, contract: dict[str, Any], sku: str, quantity: int, effective: str
) -> None:
    """An amendment quote setting the contract's `sku` to `quantity` from `effective`, once
    the contract service has applied it."""
    subscription = next(s for s in contract["subscriptions"] if s["sku"] == sku)
    await accept(
        stack,
        {
            "account_id": contract["account_id"],
            "currency": "EUR",
            "kind": "amendment",
            "contract_id": contract["id"],
            "start_date": effective,
            "lines": [{"sku": sku, "quantity": quantity, "subscription_id": subscription["id"]}],
        },
    )

    async def applied() -> bool:
        answer = await ok(
            stack["contract"].client.get(f"/v1/contracts/{contract['id']}", headers=OPS)
        )
        return effective in [a["effective_date"] for a in answer["amendments"]]

    await eventually(applied, within=30, what=f"the amendment from {effective}")


async def metric(stack: Stack, path: str, **params: str) -> Any:
    """The EUR figures of GET /v1/metrics/<path>."""
    body = await ok(
        stack["ledger"].client.get(
            f"/v1/metrics/{path}", params={"currency": "EUR", **params}, headers=FINANCE
        )
    )
    return body["currencies"][0]


async def test_m1_made_through_quotes_and_contracts_gives_m1s_metrics(
    metrics_stack: Stack,
) -> None:
    stack, run = metrics_stack, uuid.uuid4().hex[:6]
    a, b, c = (f"{name}-{run}" for name in "ABC")
    quotes = stack["quote"].client
    for sku, charge, period, price in PRODUCTS:
        product = {
            "sku": sku,
            "name": sku,
            "currency": "EUR",
            "unit_price": price,
            "charge_type": charge,
            "billing_period": period,
        }
        answer = await quotes.post("/v1/products", json=product, headers=SALES)
        assert answer.status_code == 201, answer.text

    on(stack, "2024-06-01")
    contract_b = await new_contract(stack, b, "2024-06-01", 12, ("M1PLAN", 1), ("M1ADDON", 1))
    on(stack, "2024-08-01")
    await new_contract(stack, c, "2024-08-01", 6, ("M1HALF", 1))
    # A: created 2024-12-20, presented 12-23, accepted 2025-01-06; from 2025-01-10.
    on(stack, "2024-12-20")
    draft = await ok(
        quotes.post(
            "/v1/quotes",
            json={
                "account_id": a,
                "currency": "EUR",
                "start_date": "2025-01-10",
                "term_months": 12,
                "lines": [{"sku": "M1SEAT", "quantity": 10}, {"sku": "M1SETUP", "quantity": 1}],
            },
            headers=SALES,
        ),
        201,
    )
    assert draft["totals"]["total_contract_value"] == 700000
    on(stack, "2024-12-23")
    await ok(quotes.post(f"/v1/quotes/{draft['id']}/present", headers=SALES))
    on(stack, "2025-01-06")
    await ok(quotes.post(f"/v1/quotes/{draft['id']}/accept", headers=SALES))
    contract_a = await contract_of(stack, draft)
    on(stack, "2025-02-15")
    await amend(stack, contract_a, "M1SEAT", 14, "2025-02-15")
    on(stack, "2025-03-20")
    await amend(stack, contract_b, "M1ADDON", 0, "2025-03-20")
    on(stack, "2025-04-01")
    await amend(stack, contract_a, "M1SEAT", 12, "2025-04-01")
    on(stack, "2025-04-05")
    await new_contract(stack, c, "2025-04-05", 12, ("M1MONTH", 1))
    # Beyond M1: A terminated from 2025-06-01 (recorded 05-10), B renewed (recorded 05-20).
    on(stack, "2025-05-10")
    contracts = stack["contract"].client
    await ok(
        contracts.post(
            f"/v1/contracts/{contract_a['id']}/terminate",
            json={"effective_date": "2025-06-01", "credit_unused": False},
            headers=OPS,
        )
    )
    on(stack, "2025-05-20")
    renewed = await ok(contracts.post(f"/v1/contracts/{contract_b['id']}/renew", headers=OPS))
    assert renewed["end_date"] == "2026-05-31"
    await caught_up(stack["ledger"])

    async def settled() -> bool:  # the renewal is the last event the ledger takes in
        june = await metric(stack, "mrr", as_of="2025-06-30")
        return bool(june["mrr"] == 112000)

    await eventually(settled, within=30, what="the ledger to take in the renewal")

    month_ends = {
        d: (await metric(stack, "mrr", as_of=d, detail="accounts"))
        for d in ("2024-12-31", "2025-01-31", "2025-02-28", "2025-03-31", "2025-04-30")
    }
    assert [(m["mrr"], m["customers"]) for m in month_ends.values()] == [
        (123333, 2),
        (173333, 3),
        (178333, 2),
        (170000, 2),
        (172000, 3),
    ]
    assert {x["account_id"]: x["mrr"] for x in month_ends["2025-04-30"]["accounts"]} == {
        a: 60000,
        b: 100000,
        c: 12000,
    }
    april = month_ends["2025-04-30"]
    assert (april["arr"], april["arpa"]) == (2064000, 57333)
    moves = await metric(stack, "mrr-movements", **{"from": "2025-01-01", "to": "2025-06-30"})
    assert [
        (m["month"], m["new"], m["expansion"], m["reactivation"], m["contraction"], m["churn"])
        for m in moves["months"]
    ] == [
        ("2025-01", 50000, 0, 0, 0, 0),
        ("2025-02", 0, 20000, 0, 0, 15000),
        ("2025-03", 0, 0, 0, 8333, 0),
        ("2025-04", 0, 0, 12000, 10000, 0),
        ("2025-05", 0, 0, 0, 0, 0),  # B's renewal is no churn and no new
        ("2025-06", 0, 0, 0, 0, 60000),  # A's termination
    ]
    feb, mar, apr = (await metric(stack, "churn", **{"from": "2025-02-01", "to": "2025-04-30"}))[
        "months"
    ]
    assert feb["logo"]["percent"] == "33.33"
    assert [m["gross_mrr"]["percent"] for m in (feb, mar, apr)] == ["8.65", "4.67", "5.88"]
    assert apr["net_mrr"]["percent"] == "-1.18"
    kept = await metric(stack, "retention", as_of="2025-04-30", months="3")
    assert (kept["nrr"]["percent"], kept["grr"]["percent"]) == ("99.23", "93.46")
    january = await metric(
        stack, "sales", detail="accounts", **{"from": "2025-01-01", "to": "2025-01-31"}
    )
    assert [
        (x["account_id"], x["acv"], x["tcv"], x["cycle_days"]) for x in january["bookings"]
    ] == [(a, 600000, 700000, 17)]
    due = await metric(stack, "renewals", **{"from": "2025-01-01", "to": "2025-01-31"})
    assert (due["by_count"]["numerator"], due["by_count"]["denominator"]) == (0, 1)
    assert (due["by_value"]["numerator"], due["by_value"]["denominator"]) == (0, 180000)
    may = await metric(stack, "renewals", **{"from": "2025-05-01", "to": "2025-05-31"})
    assert may["by_count"] == {"numerator": 1, "denominator": 1, "percent": "100.00"}
    assert may["by_value"]["numerator"] == may["by_value"]["denominator"] == 1200000
