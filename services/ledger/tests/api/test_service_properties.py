"""Properties of the running ledger over random sequences of billing events and requests.

Hypothesis draws sequences of invoices, credit notes and voids (published to
billing.events as billing would) and payments (named or not, any amount),
refunds, payment reversals (W21) and write-offs (W23) (POSTed over HTTP) for
two accounts in two currencies of the example's own, a few days apart. They go
through the real service (broker, consumer, database, HTTP). Refusals are part
of the game (a void of a paid invoice goes to the DLQ, a refund above the
credit, a second reversal or a write-off of a paid invoice is a 409), never a
500. After each
sequence, per currency:

- the trial balance balances, and every entry of the accounts does;
- the tie-out's differences are 0;
- accounts receivable (1100) equals the sum of the open invoices' amounts due
  (none of them negative), customer credit (2200) the sum of unapplied cash;
- rebuilding the projections from the event store gives the same state digest.

Hypothesis runs in a worker thread (as in quote's fuzz test); each example's
steps run on the test's event loop, where the service answers.
"""

from __future__ import annotations

import asyncio
import itertools
import string
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from ledger_feed import FINANCE, BillingFeed, billed, journal_entries
from revline_events.payloads.billing import LineKind
from revline_events.replay import rebuild_projections
from revline_testkit.live import LiveService, auth
from revline_testkit.topics import caught_up, unique

T = TypeVar("T")
START = date(2026, 1, 1)
FAR = "9999-12-31"
SETTINGS = settings(
    max_examples=10,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
# Two fresh currency codes per example ("P" and two letters), never used twice.
_CODES = ("P" + a + b for a, b in itertools.product(string.ascii_uppercase, repeat=2))


@dataclass(frozen=True)
class Line:
    kind: LineKind
    amount: int  # magnitude; a credit line is negated
    starts_after: int  # days from the document date (negative: arrears)
    days: int


@dataclass(frozen=True)
class Bill:
    """An invoice when its lines sum to >= 0, else a credit note (as a bill run decides)."""

    account: int
    currency: int
    lines: tuple[Line, ...]
    terms: int
    after_days: int


@dataclass(frozen=True)
class Void:
    invoice: int  # index among the invoices so far
    after_days: int


@dataclass(frozen=True)
class Pay:
    account: int
    currency: int
    amount: int
    invoice: int | None  # index among the invoices so far (any account), or unnamed
    after_days: int


@dataclass(frozen=True)
class Refund:
    account: int
    currency: int
    amount: int
    after_days: int


@dataclass(frozen=True)
class Reverse:
    payment: int  # index among the payments accepted so far
    after_days: int


@dataclass(frozen=True)
class WriteOff:
    invoice: int  # index among the invoices so far
    after_days: int


Step = Bill | Void | Pay | Refund | Reverse | WriteOff

KINDS: list[LineKind] = ["recurring", "recurring", "proration", "one_time", "credit"]
LINES = st.builds(
    Line,
    kind=st.sampled_from(KINDS),
    amount=st.integers(1, 90_000),
    starts_after=st.integers(-40, 20),
    days=st.integers(1, 120),
)
DAYS = st.integers(0, 25)
SIDE = st.integers(0, 1)
BILLS = st.builds(
    Bill,
    account=SIDE,
    currency=SIDE,
    lines=st.lists(LINES, min_size=1, max_size=3).map(tuple),
    terms=st.integers(0, 30),
    after_days=DAYS,
)
PAYS = st.builds(
    Pay,
    account=SIDE,
    currency=SIDE,
    amount=st.integers(1, 150_000),
    invoice=st.none() | st.integers(0, 7),
    after_days=DAYS,
)
STEPS: st.SearchStrategy[Step] = st.one_of(
    BILLS,
    st.builds(Void, invoice=st.integers(0, 7), after_days=DAYS),
    PAYS,
    st.builds(Refund, account=SIDE, currency=SIDE, amount=st.integers(1, 60_000), after_days=DAYS),
    st.builds(Reverse, payment=st.integers(0, 7), after_days=DAYS),
    st.builds(WriteOff, invoice=st.integers(0, 7), after_days=DAYS),
)


@dataclass
class Example:
    """One sequence's accounts and currencies, and what was published so far."""

    service: LiveService
    feed: BillingFeed
    accounts: tuple[str, str]
    currencies: tuple[str, str]
    day: date = START
    numbers: int = 0
    invoices: list[Any] | None = None  # the InvoicePosted envelopes
    payments: list[str] | None = None  # the ids of the payments accepted
    published: bool = False  # billing events the ledger may not have taken in yet
    log: list[str] | None = None  # what the requests got, noted when an example fails

    async def step(self, step: Step) -> None:
        """Play one step; fail on a 500 or an unexpected status."""
        self.day += timedelta(days=step.after_days)
        if isinstance(step, Bill):
            await self.bill(step)
        elif isinstance(step, Void):
            invoices = self.invoices or []
            if invoices:
                posted = invoices[step.invoice % len(invoices)]
                await self.feed.send(self.feed.void(posted, self.day.isoformat()))
                self.published = True
        else:
            if self.published:  # a request acts on what the ledger has taken in
                await caught_up(self.service)
                self.published = False
            if isinstance(step, Pay):
                await self.pay(step)
            elif isinstance(step, Refund):
                await self.refund(step)
            elif isinstance(step, Reverse):
                await self.reverse(step)
            else:
                await self.write_off(step)

    def noted(self, line: str) -> None:
        """Keep `line` for the report of a failing example."""
        self.log = [*(self.log or []), line]

    async def bill(self, bill: Bill) -> None:
        lines = [
            billed(
                line.kind,
                -line.amount if line.kind == "credit" else line.amount,
                (self.day + timedelta(days=line.starts_after)).isoformat(),
                (self.day + timedelta(days=line.starts_after + line.days - 1)).isoformat(),
            )
            for line in bill.lines
        ]
        account, currency = self.accounts[bill.account], self.currencies[bill.currency]
        self.numbers += 1
        when = self.day.isoformat()
        if sum(line.amount for line in lines) >= 0:
            due = (self.day + timedelta(days=bill.terms)).isoformat()
            envelope = self.feed.invoice(account, f"INV-{self.numbers:06d}", when, due, *lines,
                                         currency=currency)  # fmt: skip
            self.invoices = [*(self.invoices or []), envelope]
        else:
            envelope = self.feed.credit_note(account, f"CN-{self.numbers:06d}", when, *lines,
                                             currency=currency)  # fmt: skip
        await self.feed.send(envelope)
        self.published = True

    async def pay(self, pay: Pay) -> None:
        body: dict[str, Any] = {
            "account_id": self.accounts[pay.account], "amount": pay.amount,
            "currency": self.currencies[pay.currency], "received_on": self.day.isoformat(),
            "reference": "wire",
        }  # fmt: skip
        invoices = self.invoices or []
        if pay.invoice is not None and invoices:
            body["invoice_id"] = invoices[pay.invoice % len(invoices)].payload["invoice_id"]
        response = await self.service.client.post("/v1/payments", json=body, headers=FINANCE)
        self.noted(f"payment {body} -> {response.status_code}")
        assert response.status_code in (201, 404, 409, 422), response.text
        if response.status_code == 201:
            self.payments = [*(self.payments or []), response.json()["id"]]

    async def refund(self, refund: Refund) -> None:
        body = {
            "account_id": self.accounts[refund.account], "amount": refund.amount,
            "currency": self.currencies[refund.currency],
            "refunded_on": self.day.isoformat(), "reference": "refund",
        }  # fmt: skip
        response = await self.service.client.post("/v1/refunds", json=body, headers=FINANCE)
        self.noted(f"refund {body} -> {response.status_code}")
        assert response.status_code in (201, 409), response.text

    async def reverse(self, reverse: Reverse) -> None:
        """Reverse a payment accepted so far (again, perhaps: a 409), if there is one."""
        payments = self.payments or []
        if not payments:
            return
        payment_id = payments[reverse.payment % len(payments)]
        body = {"reversed_on": self.day.isoformat(), "reason": "chargeback"}
        response = await self.service.client.post(
            f"/v1/payments/{payment_id}/reverse", json=body, headers=FINANCE
        )
        self.noted(f"reversal of {payment_id} {body} -> {response.status_code}")
        # 409: reversed already or some of its credit refunded; 422: dated before one of
        # its applications (none here: the days only move forward).
        assert response.status_code in (200, 409), response.text

    async def write_off(self, write_off: WriteOff) -> None:
        """Write off an invoice posted so far (void, paid or written off: a 409)."""
        invoices = self.invoices or []
        if not invoices:
            return
        invoice_id = invoices[write_off.invoice % len(invoices)].payload["invoice_id"]
        body = {"written_off_on": self.day.isoformat(), "reason": "customer insolvent"}
        response = await self.service.client.post(
            f"/v1/invoices/{invoice_id}/write-off", json=body, headers=FINANCE
        )
        self.noted(f"write-off of {invoice_id} {body} -> {response.status_code}")
        assert response.status_code in (200, 409), response.text
        if response.status_code == 200:
            assert response.json()["amount_due"] == 0, response.text


async def _get(service: LiveService, path: str, **params: str) -> Any:
    response = await service.client.get(path, params=params, headers=FINANCE)
    assert response.status_code == 200, response.text
    return response.json()


async def check_books(example: Example) -> None:
    """The invariants of the module docstring, per currency of the example."""
    service = example.service
    trial = await _get(service, "/v1/reports/trial-balance", as_of=FAR)
    tie = await _get(service, "/v1/reports/tie-out", as_of=FAR)
    for currency in example.currencies:
        [block] = [c for c in trial["currencies"] if c["currency"] == currency] or [None]
        rows = {r["ledger_account"]: r for r in block["rows"]} if block else {}
        if block:
            assert block["total_debit"] == block["total_credit"]
            assert sum(r["debit"] for r in block["rows"]) == block["total_debit"]
            [tied] = [c for c in tie["currencies"] if c["currency"] == currency]
            assert tied["receivable_difference"] == 0 and tied["credit_difference"] == 0, tied
        due = unapplied = 0
        for account in example.accounts:
            owed = await _get(service, f"/v1/receivables/{account}", currency=currency,
                              as_of=FAR)  # fmt: skip
            assert all(i["amount_due"] > 0 for i in owed["open_invoices"]), owed
            due += sum(i["amount_due"] for i in owed["open_invoices"])
            unapplied += owed["unapplied_cash"]
        receivable = rows["1100"]["debit"] - rows["1100"]["credit"] if rows else 0
        credit = rows["2200"]["credit"] - rows["2200"]["debit"] if rows else 0
        assert (receivable, credit) == (due, unapplied), currency
    for account in example.accounts:
        for entry in await journal_entries(service.client, account_id=account):
            lines = entry["lines"]
            assert sum(x["debit"] for x in lines) == sum(x["credit"] for x in lines), entry


async def digest(service: LiveService) -> str:
    """The state digest over the ledger's projections."""
    response = await service.client.get("/v1/admin/state-digest", headers=auth("admin"))
    assert response.status_code == 200, response.text
    value: str = response.json()["digest"]
    return value


async def play(example: Example, steps: list[Step]) -> None:
    """One example: the steps, then the checks and a rebuild."""
    service = example.service
    for step in steps:
        await example.step(step)
    await caught_up(service)
    await check_books(example)
    before = await digest(service)
    runtime = service.runtime
    replayed = await rebuild_projections(
        runtime.db, runtime.store, runtime.spec.projector, runtime.spec.projections
    )
    assert replayed > 0
    assert await digest(service) == before
    await check_books(example)


# The service's event loop runs on while Hypothesis draws in its thread, and aiokafka
# uses the random module there: Hypothesis sees the global random state move.
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
async def test_random_sequences_through_the_service_keep_the_books_tied_out(
    ledger_service: LiveService, feed: BillingFeed
) -> None:
    loop = asyncio.get_running_loop()

    def on_the_loop(work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, loop).result(timeout=300)

    @SETTINGS
    @given(steps=st.lists(STEPS, min_size=2, max_size=10))
    def sequences(steps: list[Step]) -> None:
        accounts, currencies = (unique("prop-a"), unique("prop-b")), (next(_CODES), next(_CODES))
        example = Example(ledger_service, feed, accounts, currencies)
        try:
            on_the_loop(play(example, steps))
        finally:
            for line in example.log or []:
                note(line)

    await asyncio.to_thread(sequences)
