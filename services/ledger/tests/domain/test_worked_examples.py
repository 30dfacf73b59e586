"""The ledger's worked examples of BILLING_RULES.md (W18..W23, F1), to the minor unit.

Entries read as in the rules: ("2026-02-01", "Dr 1000 20000; Cr 1100 15000; Cr 2200 5000").
"""

from __future__ import annotations

import copy

import pytest
from ledger.domain.accounts import LedgerAccount
from ledger.domain.errors import InsufficientCustomerCredit, InvoiceNotOpen
from ledger.domain.ledger import Ledger
from ledger.domain.receivables import InvoiceStatus
from ledger.domain.recognition import monthly_shares
from ledger.domain.reports import (
    AgingBucket,
    ar_aging,
    receivables,
    revenue_report,
    tie_out,
    trial_balance,
)
from ledger_examples import (
    D,
    f1_ledger,
    invoice,
    journal,
    line,
    w18_first_invoice,
    w18_second_invoice,
)


def w18_ledger() -> Ledger:
    """W18 as it stands after 2026-03-01."""
    ledger = Ledger()
    ledger.post_invoice(w18_first_invoice())
    ledger.receive_payment("pay-1", "acme", 20000, "USD", D("2026-02-01"), "wire")
    ledger.post_invoice(w18_second_invoice())
    return ledger


def figures(ledger: Ledger, invoice_id: str) -> tuple[InvoiceStatus, int, int]:
    """(status, amount_paid, amount_due) of an invoice of acme in USD."""
    record = ledger.book("acme", "USD").invoices[invoice_id]
    return record.status, record.amount_paid, record.amount_due


def test_w18_overpayment_becomes_customer_credit_applied_when_the_next_invoice_posts() -> None:
    ledger = w18_ledger()

    assert journal(ledger, start=1) == [
        ("2026-02-01", "Dr 1000 20000; Cr 1100 15000; Cr 2200 5000"),
        ("2026-03-01", "Dr 1100 12000; Cr 2100 12000"),
        ("2026-03-01", "Dr 2200 5000; Cr 1100 5000"),
    ]
    assert figures(ledger, "INV-000001") == (InvoiceStatus.PAID, 15000, 0)
    assert figures(ledger, "INV-000002") == (InvoiceStatus.PARTIALLY_PAID, 5000, 7000)
    assert ledger.book("acme", "USD").customer_credit == 0


def test_w19_annual_line_is_recognised_month_by_month_with_cumulative_rounding() -> None:
    shares = monthly_shares(100000, D("2026-02-10"), D("2027-02-09"))

    assert [(s.month.isoformat()[:7], s.amount) for s in shares] == [
        ("2026-02", 5205), ("2026-03", 8494), ("2026-04", 8219), ("2026-05", 8493),
        ("2026-06", 8219), ("2026-07", 8493), ("2026-08", 8493), ("2026-09", 8220),
        ("2026-10", 8493), ("2026-11", 8219), ("2026-12", 8493), ("2027-01", 8493),
        ("2027-02", 2466),
    ]  # fmt: skip
    assert sum(s.amount for s in shares) == 100000
    # Posted: one entry per month, Dr 2100 / Cr 4000, dated the month's last day.
    ledger = Ledger()
    ledger.post_invoice(
        invoice(
            "INV-000001",
            "2026-02-10",
            "2026-03-12",
            line("recurring", 100000, "2026-02-10", "2027-02-09"),
        )
    )
    ledger.recognise(D("2027-03-31"))
    assert journal(ledger, start=1)[:2] == [
        ("2026-02-28", "Dr 2100 5205; Cr 4000 5205"),
        ("2026-03-31", "Dr 2100 8494; Cr 4000 8494"),
    ]
    assert journal(ledger)[-1] == ("2027-02-28", "Dr 2100 2466; Cr 4000 2466")
    assert len(ledger.journal) == 14


def test_w20_ar_aging_buckets_by_days_past_due() -> None:
    due_dates = [
        "2026-06-30", "2026-06-29", "2026-05-31", "2026-05-30",
        "2026-05-01", "2026-04-30", "2026-04-01", "2026-03-31",
    ]  # fmt: skip
    ledger = Ledger()
    for i, due in enumerate(due_dates, 1):
        ledger.post_invoice(
            invoice(f"INV-00000{i}", "2026-01-02", due, line("one_time", i * 1000, "2026-01-02"))
        )

    report = ar_aging(ledger.journal, ledger.invoices(), D("2026-06-30"))

    assert report.totals("USD") == {
        AgingBucket.CURRENT: 1000,
        AgingBucket.DAYS_1_30: 5000,
        AgingBucket.DAYS_31_60: 9000,
        AgingBucket.DAYS_61_90: 13000,
        AgingBucket.OVER_90: 8000,
    }
    days = [(D("2026-06-30") - D(due)).days for due in due_dates]
    assert days == [0, 1, 30, 31, 60, 61, 90, 91]
    assert [AgingBucket.for_days(d) for d in days] == [
        AgingBucket.CURRENT, AgingBucket.DAYS_1_30, AgingBucket.DAYS_1_30, AgingBucket.DAYS_31_60,
        AgingBucket.DAYS_31_60, AgingBucket.DAYS_61_90, AgingBucket.DAYS_61_90, AgingBucket.OVER_90,
    ]  # fmt: skip


def test_w21_payment_reversal_reopens_what_it_paid_and_takes_back_its_credit() -> None:
    ledger = w18_ledger()
    before = len(ledger.journal)

    outcome = ledger.reverse_payment("pay-1", D("2026-03-10"))

    assert journal(ledger, start=before) == [("2026-03-10", "Dr 1100 20000; Cr 1000 20000")]
    assert figures(ledger, "INV-000001") == (InvoiceStatus.POSTED, 0, 15000)
    assert figures(ledger, "INV-000002") == (InvoiceStatus.POSTED, 0, 12000)
    assert sorted((s.invoice_id, s.amount, s.source) for s in outcome.settlements) == [
        ("INV-000001", -15000, "cash"),
        ("INV-000002", -5000, "customer_credit"),
    ]
    receivable = receivables(ledger.journal, ledger.invoices(), D("2026-03-10"))[("acme", "USD")]
    assert (receivable.unapplied_cash, receivable.amount_due) == (0, 27000)
    assert ledger.balances.balance("USD", LedgerAccount.ACCOUNTS_RECEIVABLE) == 27000
    assert ledger.payment_books["pay-1"] == ("acme", "USD")
    assert ledger.book("acme", "USD").payments["pay-1"].status == "reversed"


def test_w22_refund_of_customer_credit_leaves_less_to_apply_to_the_next_invoice() -> None:
    ledger = Ledger()
    ledger.post_invoice(w18_first_invoice())
    ledger.receive_payment("pay-1", "acme", 20000, "USD", D("2026-02-01"), "wire")
    before = len(ledger.journal)

    ledger.refund_credit("ref-1", "acme", 3000, "USD", D("2026-02-10"), "cheque")
    assert ledger.book("acme", "USD").customer_credit == 2000
    ledger.post_invoice(w18_second_invoice())

    assert journal(ledger, start=before) == [
        ("2026-02-10", "Dr 2200 3000; Cr 1000 3000"),
        ("2026-03-01", "Dr 1100 12000; Cr 2100 12000"),
        ("2026-03-01", "Dr 2200 2000; Cr 1100 2000"),
    ]
    assert figures(ledger, "INV-000002") == (InvoiceStatus.PARTIALLY_PAID, 2000, 10000)
    assert ledger.book("acme", "USD").customer_credit == 0


def test_w22_a_refund_above_the_customer_credit_is_refused_and_writes_nothing() -> None:
    ledger = Ledger()
    ledger.post_invoice(w18_first_invoice())
    ledger.receive_payment("pay-1", "acme", 20000, "USD", D("2026-02-01"), "wire")
    untouched = copy.deepcopy(ledger)

    with pytest.raises(InsufficientCustomerCredit) as refused:
        ledger.refund_credit("ref-1", "acme", 6000, "USD", D("2026-02-10"), "cheque")

    assert (refused.value.requested, refused.value.available) == (6000, 5000)
    assert ledger == untouched


def test_w23_write_off_moves_the_amount_due_to_bad_debt_and_refuses_later_payments() -> None:
    ledger = f1_ledger()
    ledger.recognise(D("2026-06-29"))
    before = len(ledger.journal)

    ledger.write_off("INV-000003", D("2026-06-30"))

    assert journal(ledger, start=before) == [("2026-06-30", "Dr 6000 2856; Cr 1100 2856")]
    assert figures(ledger, "INV-000003") == (InvoiceStatus.UNCOLLECTIBLE, 55323, 0)
    receivable = receivables(ledger.journal, ledger.invoices(), D("2026-06-30"))[("acme", "USD")]
    assert (receivable.amount_due, receivable.balance, receivable.open_invoices) == (0, 0, ())
    untouched = copy.deepcopy(ledger)
    with pytest.raises(InvoiceNotOpen):
        ledger.receive_payment(
            "pay-2", "acme", 2856, "USD", D("2026-07-01"), "late", invoice_id="INV-000003"
        )
    assert ledger == untouched
    # Revenue recognition of its lines went on: the service was delivered.
    revenue = revenue_report(ledger.journal, D("2026-03-01"), D("2026-03-31"))["USD"]
    assert revenue.months[0].subscription == 54000


def test_f1_journal_entries() -> None:
    ledger = f1_ledger()

    assert journal(ledger) == [
        ("2026-01-15", "Dr 1100 49677; Cr 2100 24677; Cr 4100 25000"),
        ("2026-01-31", "Dr 2100 24677; Cr 4000 24677"),
        ("2026-02-01", "Dr 1100 45000; Cr 2100 45000"),
        ("2026-02-28", "Dr 2100 45000; Cr 4000 45000"),
        ("2026-03-01", "Dr 1100 58179; Cr 2100 58179"),
        ("2026-03-01", "Dr 2100 4179; Cr 4000 4179"),
        ("2026-03-05", "Dr 1000 150000; Cr 1100 150000"),
    ]
    assert figures(ledger, "INV-000001") == (InvoiceStatus.PAID, 49677, 0)
    assert figures(ledger, "INV-000002") == (InvoiceStatus.PAID, 45000, 0)
    assert figures(ledger, "INV-000003") == (InvoiceStatus.PARTIALLY_PAID, 55323, 2856)
    assert ledger.book("acme", "USD").customer_credit == 0


def test_f1_trial_balance_as_of_5_march() -> None:
    ledger = f1_ledger()
    ledger.recognise(D("2026-03-31"))  # the March line, dated after the report

    balance = trial_balance(ledger.journal, D("2026-03-05"))["USD"]

    assert {row.account: (row.debit, row.credit) for row in balance.rows} == {
        LedgerAccount.CASH: (150000, 0),
        LedgerAccount.ACCOUNTS_RECEIVABLE: (152856, 150000),
        LedgerAccount.DEFERRED_REVENUE: (73856, 127856),
        LedgerAccount.CUSTOMER_CREDIT: (0, 0),
        LedgerAccount.SUBSCRIPTION_REVENUE: (0, 73856),
        LedgerAccount.ONE_TIME_REVENUE: (0, 25000),
        LedgerAccount.BAD_DEBT_EXPENSE: (0, 0),
    }
    assert (balance.total_debit, balance.total_credit) == (376712, 376712)
    tied = tie_out(ledger.journal, D("2026-03-05"))["USD"]
    assert (tied.open_amount_due, tied.receivable_balance, tied.receivable_difference) == (
        2856,
        2856,
        0,
    )


def test_f1_revenue_report_by_service_month() -> None:
    ledger = f1_ledger()
    ledger.recognise(D("2026-03-31"))

    revenue = revenue_report(ledger.journal, D("2026-01-01"), D("2026-03-31"))["USD"]

    assert [(m.month.isoformat()[:7], m.subscription, m.one_time) for m in revenue.months] == [
        ("2026-01", 24677, 25000),
        ("2026-02", 49179, 0),
        ("2026-03", 54000, 0),
    ]
    assert revenue.deferred_at_to == 0
    at_5_march = revenue_report(ledger.journal, D("2026-01-01"), D("2026-03-05"))["USD"]
    assert at_5_march.deferred_at_to == 54000
    assert at_5_march.months[-1].subscription == 0  # March is recognised on the 31st


def test_f1_ar_aging_as_of_15_april() -> None:
    ledger = f1_ledger()
    ledger.recognise(D("2026-04-15"))

    report = ar_aging(ledger.journal, ledger.invoices(), D("2026-04-15"))

    assert [(r.account_id, r.currency, r.customer_credit) for r in report.rows] == [
        ("acme", "USD", 0)
    ]
    assert report.totals("USD") == {
        AgingBucket.CURRENT: 0,
        AgingBucket.DAYS_1_30: 2856,
        AgingBucket.DAYS_31_60: 0,
        AgingBucket.DAYS_61_90: 0,
        AgingBucket.OVER_90: 0,
    }
