"""Revenue recognition runs and the revenue report by service month: F1's figures."""

from __future__ import annotations

from typing import Any

from ledger_feed import (
    FINANCE,
    BillingFeed,
    f1_invoices,
    journal_entries,
    unused_currency,
    wait_for_entries,
    written,
)
from revline_testkit.live import LiveService, auth
from revline_testkit.topics import unique


async def revenue(service: LiveService, currency: str, **params: str) -> dict[str, Any]:
    """GET /v1/reports/revenue, the part of one currency."""
    response = await service.client.get("/v1/reports/revenue", params=params, headers=FINANCE)
    assert response.status_code == 200, response.text
    [found] = [c for c in response.json()["currencies"] if c["currency"] == currency]
    result: dict[str, Any] = found
    return result


async def test_f1_revenue_by_service_month_after_the_march_recognition_run(
    ledger_service: LiveService, feed: BillingFeed
) -> None:
    currency = await unused_currency(ledger_service)
    account = unique("acme")
    for envelope in f1_invoices(feed, account, currency=currency):
        await feed.send(envelope)
    await wait_for_entries(ledger_service.client, account, 6)

    run = await ledger_service.client.post(
        "/v1/recognition-runs", json={"through": "2026-03-31"}, headers=FINANCE
    )
    again = await ledger_service.client.post(
        "/v1/recognition-runs", json={"through": "2026-03-31"}, headers=FINANCE
    )

    assert run.status_code == 201, run.text
    assert run.json()["entries"] >= 1 and again.json()["entries"] == 0
    entries = await journal_entries(ledger_service.client, account_id=account)
    assert written(entries[-1]) == ("2026-03-31", "Dr 2100 54000; Cr 4000 54000")
    assert len(entries) == 7
    quarter = await revenue(ledger_service, currency, **{"from": "2026-01-01", "to": "2026-03-31"})
    assert quarter == {
        "currency": currency,
        "months": [
            {"month": "2026-01", "subscription": 24677, "one_time": 25000},
            {"month": "2026-02", "subscription": 49179, "one_time": 0},
            {"month": "2026-03", "subscription": 54000, "one_time": 0},
        ],
        "deferred_revenue": 0,
    }
    as_csv = await ledger_service.client.get(
        "/v1/reports/revenue", params={"from": "2026-01-01", "to": "2026-03-31"},
        headers={**FINANCE, "Accept": "text/csv"},
    )  # fmt: skip
    assert as_csv.headers["content-type"].startswith("text/csv")
    lines = as_csv.text.splitlines()
    assert lines[0] == "currency,month,subscription,one_time,deferred_revenue_at_to"
    assert [line for line in lines if line.startswith(currency)] == [
        f"{currency},2026-01,24677,25000,0",
        f"{currency},2026-02,49179,0,0",
        f"{currency},2026-03,54000,0,0",
    ]
    early = await revenue(ledger_service, currency, **{"from": "2026-01-01", "to": "2026-03-05"})
    assert early["months"][2] == {"month": "2026-03", "subscription": 0, "one_time": 0}
    assert early["deferred_revenue"] == 54000


async def test_the_revenue_report_refuses_a_reversed_range_and_runs_are_finance_s(
    ledger_service: LiveService,
) -> None:
    client = ledger_service.client
    reversed_range = await client.get(
        "/v1/reports/revenue", params={"from": "2026-03-01", "to": "2026-02-01"}, headers=FINANCE
    )
    assert reversed_range.status_code == 422
    assert [e["field"] for e in reversed_range.json()["errors"]] == ["to"]
    missing = await client.get("/v1/reports/revenue", headers=FINANCE)
    assert missing.status_code == 422
    for role in ("ops", "sales"):
        refused = await client.post(
            "/v1/recognition-runs", json={"through": "2026-01-31"}, headers=auth(role)
        )
        assert refused.status_code == 403
