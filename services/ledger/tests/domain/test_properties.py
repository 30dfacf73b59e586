"""Properties of the ledger over random sequences of every step (BILLING_RULES.md 7).

Hypothesis draws sequences of invoices, credit notes, voids, payments (named
and unnamed, under and over), reversals, refunds and write-offs for two
accounts in two currencies, a few days apart, recognition running daily as the
service runs it. After every step, refused or not, the invariants hold; a
refused step leaves the ledger exactly as it was.
"""

from __future__ import annotations

import contextlib
import copy
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from hypothesis import event, example, given, note, settings
from hypothesis import strategies as st
from ledger.domain.accounts import LedgerAccount
from ledger.domain.documents import CreditNote, DocumentLine, Invoice, LineKind
from ledger.domain.errors import LedgerError
from ledger.domain.ledger import Ledger
from ledger.domain.reports import receivables, tie_out, trial_balance

START = date(2026, 1, 1)
ACCOUNTS = ("acme", "globex")
CURRENCIES = ("USD", "JPY")
AR = LedgerAccount.ACCOUNTS_RECEIVABLE
CREDIT = LedgerAccount.CUSTOMER_CREDIT
DEFERRED = LedgerAccount.DEFERRED_REVENUE
REVENUE = (LedgerAccount.SUBSCRIPTION_REVENUE, LedgerAccount.ONE_TIME_REVENUE)
BOUNDED = settings(max_examples=150, deadline=None)


@dataclass(frozen=True)
class LineSpec:
    kind: LineKind
    amount: int  # magnitude; a credit line is negated
    starts_after: int  # days from the document date (negative: arrears)
    days: int


@dataclass(frozen=True)
class Bill:
    """An invoice when its lines sum to >= 0, else a credit note (as a bill run decides)."""

    account: int
    currency: int
    lines: tuple[LineSpec, ...]
    terms: int


@dataclass(frozen=True)
class Void:
    invoice: int


@dataclass(frozen=True)
class Pay:
    account: int
    currency: int
    amount: int
    invoice: int | None  # counted back from the latest invoice: may be another account's
    days_back: int


@dataclass(frozen=True)
class Reverse:
    payment: int


@dataclass(frozen=True)
class Refund:
    account: int
    currency: int
    amount: int


@dataclass(frozen=True)
class WriteOff:
    invoice: int


Step = Bill | Void | Pay | Reverse | Refund | WriteOff

line_specs = st.builds(
    LineSpec,
    kind=st.sampled_from(list(LineKind)),
    amount=st.integers(0, 90_000),
    starts_after=st.integers(-60, 40),
    days=st.integers(1, 400),
)
# Mostly the first account in the first currency, so steps meet each other's invoices.
account = st.sampled_from([0, 0, 0, 1])
currency = st.sampled_from([0, 0, 0, 1])
bills = st.builds(
    Bill,
    account,
    currency,
    st.lists(line_specs, min_size=1, max_size=3).map(tuple),
    st.integers(0, 45),
)
# Mostly under an invoice's total, sometimes over it; now and then not an amount at all.
payment_amounts = st.integers(1, 30_000) | st.integers(30_000, 150_000) | st.integers(-5, 0)
# Bills three times as often as the rest: the other steps need something to act on.
steps = st.one_of(
    bills,
    bills,
    bills,
    st.builds(Void, st.integers(0, 8)),
    st.builds(Pay, account, currency, payment_amounts,
              st.none() | st.integers(0, 8), st.integers(0, 10)),
    st.builds(Reverse, st.integers(0, 8)),
    st.builds(Refund, account, currency, st.integers(1, 8_000)),
    st.builds(WriteOff, st.integers(0, 8)),
)  # fmt: skip
dated_steps = st.lists(st.tuples(st.integers(0, 25), steps), min_size=4, max_size=30)


class Driver:
    """Applies steps to a Ledger on an advancing date, recognising daily before each."""

    def __init__(self) -> None:
        self.ledger = Ledger()
        self.today = START
        self.invoice_ids: list[str] = []
        self.payment_ids: list[str] = []
        self.counter = 0

    def _id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.counter:06d}"

    def pick(self, ids: list[str], back: int) -> str | None:
        """The `back`-th id from the end (recent ones are likelier to be open), None if none."""
        return ids[-1 - back % len(ids)] if ids else None

    def apply(self, step: Step) -> str:
        """Apply the step; returns what it did, for hypothesis' statistics."""
        ledger = self.ledger
        if isinstance(step, Bill):
            return self.bill(step)
        if isinstance(step, Pay):
            named = None if step.invoice is None else self.pick(self.invoice_ids, step.invoice)
            payment_id = self._id("PAY")
            paid = ledger.receive_payment(
                payment_id,
                ACCOUNTS[step.account],
                step.amount,
                CURRENCIES[step.currency],
                self.today - timedelta(days=step.days_back),
                "ref",
                named,
            )
            self.payment_ids.append(payment_id)
            leftover = any(e.amount(CREDIT) for e in paid.entries)
            return f"{'named' if named else 'unnamed'} payment{' leaving credit' * leftover}"
        if isinstance(step, Refund):
            ledger.refund_credit(
                self._id("REF"),
                ACCOUNTS[step.account],
                step.amount,
                CURRENCIES[step.currency],
                self.today,
            )
            return "refund"
        if isinstance(step, Reverse):
            payment_id = self.pick(self.payment_ids, step.payment)
            if payment_id is None:
                return "nothing to act on"
            undone = ledger.reverse_payment(payment_id, self.today)
            bad_debt = any(e.amount(LedgerAccount.BAD_DEBT_EXPENSE) for e in undone.entries)
            return "reversal into bad debt" if bad_debt else "reversal"
        invoice_id = self.pick(self.invoice_ids, step.invoice)
        if invoice_id is None:
            return "nothing to act on"
        if isinstance(step, Void):
            ledger.void_invoice(invoice_id, self.today)
            return "void"
        ledger.write_off(invoice_id, self.today)
        return "write-off"

    def bill(self, step: Bill) -> str:
        """An invoice, or a credit note when the lines' net is negative."""
        lines = tuple(
            DocumentLine(
                i,
                spec.kind,
                self.today + timedelta(days=spec.starts_after),
                self.today + timedelta(days=spec.starts_after + spec.days - 1),
                -spec.amount if spec.kind is LineKind.CREDIT else spec.amount,
            )
            for i, spec in enumerate(step.lines, 1)
        )
        owner, money = ACCOUNTS[step.account], CURRENCIES[step.currency]
        if sum(x.amount for x in lines) >= 0:
            number = self._id("INV")
            due = self.today + timedelta(days=step.terms)
            posted = self.ledger.post_invoice(
                Invoice(number, number, owner, money, self.today, due, lines)
            )
            self.invoice_ids.append(number)
            return "invoice taking credit" if posted.settlements else "invoice"
        number = self._id("CN")
        issued = self.ledger.issue_credit_note(
            CreditNote(number, number, owner, money, self.today, lines)
        )
        return "credit note applied" if issued.settlements else "credit note"


def credit_balance(ledger: Ledger, currency: str, *accounts: LedgerAccount) -> int:
    return -sum(ledger.balances.balance(currency, account) for account in accounts)


def check_invariants(ledger: Ledger, as_of: date) -> None:
    """Everything the properties promise, on the ledger as it stands."""
    for currency in CURRENCIES:
        debits = sum(e.debits for e in ledger.journal if e.currency == currency)
        credits = sum(e.credits for e in ledger.journal if e.currency == currency)
        assert debits == credits
        books = [b for b in ledger.all_books() if b.currency == currency]
        records = [r for b in books for r in b.invoices.values()]
        assert ledger.balances.balance(currency, AR) == sum(r.amount_due for r in records)
        assert credit_balance(ledger, currency, CREDIT) == sum(b.customer_credit for b in books)
        invoiced = sum(r.invoice.total for r in records if not r.voided)
        credited = sum(n.credit_note.total for b in books for n in b.credit_notes.values())
        assert credit_balance(ledger, currency, *REVENUE, DEFERRED) == invoiced - credited
        for record in records:
            assert record.amount_due >= 0
            assert record.amount_paid == sum(
                a.amount for a in record.applications if not a.reversed
            )
        for book in books:
            assert all(lot.remaining >= 0 for lot in book.lots.values())
    for entry in ledger.journal:
        assert entry.debits == entry.credits
        assert entry.entry_date <= as_of
    for tied in tie_out(ledger.journal, as_of).values():
        assert (tied.receivable_difference, tied.credit_difference) == (0, 0)
    for balance in trial_balance(ledger.journal, as_of).values():
        assert balance.total_debit == balance.total_credit


def check_every_past_date(ledger: Ledger) -> None:
    """As of any date an entry carries, no amount due and no customer credit is negative."""
    invoices = ledger.invoices()
    for as_of in sorted({e.entry_date for e in ledger.journal}):
        for receivable in receivables(ledger.journal, invoices, as_of).values():
            assert receivable.unapplied_cash >= 0
            assert all(i.amount_due > 0 for i in receivable.open_invoices)
        for tied in tie_out(ledger.journal, as_of).values():
            assert (tied.receivable_difference, tied.credit_difference) == (0, 0)


def _recurring(amount: int) -> tuple[LineSpec]:
    return (LineSpec(LineKind.RECURRING, amount, 0, 1),)


# Found by this test (2026-12-03): a payment dated before the reversal that had
# reopened an invoice paid it as of that earlier day, where it owed nothing.
REOPENED_THEN_BACKDATED = [
    (0, Pay(account=0, currency=1, amount=1, invoice=None, days_back=0)),
    (0, Bill(account=0, currency=0, lines=_recurring(0), terms=0)),
    (0, Bill(account=0, currency=1, lines=_recurring(1), terms=0)),
    (1, Bill(account=0, currency=0, lines=_recurring(0), terms=0)),
    (0, Reverse(payment=0)),
    (0, Pay(account=0, currency=1, amount=1, invoice=None, days_back=1)),
]


@BOUNDED
@given(dated_steps)
@example(sequence=REOPENED_THEN_BACKDATED)
def test_random_sequences_keep_the_books_balanced_and_tied_out(
    sequence: list[tuple[int, Step]],
) -> None:
    driver = Driver()
    refused: dict[str, int] = defaultdict(int)
    for days, step in sequence:
        driver.today += timedelta(days=days)
        driver.ledger.recognise(driver.today)
        before = copy.deepcopy(driver.ledger)
        try:
            done = driver.apply(step)
        except LedgerError as error:
            refused[type(error).__name__] += 1
            event(f"refused: {type(error).__name__}")
            assert driver.ledger == before, "a refused step wrote something"
        else:
            event(f"done: {done}")
        check_invariants(driver.ledger, driver.today)
    note(f"refused: {dict(refused)}")
    check_every_past_date(driver.ledger)

    # Once every line's period is over, nothing is deferred: all of it is revenue.
    end = driver.today + timedelta(days=500)
    driver.ledger.recognise(end)
    check_invariants(driver.ledger, end)
    for currency in CURRENCIES:
        assert driver.ledger.balances.balance(currency, DEFERRED) == 0


@settings(max_examples=40, deadline=None)
@given(dated_steps)
def test_the_same_sequence_replayed_gives_the_same_ledger(sequence: list[tuple[int, Step]]) -> None:
    def replay() -> Ledger:
        driver = Driver()
        for days, step in sequence:
            driver.today += timedelta(days=days)
            driver.ledger.recognise(driver.today)
            with contextlib.suppress(LedgerError):
                driver.apply(step)
        return driver.ledger

    first, second = replay(), replay()

    assert first.journal == second.journal
    assert first == second
