"""Business errors of the ledger: a rule refused the step and nothing was written.

The service's api/problems.py maps each class to its status once: the comment
on each class says which (404 unknown id, 409 a state that forbids the step,
422 input that can never be right).
"""

from __future__ import annotations

from datetime import date


class LedgerError(Exception):
    """A ledger rule refused the step; the ledger is unchanged."""


class InvalidAmount(LedgerError):
    """An amount that is not a positive integer of minor units (422, names the field)."""

    def __init__(self, field: str, value: object) -> None:
        super().__init__(f"{field} must be a positive integer of minor units, not {value!r}")
        self.field = field
        self.value = value


class InvalidDocument(LedgerError):
    """An invoice or credit note whose figures do not hold together (422; a poison event)."""

    def __init__(self, document_id: str, reason: str) -> None:
        super().__init__(f"{document_id}: {reason}")
        self.document_id = document_id
        self.reason = reason


class DuplicateId(LedgerError):
    """The invoice, credit note, payment or refund id is taken already (409)."""

    def __init__(self, what: str, identifier: str) -> None:
        super().__init__(f"{what} {identifier} exists already")
        self.what = what
        self.identifier = identifier


class UnknownInvoice(LedgerError):
    """No invoice has this id (404)."""

    def __init__(self, invoice_id: str) -> None:
        super().__init__(f"no invoice {invoice_id}")
        self.invoice_id = invoice_id


class UnknownPayment(LedgerError):
    """No payment has this id (404)."""

    def __init__(self, payment_id: str) -> None:
        super().__init__(f"no payment {payment_id}")
        self.payment_id = payment_id


class InvoiceOfAnotherAccount(LedgerError):
    """A payment names an invoice of another customer account (422, field `invoice_id`)."""

    def __init__(self, invoice_id: str, account_id: str) -> None:
        super().__init__(f"invoice {invoice_id} is not an invoice of account {account_id}")
        self.invoice_id = invoice_id
        self.account_id = account_id


class CurrencyMismatch(LedgerError):
    """A payment in another currency than the invoice it names (422, field `currency`)."""

    def __init__(self, invoice_id: str, invoice_currency: str, currency: str) -> None:
        super().__init__(
            f"invoice {invoice_id} is in {invoice_currency}; a payment in {currency} "
            "cannot be applied to it (no FX)"
        )
        self.invoice_id = invoice_id
        self.invoice_currency = invoice_currency
        self.currency = currency


class InvoiceNotOpen(LedgerError):
    """The invoice is void, paid or uncollectible: no payment, credit or write-off (409)."""

    def __init__(self, invoice_id: str, status: str) -> None:
        super().__init__(f"invoice {invoice_id} is {status}: nothing can be applied to it")
        self.invoice_id = invoice_id
        self.status = status


class InvoiceNotVoidable(LedgerError):
    """Only an invoice with nothing paid, not void or written off, can be voided (409)."""

    def __init__(self, invoice_id: str, status: str, amount_paid: int) -> None:
        reason = f"{amount_paid} is paid on it" if amount_paid else f"it is {status}"
        super().__init__(f"invoice {invoice_id} cannot be voided: {reason}")
        self.invoice_id = invoice_id
        self.status = status
        self.amount_paid = amount_paid


class PaymentAlreadyReversed(LedgerError):
    """A payment is reversed at most once (409, W21)."""

    def __init__(self, payment_id: str) -> None:
        super().__init__(f"payment {payment_id} is reversed already")
        self.payment_id = payment_id


class PaymentCreditRefunded(LedgerError):
    """Customer credit from this payment was refunded: reversing it would pay back twice (409)."""

    def __init__(self, payment_id: str, refunded: int) -> None:
        super().__init__(
            f"payment {payment_id} cannot be reversed: {refunded} of its customer credit "
            "was refunded"
        )
        self.payment_id = payment_id
        self.refunded = refunded


class InsufficientCustomerCredit(LedgerError):
    """A refund above the account's customer credit in that currency (409, W22)."""

    def __init__(self, account_id: str, currency: str, requested: int, available: int) -> None:
        super().__init__(
            f"account {account_id} has {available} {currency} of customer credit; "
            f"{requested} cannot be refunded"
        )
        self.account_id = account_id
        self.currency = currency
        self.requested = requested
        self.available = available


class DateBeforeCause(LedgerError):
    """A step dated before what it acts on exists (422, names the date field).

    A payment received before the invoice it names, a reversal before its
    payment or its applications, a void or write-off before the invoice date.
    """

    def __init__(self, field: str, on: date, earliest: date, what: str) -> None:
        super().__init__(f"{field} {on} is before {what} ({earliest})")
        self.field = field
        self.on = on
        self.earliest = earliest
        self.what = what


class CurrencyRequired(LedgerError):
    """The account has entries in several currencies: name one (422, field `currency`)."""

    def __init__(self, account_id: str, currencies: list[str]) -> None:
        super().__init__(
            f"account {account_id} has entries in {', '.join(currencies)}: name a currency"
        )
        self.field = "currency"
        self.account_id = account_id
        self.currencies = currencies


class DateRangeReversed(LedgerError):
    """A report's `to` before its `from` (422, field `to`)."""

    def __init__(self, date_from: date, date_to: date) -> None:
        super().__init__(f"to {date_to} is before from {date_from}")
        self.field = "to"
