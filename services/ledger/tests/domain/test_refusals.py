"""Each step refuses what the rules refuse, with a typed error, and writes nothing."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from ledger.domain.book import AccountBook
from ledger.domain.errors import (
    CurrencyMismatch,
    DateBeforeCause,
    DuplicateId,
    InsufficientCustomerCredit,
    InvalidAmount,
    InvalidDocument,
    InvoiceNotOpen,
    InvoiceNotVoidable,
    InvoiceOfAnotherAccount,
    LedgerError,
    PaymentAlreadyReversed,
    PaymentCreditRefunded,
    UnknownInvoice,
    UnknownPayment,
)
from ledger.domain.ledger import Ledger
from ledger_examples import D, credit_note, invoice, line, w18_first_invoice, w18_second_invoice

Step = Callable[[Ledger], Any]


def w18_with_others() -> Ledger:
    """W18 after 2026-03-01, and an invoice of globex and one of acme in EUR."""
    ledger = Ledger()
    ledger.post_invoice(w18_first_invoice())
    ledger.receive_payment("pay-1", "acme", 20000, "USD", D("2026-02-01"), "wire")
    ledger.post_invoice(w18_second_invoice())
    ledger.post_invoice(
        invoice("INV-000003", "2026-03-01", "2026-03-31", line("one_time", 800, "2026-03-01"),
                account_id="globex")
    )  # fmt: skip
    ledger.post_invoice(
        invoice("INV-000004", "2026-03-01", "2026-03-31", line("one_time", 900, "2026-03-01"),
                currency="EUR")
    )  # fmt: skip
    return ledger


def pay(
    invoice_id: str | None = None, amount: Any = 100, **overrides: Any
) -> Callable[[Ledger], Any]:
    """A payment step for acme in USD on 2026-03-02, with `overrides`."""
    fields: dict[str, Any] = {
        "payment_id": "pay-9",
        "account_id": "acme",
        "amount": amount,
        "currency": "USD",
        "received_on": D("2026-03-02"),
        "reference": "wire",
        "invoice_id": invoice_id,
    } | overrides
    return lambda ledger: ledger.receive_payment(**fields)


def nothing(ledger: Ledger) -> None:
    """No step before the refused one."""


def reverse(on: str) -> Step:
    """Reverse W18's payment."""
    return lambda ledger: ledger.reverse_payment("pay-1", D(on))


def void(invoice_id: str, on: str = "2026-03-02") -> Step:
    """Void an invoice."""
    return lambda ledger: ledger.void_invoice(invoice_id, D(on))


def write_off(invoice_id: str) -> Step:
    """Write an invoice off on 2026-03-02."""
    return lambda ledger: ledger.write_off(invoice_id, D("2026-03-02"))


def refund(amount: Any, account_id: str = "acme") -> Step:
    """Refund USD customer credit on 2026-03-02."""
    return lambda ledger: ledger.refund_credit("r-1", account_id, amount, "USD", D("2026-03-02"))


def post(*lines: Any) -> Step:
    """Post INV-000009 for acme in USD."""
    return lambda ledger: ledger.post_invoice(
        invoice("INV-000009", "2026-03-01", "2026-03-31", *lines)
    )


NOTE = credit_note("CN-000001", "2026-03-05", line("credit", -300, "2026-03-05"))

# (what is refused, the steps before it, the refused step, its error)
REFUSED: list[tuple[str, Step, Step, type[LedgerError]]] = [
    ("a payment of zero", nothing, pay(amount=0), InvalidAmount),
    ("a negative payment", nothing, pay(amount=-100), InvalidAmount),
    ("a fractional payment", nothing, pay(amount=100.5), InvalidAmount),
    ("a payment given as text", nothing, pay(amount="100"), InvalidAmount),
    ("a payment of True", nothing, pay(amount=True), InvalidAmount),
    ("a payment naming an unknown invoice", nothing, pay("INV-999999"), UnknownInvoice),
    ("a payment naming another account's invoice", nothing, pay("INV-000003"),
     InvoiceOfAnotherAccount),
    ("a payment in another currency", nothing, pay("INV-000004"), CurrencyMismatch),
    ("a payment naming a paid invoice", nothing, pay("INV-000001"), InvoiceNotOpen),
    ("a payment naming a void invoice", void("INV-000003"),
     pay("INV-000003", account_id="globex"), InvoiceNotOpen),
    ("a payment naming an uncollectible invoice", write_off("INV-000002"), pay("INV-000002"),
     InvoiceNotOpen),
    ("a payment received before the invoice it names", nothing,
     pay("INV-000002", received_on=D("2026-02-27")), DateBeforeCause),
    ("a payment dated before the reversal that reopened the invoice it names",
     reverse("2026-03-10"), pay("INV-000001", received_on=D("2026-03-05")), DateBeforeCause),
    ("a write-off dated before the reversal that reopened the invoice",
     reverse("2026-03-10"), write_off("INV-000001"), DateBeforeCause),
    ("a void dated before the reversal that reopened the invoice",
     reverse("2026-03-10"), void("INV-000001", "2026-03-05"), DateBeforeCause),
    ("a payment id used twice", nothing, pay(payment_id="pay-1"), DuplicateId),
    ("a second reversal", reverse("2026-03-10"), reverse("2026-03-11"), PaymentAlreadyReversed),
    ("a reversal of an unknown payment", nothing,
     lambda x: x.reverse_payment("pay-0", D("2026-03-10")), UnknownPayment),
    ("a reversal dated before the credit it undoes was applied", nothing,
     reverse("2026-02-15"), DateBeforeCause),
    ("a reversal of a payment whose credit was refunded",
     lambda x: [pay(amount=30000, payment_id="pay-2")(x), refund(1)(x)],
     lambda x: x.reverse_payment("pay-2", D("2026-03-10")), PaymentCreditRefunded),
    ("a refund above the customer credit", nothing, refund(1, "globex"),
     InsufficientCustomerCredit),
    ("a refund of zero", nothing, refund(0), InvalidAmount),
    ("a void of an invoice something is paid on", nothing, void("INV-000002"),
     InvoiceNotVoidable),
    ("a second void", void("INV-000003"), void("INV-000003"), InvoiceNotVoidable),
    ("a void dated before the invoice", nothing, void("INV-000003", "2026-02-28"),
     DateBeforeCause),
    ("a void of an uncollectible invoice", write_off("INV-000003"), void("INV-000003"),
     InvoiceNotVoidable),
    ("a write-off of a paid invoice", nothing, write_off("INV-000001"), InvoiceNotOpen),
    ("a write-off of a void invoice", void("INV-000003"), write_off("INV-000003"),
     InvoiceNotOpen),
    ("a second write-off", write_off("INV-000002"), write_off("INV-000002"), InvoiceNotOpen),
    ("a write-off of an unknown invoice", nothing, write_off("INV-999999"), UnknownInvoice),
    ("an invoice posted twice", nothing, lambda x: x.post_invoice(w18_first_invoice()),
     DuplicateId),
    ("a credit note issued twice", lambda x: x.issue_credit_note(NOTE),
     lambda x: x.issue_credit_note(NOTE), DuplicateId),
    ("an invoice whose lines sum below zero", nothing, post(line("credit", -5, "2026-03-01")),
     InvalidDocument),
    ("a credit line with a positive amount", nothing, post(line("credit", 5, "2026-03-01")),
     InvalidDocument),
    ("a line ending before it starts", nothing,
     post(line("recurring", 5, "2026-03-02", "2026-03-01")), InvalidDocument),
]  # fmt: skip


@pytest.mark.parametrize(
    ("before", "step", "error"),
    [case[1:] for case in REFUSED],
    ids=[case[0] for case in REFUSED],
)
def test_a_refused_step_raises_its_typed_error_and_writes_nothing(
    before: Step, step: Step, error: type[LedgerError]
) -> None:
    ledger = w18_with_others()
    before(ledger)
    untouched = copy.deepcopy(ledger)

    with pytest.raises(error):
        step(ledger)

    assert ledger == untouched


def test_a_refund_with_credit_from_a_later_day_is_refused() -> None:
    ledger = w18_with_others()
    ledger.receive_payment("pay-2", "globex", 500, "USD", D("2026-03-20"), "cheque")

    with pytest.raises(InsufficientCustomerCredit) as refused:
        ledger.refund_credit("r-1", "globex", 500, "USD", D("2026-03-10"))

    assert refused.value.available == 0


def test_a_backdated_payment_leaves_an_invoice_reopened_after_its_date_alone() -> None:
    """Before the reversal the invoice owed nothing: the cash waits as credit until then."""
    ledger = w18_with_others()
    ledger.reverse_payment("pay-1", D("2026-03-10"))

    paid = ledger.receive_payment("pay-2", "acme", 500, "USD", D("2026-03-05"), "wire")

    assert paid.settlements == ()
    assert ledger.book("acme", "USD").customer_credit == 500
    assert ledger.book("acme", "USD").invoice("INV-000001").amount_due == 15000


def test_a_book_on_its_own_refuses_ids_it_holds_already() -> None:
    book = AccountBook("acme", "USD")
    book.post_invoice(w18_first_invoice())
    book.receive_payment("pay-1", 20000, D("2026-02-01"), "wire")
    book.refund_credit("ref-1", 100, D("2026-02-02"), "cheque")
    untouched = copy.deepcopy(book)

    for again in (
        lambda: book.post_invoice(w18_first_invoice()),
        lambda: book.receive_payment("pay-1", 1, D("2026-02-03"), "wire"),
        lambda: book.refund_credit("ref-1", 1, D("2026-02-03"), "cheque"),
    ):
        with pytest.raises(DuplicateId):
            again()
    assert book == untouched
