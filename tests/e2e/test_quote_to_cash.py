"""Quote -> bill runs -> ledger -> payment -> billing: F1 (BILLING_RULES.md) followed into the
books and back, on SQLite and PostgreSQL.

The ledger books billing's invoices as they are published; a payment posted to
the ledger is applied to the oldest invoices and billing follows each
application, so both services show the same amount due for every invoice.

F1's run also checks what operators see of it: one trace per request that
follows its events through every service (W3C trace context in the Kafka
headers), and the metrics of each service's /metrics moving.
"""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

from e2e_support import (
    ADMIN,
    OPS,
    SALES,
    Stack,
    accept,
    first,
    handling_in_trace,
    ok,
    request_span,
    sample,
)
from revline_events.kafka import new_producer
from revline_testkit.live import auth
from revline_testkit.spans import RecordedSpans
from revline_testkit.waiting import eventually

FINANCE = auth("finance")
PRODUCTS = [
    {"sku": "SEAT", "name": "Seat", "currency": "USD", "unit_price": 5000,
     "charge_type": "recurring", "billing_period": "month"},
    {"sku": "SETUP", "name": "Setup", "currency": "USD", "unit_price": 25000,
     "charge_type": "one_time"},
]  # fmt: skip

# F1's trial balance as of 2026-03-05 (debit, credit), the payment included.
F1_TRIAL_BALANCE = {
    "1000": (150000, 0), "1100": (152856, 150000), "2100": (73856, 127856), "2200": (0, 0),
    "4000": (0, 73856), "4100": (0, 25000), "6000": (0, 0),
}  # fmt: skip


async def _bill_run(stack: Stack, as_of: str, account: str) -> dict[str, Any]:
    return await ok(stack["billing"].client.post(
        "/v1/bill-runs", json={"as_of": as_of, "account_id": account}, headers=OPS,
    ), 201)  # fmt: skip


async def _schedules_match(stack: Stack, account: str, keep: Any, what: str) -> None:
    async def probe() -> bool:
        body = await ok(stack["billing"].client.get(
            "/v1/billing-schedules", params={"account_id": account}, headers=ADMIN,
        ))  # fmt: skip
        return bool(body["data"]) and bool(keep(body["data"]))

    await eventually(probe, within=30, what=f"billing to see {what}")


async def _trial_balance(stack: Stack, as_of: str) -> dict[str, tuple[int, int]]:
    report = await ok(stack["ledger"].client.get(
        "/v1/reports/trial-balance", params={"as_of": as_of}, headers=FINANCE,
    ))  # fmt: skip
    [usd] = report["currencies"]
    assert usd["currency"] == "USD" and usd["total_debit"] == usd["total_credit"]
    return {r["ledger_account"]: (r["debit"], r["credit"]) for r in usd["rows"]}


async def _f1_billed(stack: Stack, account: str) -> list[dict[str, Any]]:
    """F1 up to its three invoices; returns billing's invoices, oldest first."""
    for product in PRODUCTS:
        answer = await stack["quote"].client.post("/v1/products", json=product, headers=SALES)
        assert answer.status_code in (201, 409), answer.text
    quote = await accept(stack, {
        "account_id": account, "currency": "USD", "start_date": "2026-01-15",
        "term_months": 12, "bill_cycle_day": 1, "billing_timing": "advance",
        "lines": [{"sku": "SEAT", "quantity": 10, "discount_percent": "10"},
                  {"sku": "SETUP", "quantity": 1}],
    })  # fmt: skip
    contract = await first(stack["contract"].client, f"/v1/contracts?quote_id={quote['id']}",
                           lambda c: True, "the contract")  # fmt: skip
    await _schedules_match(stack, account, lambda s: len(s) == 2, "the new order")
    await _bill_run(stack, "2026-01-15", account)
    await _bill_run(stack, "2026-02-01", account)
    seat = next(s for s in contract["subscriptions"] if s["sku"] == "SEAT")
    await accept(stack, {
        "account_id": account, "currency": "USD", "kind": "amendment",
        "contract_id": contract["id"], "start_date": "2026-02-16",
        "lines": [{"sku": "SEAT", "quantity": 12, "subscription_id": seat["id"]}],
    })  # fmt: skip
    await _schedules_match(
        stack, account,
        lambda found: any((q["effective_date"], q["quantity"]) == ("2026-02-16", 12)
                          for s in found if s["sku"] == "SEAT" for q in s["quantities"]),
        "SEAT at 12 from 2026-02-16",
    )  # fmt: skip
    await _bill_run(stack, "2026-03-01", account)
    body = await ok(stack["billing"].client.get(
        "/v1/invoices", params={"account_id": account}, headers=ADMIN,
    ))  # fmt: skip
    invoices: list[dict[str, Any]] = body["data"]
    assert [i["total"] for i in invoices] == [49677, 45000, 58179]
    return invoices


async def test_f1_from_a_quote_to_the_payment_at_the_ledger_and_at_billing(
    cash_stack: Stack, recorded_spans: RecordedSpans
) -> None:
    stack, account = cash_stack, f"acme-{uuid.uuid4().hex[:8]}"
    metrics_before = await _metrics(stack)
    invoices = await _f1_billed(stack, account)
    ledger = stack["ledger"].client

    async def booked() -> list[dict[str, Any]] | None:
        body = await ok(ledger.get("/v1/journal-entries", params={"account_id": account},
                                   headers=FINANCE))  # fmt: skip
        found: list[dict[str, Any]] = body["data"]
        return found if len(found) >= 6 else None

    entries = await eventually(booked, within=30, what="F1's six entries at the ledger")
    assert [(e["entry_date"], e["kind"]) for e in entries] == [
        ("2026-01-15", "invoice_posted"), ("2026-01-31", "revenue_recognised"),
        ("2026-02-01", "invoice_posted"), ("2026-02-28", "revenue_recognised"),
        ("2026-03-01", "invoice_posted"), ("2026-03-01", "revenue_recognised"),
    ]  # fmt: skip
    assert [e["concerns"]["id"] for e in entries if e["kind"] == "invoice_posted"] == [
        i["id"] for i in invoices
    ]

    paid = await ok(ledger.post("/v1/payments", json={
        "account_id": account, "amount": 150000, "currency": "USD",
        "received_on": "2026-03-05", "reference": "F1 wire",
    }, headers=FINANCE), 201)  # fmt: skip

    assert [(a["invoice_id"], a["amount"]) for a in paid["applications"]] == [
        (invoices[0]["id"], 49677), (invoices[1]["id"], 45000), (invoices[2]["id"], 55323),
    ]  # fmt: skip
    assert await _trial_balance(stack, "2026-03-05") == F1_TRIAL_BALANCE
    owed = await ok(ledger.get(f"/v1/receivables/{account}", params={"as_of": "2026-03-05"},
                               headers=FINANCE))  # fmt: skip
    assert (owed["balance"], owed["unapplied_cash"]) == (2856, 0)
    assert [(i["invoice_id"], i["amount_due"]) for i in owed["open_invoices"]] == [
        (invoices[2]["id"], 2856)
    ]

    as_csv = await ledger.get("/v1/reports/trial-balance", params={"as_of": "2026-03-05"},
                              headers={**FINANCE, "Accept": "text/csv"})  # fmt: skip
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    assert list(csv.reader(io.StringIO(as_csv.text))) == [
        ["currency", "ledger_account", "name", "debit", "credit"],
        *([["USD", account_no, name, str(debit), str(credit)]
           for (account_no, (debit, credit)), name in zip(F1_TRIAL_BALANCE.items(), [
               "Cash", "Accounts Receivable", "Deferred Revenue", "Customer Credit",
               "Subscription Revenue", "One-time Revenue", "Bad Debt Expense"], strict=True)]),
    ]  # fmt: skip
    aging = await ok(ledger.get("/v1/reports/ar-aging", params={"as_of": "2026-04-15"},
                                headers=FINANCE))  # fmt: skip
    assert aging["totals"] == [{"currency": "USD", "current": 0, "1_30": 2856, "31_60": 0,
                                "61_90": 0, "over_90": 0, "total": 2856}]  # fmt: skip
    aging_csv = await ledger.get("/v1/reports/ar-aging", params={"as_of": "2026-04-15"},
                                 headers={**FINANCE, "Accept": "text/csv"})  # fmt: skip
    assert list(csv.reader(io.StringIO(aging_csv.text))) == [
        ["account_id", "currency", "current", "1_30", "31_60", "61_90", "over_90", "total",
         "customer_credit"],
        [account, "USD", "0", "2856", "0", "0", "0", "2856", "0"],
    ]  # fmt: skip

    statement = await ok(ledger.get(f"/v1/accounts/{account}/statement",
                                    params={"from": "2026-02-01", "to": "2026-03-05"},
                                    headers=FINANCE))  # fmt: skip
    assert statement["opening_balance"] == 49677 and statement["closing_balance"] == 2856
    assert [(x["entry_date"], x["kind"], x["change"], x["balance"])
            for x in statement["lines"]] == [
        ("2026-02-01", "invoice_posted", 45000, 94677),
        ("2026-03-01", "invoice_posted", 58179, 152856),
        ("2026-03-05", "payment_received", -150000, 2856),
    ]  # fmt: skip
    tie_out = await ok(ledger.get("/v1/reports/tie-out", params={"as_of": "2026-03-05"},
                                  headers=FINANCE))  # fmt: skip
    assert tie_out["currencies"] == [{
        "currency": "USD", "open_invoices": 2856, "accounts_receivable": 2856,
        "receivable_difference": 0, "customer_credit_lots": 0, "customer_credit": 0,
        "credit_difference": 0,
    }]  # fmt: skip
    await ok(ledger.post("/v1/recognition-runs", json={"through": "2026-03-31"},
                         headers=FINANCE), 201)  # fmt: skip
    revenue = await ok(ledger.get("/v1/reports/revenue",
                                  params={"from": "2026-01-01", "to": "2026-03-31"},
                                  headers=FINANCE))  # fmt: skip
    assert revenue["currencies"] == [{"currency": "USD", "deferred_revenue": 0, "months": [
        {"month": "2026-01", "subscription": 24677, "one_time": 25000},
        {"month": "2026-02", "subscription": 49179, "one_time": 0},
        {"month": "2026-03", "subscription": 54000, "one_time": 0},
    ]}]  # fmt: skip

    async def billing_follows() -> list[tuple[str, int, int]] | None:
        body = await ok(stack["billing"].client.get(
            "/v1/invoices", params={"account_id": account}, headers=ADMIN,
        ))  # fmt: skip
        found = [(i["status"], i["amount_paid"], i["amount_due"]) for i in body["data"]]
        return found if found[-1][0] == "partially_paid" else None

    assert await eventually(billing_follows, within=30, what="billing's statuses") == [
        ("paid", 49677, 0),
        ("paid", 45000, 0),
        ("partially_paid", 55323, 2856),
    ]
    await _one_trace_per_request(recorded_spans)
    await _metrics_moved(stack, account, metrics_before)


async def _one_trace_per_request(spans: RecordedSpans) -> None:
    """The accept request's trace reaches contract, order, billing (and the ledger); a bill
    run's reaches the ledger; a payment's reaches billing; every link a recorded parent."""
    accepted = request_span(spans, "POST /v1/quotes/{quote_id}/accept")
    billed = await handling_in_trace(spans, accepted, "billing")
    assert spans.path_to_root(billed) == [
        ("billing", "CONSUMER"), ("order", "PRODUCER"), ("order", "CONSUMER"),
        ("contract", "PRODUCER"), ("contract", "CONSUMER"), ("quote", "PRODUCER"),
        ("quote", "SERVER"),
    ]  # fmt: skip
    assert accepted.context is not None
    for span in spans.of_trace(accepted.context.trace_id):
        assert spans.path_to_root(span)[-1] == ("quote", "SERVER")
    bill_run = request_span(spans, "POST /v1/bill-runs")
    booked = await handling_in_trace(spans, bill_run, "ledger", "InvoicePosted")
    assert spans.path_to_root(booked) == [
        ("ledger", "CONSUMER"), ("billing", "PRODUCER"), ("billing", "SERVER"),
    ]  # fmt: skip
    payment = request_span(spans, "POST /v1/payments")
    followed = await handling_in_trace(spans, payment, "billing")
    assert spans.path_to_root(followed) == [
        ("billing", "CONSUMER"), ("ledger", "PRODUCER"), ("ledger", "SERVER"),
    ]  # fmt: skip


# On every service's /metrics (its own service-specific ones on billing and the ledger).
EVERY_SERVICE_METRICS = (
    "revline_http_request_seconds", "revline_events_handled_total",
    "revline_events_applied_total", "revline_consumer_lag", "revline_outbox_backlog",
    "revline_dead_letters_total",
)  # fmt: skip
OWN_METRICS = {"billing": "revline_bill_run_seconds", "ledger": "revline_ledger_posting_seconds"}


async def _metrics(stack: Stack) -> dict[str, str]:
    """Each service's /metrics text."""
    found = {}
    for name in stack.services:
        answer = await stack[name].client.get("/metrics")
        assert answer.status_code == 200, answer.text
        found[name] = answer.text
    return found


async def _metrics_moved(stack: Stack, account: str, before: dict[str, str]) -> None:
    """Every metric is on every service's /metrics, and each moved with F1 (counters are
    per process, so compared with their values before the test); a poison record on
    billing.events raises the ledger's dead-letter count."""
    after = await _metrics(stack)
    for name, text in after.items():
        for metric in (*EVERY_SERVICE_METRICS, OWN_METRICS.get(name)):
            assert metric is None or f"# TYPE {metric} " in text, (name, metric)

    def moved(on: str, metric: str, **labels: str) -> float:
        return sample(after[on], metric, **labels) - sample(before[on], metric, **labels)

    assert moved("quote", "revline_http_request_seconds_count", service="quote",
                 route="/v1/quotes/{quote_id}/accept") == 2  # fmt: skip
    for name, upstream in (("contract", "quote.events"), ("order", "contract.events"),
                           ("billing", "order.events"), ("ledger", "billing.events")):  # fmt: skip
        assert moved(name, "revline_events_handled_total", service=name, topic=upstream) > 0
        assert moved(name, "revline_events_applied_total", service=name, topic=upstream) > 0
        assert (
            f'revline_consumer_lag{{partition="0",service="{name}",topic="{upstream}"}}'
            in (after[name])
        )
    assert moved("billing", "revline_bill_run_seconds_count", outcome="completed") == 3
    assert moved("ledger", "revline_ledger_posting_seconds_count") >= 4  # 3 invoices, a payment
    assert "revline_outbox_backlog{service=" in after["order"]

    dead = {"service": "ledger", "topic": "billing.events", "reason": "unparseable"}
    before_poison = sample(after["ledger"], "revline_dead_letters_total", **dead)
    producer = new_producer(stack.bootstrap, "e2e-poison")
    await producer.start()
    try:
        await producer.send_and_wait("billing.events", value=b"not an event", key=account.encode())
    finally:
        await producer.stop()

    async def dead_lettered() -> bool:
        text = (await stack["ledger"].client.get("/metrics")).text
        return sample(text, "revline_dead_letters_total", **dead) == before_poison + 1

    await eventually(dead_lettered, within=30, what="the ledger's dead-letter count to rise")


async def _billing_invoices(stack: Stack, account: str) -> list[dict[str, Any]]:
    body = await ok(stack["billing"].client.get(
        "/v1/invoices", params={"account_id": account}, headers=ADMIN,
    ))  # fmt: skip
    found: list[dict[str, Any]] = body["data"]
    return found


async def _billing_shows(
    stack: Stack, account: str, expected: list[tuple[str, int, int]], what: str
) -> list[dict[str, Any]]:
    """Billing's invoices once their (status, amount_paid, amount_due) are `expected`."""

    async def probe() -> list[dict[str, Any]] | None:
        found = await _billing_invoices(stack, account)
        shown = [(i["status"], i["amount_paid"], i["amount_due"]) for i in found]
        return found if shown == expected else None

    return await eventually(probe, within=30, what=what)


async def _ledger_amounts_due(stack: Stack, account: str, invoice_ids: list[str]) -> list[int]:
    """Each invoice's amount due at the ledger (0 when it is not open), in the given order."""
    owed = await ok(stack["ledger"].client.get(
        f"/v1/receivables/{account}", params={"as_of": "2026-12-31"}, headers=FINANCE,
    ))  # fmt: skip
    due = {i["invoice_id"]: i["amount_due"] for i in owed["open_invoices"]}
    return [due.get(invoice_id, 0) for invoice_id in invoice_ids]


async def test_f1_then_w23_and_w21_at_the_ledger_and_at_billing_which_agree_on_every_invoice(
    cash_stack: Stack,
) -> None:
    stack, account = cash_stack, f"acme-{uuid.uuid4().hex[:8]}"
    invoices = await _f1_billed(stack, account)
    ids = [i["id"] for i in invoices]
    ledger = stack["ledger"].client

    async def booked() -> bool:
        found = await _ledger_amounts_due(stack, account, ids)
        return found == [49677, 45000, 58179]

    await eventually(booked, within=30, what="F1's invoices booked at the ledger")
    paid = await ok(ledger.post("/v1/payments", json={
        "account_id": account, "amount": 150000, "currency": "USD",
        "received_on": "2026-03-05", "reference": "F1 wire",
    }, headers=FINANCE), 201)  # fmt: skip
    shown = await _billing_shows(stack, account, [
        ("paid", 49677, 0), ("paid", 45000, 0), ("partially_paid", 55323, 2856),
    ], "billing to follow the payment")  # fmt: skip
    assert [i["amount_due"] for i in shown] == await _ledger_amounts_due(stack, account, ids)

    # W23: INV-000003's 2856 is written off on 2026-06-30.
    written_off = await ok(ledger.post(f"/v1/invoices/{ids[2]}/write-off", json={
        "written_off_on": "2026-06-30", "reason": "customer insolvent",
    }, headers=FINANCE))  # fmt: skip

    assert (written_off["amount"], written_off["status"]) == (2856, "uncollectible")
    entries = await ok(ledger.get("/v1/journal-entries", params={
        "account_id": account, "from": "2026-06-30", "to": "2026-06-30",
    }, headers=FINANCE))  # fmt: skip
    [write_off] = [e for e in entries["data"] if e["kind"] == "invoice_written_off"]
    assert {(x["ledger_account"], x["debit"], x["credit"]) for x in write_off["lines"]} == {
        ("6000", 2856, 0), ("1100", 0, 2856),
    }  # fmt: skip
    shown = await _billing_shows(stack, account, [
        ("paid", 49677, 0), ("paid", 45000, 0), ("uncollectible", 55323, 0),
    ], "billing to show INV-000003 uncollectible")  # fmt: skip
    assert [i["amount_due"] for i in shown] == await _ledger_amounts_due(stack, account, ids)
    uncollectible = await ok(stack["billing"].client.get(
        "/v1/invoices", params={"account_id": account, "status": "uncollectible"}, headers=ADMIN,
    ))  # fmt: skip
    assert [i["number"] for i in uncollectible["data"]] == ["INV-000003"]
    refused = await ledger.post("/v1/payments", json={
        "account_id": account, "amount": 2856, "currency": "USD", "received_on": "2026-07-01",
        "reference": "late", "invoice_id": ids[2],
    }, headers=FINANCE)  # fmt: skip
    assert refused.status_code == 409, refused.text
    void = await stack["billing"].client.post(f"/v1/invoices/{ids[2]}/void", headers=OPS)
    assert void.status_code == 409, void.text

    # W21: the 150000 is returned on 2026-07-01. INV-000001 and INV-000002 reopen; what it
    # paid of the written-off INV-000003 joins the bad debt, and it stays uncollectible.
    reversed_ = await ok(ledger.post(f"/v1/payments/{paid['id']}/reverse", json={
        "reversed_on": "2026-07-01", "reason": "chargeback",
    }, headers=FINANCE))  # fmt: skip

    assert reversed_["status"] == "reversed"
    trial = await _trial_balance(stack, "2026-07-01")
    assert trial["1000"] == (150000, 150000) and trial["6000"] == (58179, 0)
    assert trial["1100"] == (152856 + 94677, 150000 + 2856)
    shown = await _billing_shows(stack, account, [
        ("posted", 0, 49677), ("posted", 0, 45000), ("uncollectible", 0, 0),
    ], "billing to follow the reversal")  # fmt: skip
    assert [i["amount_due"] for i in shown] == await _ledger_amounts_due(stack, account, ids)
    assert [i["amount_due"] for i in shown] == [49677, 45000, 0]
    tie_out = await ok(ledger.get("/v1/reports/tie-out", params={"as_of": "2026-07-01"},
                                  headers=FINANCE))  # fmt: skip
    assert tie_out["currencies"][0]["open_invoices"] == 94677
    assert tie_out["currencies"][0]["receivable_difference"] == 0
