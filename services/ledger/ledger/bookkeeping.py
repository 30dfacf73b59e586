"""A book's facts and the domain step each stands for: the fold that rebuilds a book.

A book (one customer account in one currency, domain/book.py AccountBook) is
the aggregate. Its stream on ledger.events holds the facts it took in
(InvoiceBooked, CreditNoteBooked, InvoiceVoidBooked from billing's events;
PaymentReceived, PaymentReversed, CreditRefunded, InvoiceWrittenOff and
RevenueRecognisedThrough from requests),
each followed by what that step posted (JournalEntryPosted,
InvoiceAmountApplied, InvoiceAmountUnapplied). Replaying the
facts through `apply_fact`, in stream order, gives the book back; what they
posted is already in the stream and is not derived again.

Revenue is recognised on the book's own business dates: every step recognises
what is due through its date (the posting of INV-000003 on 2026-03-01 catches
up February's proration, F1), so no entry is dated after the step that posts it.
"""

from __future__ import annotations

from collections.abc import Iterable

from revline_events.payloads.ledger import (
    CreditNoteBooked,
    CreditRefunded,
    InvoiceBooked,
    InvoiceVoidBooked,
    InvoiceWrittenOff,
    PaymentReceived,
    PaymentReversed,
    RevenueRecognisedThrough,
)

from ledger.domain.book import AccountBook, Outcome
from ledger.translation import credit_note_of, invoice_of

Fact = (
    InvoiceBooked | CreditNoteBooked | InvoiceVoidBooked | PaymentReceived
    | CreditRefunded | RevenueRecognisedThrough | PaymentReversed | InvoiceWrittenOff
)  # fmt: skip
FACTS = (
    InvoiceBooked, CreditNoteBooked, InvoiceVoidBooked, PaymentReceived,
    CreditRefunded, RevenueRecognisedThrough, PaymentReversed, InvoiceWrittenOff,
)  # fmt: skip


def book_stream(account_id: str, currency: str) -> str:
    """The stream id of the book of `account_id` in `currency`."""
    return f"book:{currency}:{account_id}"


def _then(first: Outcome, second: Outcome) -> Outcome:
    return Outcome(
        first.entries + second.entries,
        first.settlements + second.settlements,
        first.invoices + second.invoices,
    )


def apply_fact(book: AccountBook, fact: Fact) -> Outcome:
    """Apply one fact to the book (the domain step), then recognise revenue through its date.

    Raises the step's LedgerError (the book is unchanged then).
    """
    if isinstance(fact, InvoiceBooked):
        return _then(book.post_invoice(invoice_of(fact)), book.recognise(fact.invoice_date))
    if isinstance(fact, CreditNoteBooked):
        return _then(book.issue_credit_note(credit_note_of(fact)), book.recognise(fact.issue_date))
    if isinstance(fact, CreditRefunded):
        refunded = book.refund_credit(fact.refund_id, fact.amount, fact.refunded_on, fact.reference)
        return _then(refunded, book.recognise(fact.refunded_on))
    if isinstance(fact, RevenueRecognisedThrough):
        return book.recognise(fact.through)
    if isinstance(fact, PaymentReceived):
        received = book.receive_payment(
            fact.payment_id, fact.amount, fact.received_on, fact.reference, fact.invoice_id
        )
        return _then(received, book.recognise(fact.received_on))
    if isinstance(fact, PaymentReversed):
        reversed_ = book.reverse_payment(fact.payment_id, fact.reversed_on)
        return _then(reversed_, book.recognise(fact.reversed_on))
    if isinstance(fact, InvoiceWrittenOff):
        written_off = book.write_off(fact.invoice_id, fact.written_off_on)
        return _then(written_off, book.recognise(fact.written_off_on))
    return _then(book.void_invoice(fact.invoice_id, fact.voided_on), book.recognise(fact.voided_on))


def fold(account_id: str, currency: str, facts: Iterable[Fact]) -> AccountBook:
    """The book as its facts left it."""
    book = AccountBook(account_id, currency)
    for fact in facts:
        apply_fact(book, fact)
    return book
