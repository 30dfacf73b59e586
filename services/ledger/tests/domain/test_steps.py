"""The ledger's steps where the worked examples are silent (the README's decisions)."""

from __future__ import annotations

import pytest
from ledger.domain.accounts import LedgerAccount
from ledger.domain.journal import (
    Concern,
    ConcernKind,
    EntryKind,
    JournalLine,
    UnbalancedEntry,
    journal_entry,
)
from ledger.domain.ledger import Ledger
from ledger.domain.receivables import InvoiceStatus
from ledger.domain.reports import account_statement, receivables, revenue_report, trial_balance
from ledger_examples import (
    D,
    credit_note,
    invoice,
    journal,
    line,
    w18_first_invoice,
    w18_second_invoice,
)


def test_an_entry_nets_each_account_to_one_line_and_must_balance() -> None:
    concerns = Concern(ConcernKind.PAYMENT, "pay-1")
    entry = journal_entry(
        entry_date=D("2026-01-01"),
        currency="USD",
        account_id="acme",
        kind=EntryKind.PAYMENT_RECEIVED,
        concerns=concerns,
        amounts=[
            (LedgerAccount.CASH, 500),
            (LedgerAccount.CASH, 200),
            (LedgerAccount.SUBSCRIPTION_REVENUE, -700),
        ],
    )
    assert entry is not None
    assert entry.lines == (
        JournalLine(LedgerAccount.CASH, 700, 0),
        JournalLine(LedgerAccount.SUBSCRIPTION_REVENUE, 0, 700),
    )
    with pytest.raises(UnbalancedEntry):
        journal_entry(
            entry_date=D("2026-01-01"),
            currency="USD",
            account_id="acme",
            kind=EntryKind.PAYMENT_RECEIVED,
            concerns=concerns,
            amounts=[(LedgerAccount.CASH, 500), (LedgerAccount.SUBSCRIPTION_REVENUE, -499)],
        )
    # 1100 moved without saying which invoice: refused too.
    with pytest.raises(UnbalancedEntry):
        journal_entry(
            entry_date=D("2026-01-01"),
            currency="USD",
            account_id="acme",
            kind=EntryKind.PAYMENT_RECEIVED,
            concerns=concerns,
            amounts=[(LedgerAccount.CASH, 500), (LedgerAccount.ACCOUNTS_RECEIVABLE, -500)],
        )


def test_a_zero_invoice_writes_no_entry_and_is_paid() -> None:
    ledger = Ledger()
    ledger.post_invoice(
        invoice(
            "INV-000001",
            "2026-03-01",
            "2026-03-31",
            line("recurring", 5000, "2026-03-01", "2026-03-31"),
            line("credit", -5000, "2026-03-01", "2026-03-31"),
        )
    )
    ledger.recognise(D("2026-03-31"))

    assert ledger.book("acme", "USD").invoices["INV-000001"].status == InvoiceStatus.PAID
    assert journal(ledger) == [
        ("2026-03-31", "Dr 2100 5000; Cr 4000 5000"),
        ("2026-03-31", "Dr 4000 5000; Cr 2100 5000"),
    ]


def test_a_credit_note_is_applied_like_cash_and_its_remainder_becomes_credit() -> None:
    ledger = Ledger()
    ledger.post_invoice(
        invoice("INV-000001", "2026-03-01", "2026-03-31", line("one_time", 3000, "2026-03-01"))
    )
    ledger.post_invoice(
        invoice("INV-000002", "2026-03-01", "2026-03-15", line("one_time", 1000, "2026-03-01"))
    )
    outcome = ledger.issue_credit_note(
        credit_note("CN-000001", "2026-03-20", line("credit", -5806, "2026-03-20", "2026-03-31"))
    )
    # Oldest due first: INV-000002 (due the 15th), then INV-000001; 1806 left over.
    assert [(s.invoice_id, s.amount, s.source) for s in outcome.settlements] == [
        ("INV-000002", 1000, "credit_note"),
        ("INV-000001", 3000, "credit_note"),
    ]
    assert journal(ledger, start=2) == [("2026-03-20", "Dr 2100 5806; Cr 1100 4000; Cr 2200 1806")]
    assert ledger.book("acme", "USD").customer_credit == 1806
    # The credit line is recognised like any deferred line, the other way round.
    ledger.recognise(D("2026-03-31"))
    assert journal(ledger)[-1] == ("2026-03-31", "Dr 4000 5806; Cr 2100 5806")
    # The remainder is customer credit for the next invoice.
    ledger.post_invoice(
        invoice("INV-000003", "2026-04-01", "2026-05-01", line("one_time", 1000, "2026-04-01"))
    )
    assert journal(ledger)[-1] == ("2026-04-01", "Dr 2200 1000; Cr 1100 1000")
    assert ledger.book("acme", "USD").customer_credit == 806


def test_customer_credit_is_applied_oldest_lot_first() -> None:
    ledger = Ledger()
    ledger.receive_payment("pay-1", "acme", 300, "USD", D("2026-03-02"), "a")
    ledger.receive_payment("pay-2", "acme", 500, "USD", D("2026-03-01"), "b")

    outcome = ledger.post_invoice(
        invoice("INV-000001", "2026-03-05", "2026-04-04", line("one_time", 600, "2026-03-05"))
    )

    assert [(s.source_id, s.amount) for s in outcome.settlements] == [
        ("pay-2", 500),
        ("pay-1", 100),
    ]


def test_a_void_reverses_the_posting_and_every_recognition_in_its_service_month() -> None:
    ledger = Ledger()
    ledger.post_invoice(
        invoice(
            "INV-000001",
            "2026-01-01",
            "2026-01-31",
            line("one_time", 1000, "2026-01-01"),
            line("recurring", 31000, "2026-01-01", "2026-03-31", line_no=2),
        )
    )
    ledger.recognise(D("2026-02-28"))
    before = len(ledger.journal)

    ledger.void_invoice("INV-000001", D("2026-03-10"))
    ledger.recognise(D("2026-12-31"))

    assert journal(ledger, start=before) == [
        ("2026-03-10", "Dr 2100 31000; Dr 4100 1000; Cr 1100 32000"),
        ("2026-03-10", "Dr 4000 10678; Cr 2100 10678"),
        ("2026-03-10", "Dr 4000 9644; Cr 2100 9644"),
    ]
    revenue = revenue_report(ledger.journal, D("2026-01-01"), D("2026-03-31"))["USD"]
    assert [(m.subscription, m.one_time) for m in revenue.months] == [(0, 0), (0, 0), (0, 0)]
    assert revenue.deferred_at_to == 0
    # As of before the void, the revenue stands as it was then.
    earlier = revenue_report(ledger.journal, D("2026-01-01"), D("2026-03-09"))["USD"]
    assert [(m.subscription, m.one_time) for m in earlier.months] == [
        (10678, 1000),  # 31000 x 31/90, rounded
        (9644, 0),  # 31000 x 59/90 = 20322, less January
        (0, 0),
    ]
    assert earlier.deferred_at_to == 31000 - 20322


def test_reversing_a_payment_on_an_invoice_written_off_since_adds_to_bad_debt() -> None:
    ledger = Ledger()
    ledger.post_invoice(
        invoice("INV-000001", "2026-03-01", "2026-03-31", line("one_time", 10000, "2026-03-01"))
    )
    ledger.receive_payment("pay-1", "acme", 4000, "USD", D("2026-03-05"), "wire")
    ledger.write_off("INV-000001", D("2026-06-30"))

    ledger.reverse_payment("pay-1", D("2026-07-02"))

    assert journal(ledger, start=2) == [
        ("2026-06-30", "Dr 6000 6000; Cr 1100 6000"),
        ("2026-07-02", "Dr 6000 4000; Cr 1000 4000"),
    ]
    record = ledger.book("acme", "USD").invoices["INV-000001"]
    assert (record.status, record.amount_paid, record.amount_due) == (
        InvoiceStatus.UNCOLLECTIBLE,
        0,
        0,
    )


def test_every_currency_is_apart() -> None:
    ledger = Ledger()
    ledger.post_invoice(
        invoice("INV-000001", "2026-03-01", "2026-03-31", line("one_time", 10000, "2026-03-01"))
    )
    ledger.post_invoice(
        invoice(
            "INV-000002",
            "2026-03-01",
            "2026-03-31",
            line("one_time", 900, "2026-03-01"),
            currency="JPY",
        )
    )

    ledger.receive_payment("pay-1", "acme", 1000, "JPY", D("2026-03-02"), "furikomi")

    owed = receivables(ledger.journal, ledger.invoices(), D("2026-03-02"))
    assert {key: (r.amount_due, r.unapplied_cash) for key, r in owed.items()} == {
        ("acme", "JPY"): (0, 100),
        ("acme", "USD"): (10000, 0),
    }
    balances = trial_balance(ledger.journal, D("2026-03-02"))
    assert balances["JPY"].row(LedgerAccount.CASH).debit == 1000
    assert balances["USD"].row(LedgerAccount.CASH).debit == 0


def test_a_payment_applies_only_to_invoices_issued_by_its_date() -> None:
    ledger = Ledger()
    ledger.post_invoice(
        invoice("INV-000001", "2026-03-10", "2026-04-09", line("one_time", 1000, "2026-03-10"))
    )

    ledger.receive_payment("pay-1", "acme", 700, "USD", D("2026-03-05"), "early wire")

    assert ledger.book("acme", "USD").invoices["INV-000001"].amount_due == 1000
    assert journal(ledger, start=1) == [("2026-03-05", "Dr 1000 700; Cr 2200 700")]


def test_an_account_statement_runs_the_balance_owed_through_each_step() -> None:
    ledger = Ledger()
    ledger.post_invoice(w18_first_invoice())
    ledger.receive_payment("pay-1", "acme", 20000, "USD", D("2026-02-01"), "wire")
    ledger.refund_credit("ref-1", "acme", 3000, "USD", D("2026-02-10"), "cheque")
    ledger.post_invoice(w18_second_invoice())
    ledger.recognise(D("2026-03-31"))

    statement = account_statement(ledger.journal, "acme", "USD", D("2026-02-01"), D("2026-03-31"))

    assert statement.opening_balance == 15000
    assert [
        (x.entry_date.isoformat(), x.kind, x.concerns, x.change, x.balance) for x in statement.lines
    ] == [
        ("2026-02-01", EntryKind.PAYMENT_RECEIVED, "pay-1", -20000, -5000),
        ("2026-02-10", EntryKind.CREDIT_REFUNDED, "ref-1", 3000, -2000),
        ("2026-03-01", EntryKind.INVOICE_POSTED, "INV-000002", 12000, 10000),
        ("2026-03-01", EntryKind.CREDIT_APPLIED, "INV-000002", 0, 10000),
    ]
    owed = receivables(ledger.journal, ledger.invoices(), D("2026-03-31"))[("acme", "USD")]
    assert statement.closing_balance == owed.balance == 10000
