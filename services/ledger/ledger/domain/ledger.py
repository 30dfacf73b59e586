"""The whole ledger: every customer account's books, and the journal they post to.

It routes each step to the book of its customer account and currency, checks
what crosses books (a payment naming another account's invoice, or one in
another currency), appends the entries to the journal and folds them into the
ledger-account balances. The service keeps the same state in tables; this
in-memory fold is what its domain tests and properties run on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from ledger.domain.accounts import LedgerAccount
from ledger.domain.book import AccountBook, Outcome, positive_amount
from ledger.domain.documents import CreditNote, Invoice
from ledger.domain.errors import (
    CurrencyMismatch,
    DuplicateId,
    InvoiceOfAnotherAccount,
    UnknownInvoice,
    UnknownPayment,
)
from ledger.domain.journal import JournalEntry

BookKey = tuple[str, str]  # (customer account id, currency)


@dataclass(slots=True)
class Balances:
    """Debit and credit totals per (currency, ledger account), folded from entries."""

    totals: dict[tuple[str, LedgerAccount], tuple[int, int]] = field(default_factory=dict)

    def fold(self, entry: JournalEntry) -> None:
        """Add the entry's lines."""
        for line in entry.lines:
            debit, credit = self.totals.get((entry.currency, line.account), (0, 0))
            self.totals[(entry.currency, line.account)] = (debit + line.debit, credit + line.credit)

    def balance(self, currency: str, account: LedgerAccount) -> int:
        """Signed balance, debit positive."""
        debit, credit = self.totals.get((currency, account), (0, 0))
        return debit - credit


@dataclass(slots=True)
class Ledger:
    """Every book, the journal in posting order, and the balances of the ledger accounts."""

    books: dict[BookKey, AccountBook] = field(default_factory=dict)
    journal: list[JournalEntry] = field(default_factory=list)
    balances: Balances = field(default_factory=Balances)
    invoice_books: dict[str, BookKey] = field(default_factory=dict)
    payment_books: dict[str, BookKey] = field(default_factory=dict)
    credit_note_ids: set[str] = field(default_factory=set)
    refund_ids: set[str] = field(default_factory=set)

    def book(self, account_id: str, currency: str) -> AccountBook:
        """The book of a customer account in a currency (an empty one when it has none yet)."""
        key = (account_id, currency)
        if key not in self.books:
            self.books[key] = AccountBook(account_id, currency)
        return self.books[key]

    def _record(self, outcome: Outcome) -> Outcome:
        for entry in outcome.entries:
            self.journal.append(entry)
            self.balances.fold(entry)
        return outcome

    def _invoice_book(self, invoice_id: str) -> AccountBook:
        try:
            return self.books[self.invoice_books[invoice_id]]
        except KeyError:
            raise UnknownInvoice(invoice_id) from None

    def _payment_book(self, payment_id: str) -> AccountBook:
        try:
            return self.books[self.payment_books[payment_id]]
        except KeyError:
            raise UnknownPayment(payment_id) from None

    def invoices(self) -> dict[str, Invoice]:
        """Every invoice document by id (the reports' source of due dates and numbers)."""
        return {
            invoice_id: book.invoices[invoice_id].invoice
            for book in self.books.values()
            for invoice_id in book.invoices
        }

    def all_books(self) -> Iterator[AccountBook]:
        """Every book, in the order they were opened."""
        return iter(self.books.values())

    # -- the steps ----------------------------------------------------------

    def post_invoice(self, invoice: Invoice) -> Outcome:
        """AccountBook.post_invoice; raises DuplicateId for an invoice posted already."""
        if invoice.invoice_id in self.invoice_books:
            raise DuplicateId("invoice", invoice.invoice_id)
        invoice.check()
        outcome = self.book(invoice.account_id, invoice.currency).post_invoice(invoice)
        self.invoice_books[invoice.invoice_id] = (invoice.account_id, invoice.currency)
        return self._record(outcome)

    def issue_credit_note(self, note: CreditNote) -> Outcome:
        """AccountBook.issue_credit_note; raises DuplicateId for a credit note posted already."""
        if note.credit_note_id in self.credit_note_ids:
            raise DuplicateId("credit note", note.credit_note_id)
        note.check()
        outcome = self.book(note.account_id, note.currency).issue_credit_note(note)
        self.credit_note_ids.add(note.credit_note_id)
        return self._record(outcome)

    def void_invoice(self, invoice_id: str, voided_on: date) -> Outcome:
        """AccountBook.void_invoice."""
        return self._record(self._invoice_book(invoice_id).void_invoice(invoice_id, voided_on))

    def recognise(self, through: date) -> Outcome:
        """Recognise every book's line-months due by `through` (run it daily, or at month end)."""
        entries: list[JournalEntry] = []
        for book in self.books.values():
            entries += book.recognise(through).entries
        return self._record(Outcome(tuple(entries)))

    def receive_payment(
        self,
        payment_id: str,
        account_id: str,
        amount: int,
        currency: str,
        received_on: date,
        reference: str = "",
        invoice_id: str | None = None,
    ) -> Outcome:
        """Apply a payment (AccountBook.receive_payment) after the checks across books.

        Raises DuplicateId, InvalidAmount, UnknownInvoice, InvoiceOfAnotherAccount,
        CurrencyMismatch, InvoiceNotOpen, DateBeforeCause.
        """
        if payment_id in self.payment_books:
            raise DuplicateId("payment", payment_id)
        positive_amount("amount", amount)
        if invoice_id is not None:
            named = self._invoice_book(invoice_id)
            if named.account_id != account_id:
                raise InvoiceOfAnotherAccount(invoice_id, account_id)
            if named.currency != currency:
                raise CurrencyMismatch(invoice_id, named.currency, currency)
        outcome = self.book(account_id, currency).receive_payment(
            payment_id, amount, received_on, reference, invoice_id
        )
        self.payment_books[payment_id] = (account_id, currency)
        return self._record(outcome)

    def reverse_payment(self, payment_id: str, reversed_on: date) -> Outcome:
        """AccountBook.reverse_payment."""
        return self._record(self._payment_book(payment_id).reverse_payment(payment_id, reversed_on))

    def refund_credit(
        self,
        refund_id: str,
        account_id: str,
        amount: int,
        currency: str,
        refunded_on: date,
        reference: str = "",
    ) -> Outcome:
        """AccountBook.refund_credit; raises DuplicateId, InvalidAmount, InsufficientCustomerCredit.

        An account with no book has no credit to refund.
        """
        if refund_id in self.refund_ids:
            raise DuplicateId("refund", refund_id)
        positive_amount("amount", amount)
        key = (account_id, currency)
        book = self.books.get(key, AccountBook(account_id, currency))
        outcome = book.refund_credit(refund_id, amount, refunded_on, reference)
        self.refund_ids.add(refund_id)
        return self._record(outcome)

    def write_off(self, invoice_id: str, written_off_on: date) -> Outcome:
        """AccountBook.write_off."""
        return self._record(self._invoice_book(invoice_id).write_off(invoice_id, written_off_on))
